//! Pixel-wise expected calibration error (ECE) of the mean prediction against the annotators'
//! mean, a multi-rater calibration measure (as MoSE reports; peers.md §4.4).
//!
//! Pixels are binned by the predicted foreground probability s̄ into `bins` equal-width bins on
//! [0, 1] (the last bin closed); `ECE = Σ_b (|B_b| / HW)·|mean_{B_b} s̄ − mean_{B_b} ḡ|`, where ḡ is
//! the fraction of annotators marking the pixel.

/// The default number of bins.
pub const ECE_BINS: usize = 10;

/// Pixel-wise ECE of `pred` (soft mean prediction) against `target` (annotator mean), both H·W.
///
/// # Panics
/// If the maps differ in length, are empty, or `bins` is 0.
pub fn expected_calibration_error(pred: &[f64], target: &[f64], bins: usize) -> f64 {
    assert_eq!(pred.len(), target.len(), "maps of different sizes");
    assert!(!pred.is_empty() && bins > 0, "need pixels and bins");
    let mut count = vec![0usize; bins];
    let mut sum_pred = vec![0.0; bins];
    let mut sum_target = vec![0.0; bins];
    for (&p, &t) in pred.iter().zip(target) {
        let b = ((p * bins as f64) as usize).min(bins - 1);
        count[b] += 1;
        sum_pred[b] += p;
        sum_target[b] += t;
    }
    let total = pred.len() as f64;
    (0..bins)
        .filter(|&b| count[b] > 0)
        .map(|b| (sum_pred[b] - sum_target[b]).abs() / total)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_calibration_is_zero() {
        let p = [0.25, 0.25, 0.75, 0.75];
        let t = [0.0, 0.5, 0.5, 1.0];
        assert!(expected_calibration_error(&p, &t, 10).abs() < 1e-12);
    }

    #[test]
    fn overconfident_prediction() {
        // one bin [0.9, 1]: mean pred 1.0, mean target 0.5 → ECE 0.5
        let p = [1.0, 1.0];
        let t = [0.0, 1.0];
        assert!((expected_calibration_error(&p, &t, 10) - 0.5).abs() < 1e-12);
    }
}
