//! Per-pixel uncertainty maps of a sample set: the variance of the soft samples and the binary
//! entropy of their mean (in nats). Used for the uncertainty figures and `fmseg evaluate --maps-out`.

/// The number of samples n (at least 1) of an n×`pixels` buffer.
///
/// # Panics
/// If `pixels` is 0 or does not divide the buffer.
fn sample_count(samples: &[f32], pixels: usize) -> f64 {
    assert!(
        pixels > 0 && samples.len().is_multiple_of(pixels),
        "buffer is not n×pixels"
    );
    (samples.len() / pixels).max(1) as f64
}

/// Per-pixel mean over the n soft samples (the marginal foreground probability).
///
/// # Shapes
/// `samples`: n×H·W row-major → H·W.
///
/// # Panics
/// If `pixels` is 0 or does not divide the buffer.
pub fn mean_map(samples: &[f32], pixels: usize) -> Vec<f32> {
    let n = sample_count(samples, pixels);
    (0..pixels)
        .map(|px| {
            let s: f64 = samples
                .iter()
                .skip(px)
                .step_by(pixels)
                .map(|&v| f64::from(v))
                .sum();
            (s / n) as f32
        })
        .collect()
}

/// Per-pixel population variance over the n soft samples.
///
/// # Shapes
/// `samples`: n×H·W row-major → H·W.
///
/// # Panics
/// If `pixels` is 0 or does not divide the buffer.
pub fn variance_map(samples: &[f32], pixels: usize) -> Vec<f32> {
    let n = sample_count(samples, pixels);
    (0..pixels)
        .map(|px| {
            let values = samples
                .iter()
                .skip(px)
                .step_by(pixels)
                .map(|&v| f64::from(v));
            let (s, s2) = values.fold((0.0, 0.0), |(s, s2), v| (s + v, s2 + v * v));
            let mean = s / n;
            (s2 / n - mean * mean).max(0.0) as f32
        })
        .collect()
}

/// Per-pixel binary entropy `−[s̄ ln s̄ + (1−s̄) ln(1−s̄)]` of the sample mean (0 where s̄ ∈ {0, 1}).
///
/// # Panics
/// If `pixels` is 0 or does not divide the buffer.
pub fn entropy_map(samples: &[f32], pixels: usize) -> Vec<f32> {
    let n = sample_count(samples, pixels);
    let h = |p: f64| {
        if p <= 0.0 || p >= 1.0 {
            0.0
        } else {
            -p * p.ln()
        }
    };
    (0..pixels)
        .map(|px| {
            let mean = samples
                .iter()
                .skip(px)
                .step_by(pixels)
                .map(|&v| f64::from(v))
                .sum::<f64>()
                / n;
            (h(mean) + h(1.0 - mean)) as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variance_and_entropy_of_a_coin() {
        // two samples, pixel 0 disagrees (0 and 1), pixel 1 agrees
        let s = [0.0, 1.0, 1.0, 1.0];
        let v = variance_map(&s, 2);
        assert!((v[0] - 0.25).abs() < 1e-7 && v[1] == 0.0);
        let e = entropy_map(&s, 2);
        assert!((e[0] - std::f32::consts::LN_2).abs() < 1e-6 && e[1] == 0.0);
    }
}
