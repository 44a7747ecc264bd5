//! Percentile bootstrap of a mean over images (Efron 1979): resample the images with replacement
//! `resamples` times and take the 2.5 % and 97.5 % quantiles of the resampled means. Seeded, so a
//! table is reproducible bit for bit.

use fmseg_data::rng::Rng;

/// A mean with its 95 % bootstrap confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanCi {
    /// The sample mean.
    pub mean: f64,
    /// Lower end of the interval.
    pub lo: f64,
    /// Upper end of the interval.
    pub hi: f64,
    /// Number of values.
    pub count: usize,
}

impl MeanCi {
    /// Half the interval width (the `±` figure of a table).
    pub fn half_width(&self) -> f64 {
        0.5 * (self.hi - self.lo)
    }
}

/// The default number of bootstrap resamples.
pub const RESAMPLES: usize = 2000;

/// Mean and 95 % percentile-bootstrap interval of `values`; `None` when empty.
pub fn bootstrap_mean(values: &[f64], resamples: usize, seed: u64) -> Option<MeanCi> {
    if values.is_empty() {
        return None;
    }
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    if n == 1 || resamples == 0 {
        return Some(MeanCi {
            mean,
            lo: mean,
            hi: mean,
            count: n,
        });
    }
    let mut rng = Rng::new(seed);
    let mut means: Vec<f64> = (0..resamples)
        .map(|_| (0..n).map(|_| values[rng.below(n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    let quantile =
        |q: f64| means[((q * (resamples - 1) as f64).round() as usize).min(resamples - 1)];
    Some(MeanCi {
        mean,
        lo: quantile(0.025),
        hi: quantile(0.975),
        count: n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_values_have_a_zero_width_interval() {
        let ci = bootstrap_mean(&[0.25; 10], 500, 1).unwrap();
        assert_eq!((ci.mean, ci.lo, ci.hi), (0.25, 0.25, 0.25));
    }

    #[test]
    fn interval_brackets_the_mean_and_shrinks_with_n() {
        let small: Vec<f64> = (0..10).map(|i| f64::from(i % 2)).collect();
        let large: Vec<f64> = (0..1000).map(|i| f64::from(i % 2)).collect();
        let a = bootstrap_mean(&small, 2000, 3).unwrap();
        let b = bootstrap_mean(&large, 2000, 3).unwrap();
        assert!(a.lo <= a.mean && a.mean <= a.hi);
        assert!(b.half_width() < a.half_width() / 3.0, "{b:?} vs {a:?}");
        // normal approximation: 1.96·sqrt(0.25/1000) ≈ 0.031
        assert!((b.half_width() - 0.031).abs() < 0.006, "{b:?}");
        assert_eq!(bootstrap_mean(&[], 10, 0), None);
    }
}
