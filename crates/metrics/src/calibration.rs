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
        let b = bin_of(p, bins);
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

/// The bin of a probability: `floor(p·bins)`, the last bin closed.
#[inline(always)]
pub fn bin_of(p: f64, bins: usize) -> usize {
    ((p * bins as f64) as usize).min(bins - 1)
}

/// Per-bin sums of `pred − target` over [`ECE_BINS`] bins, accumulated in `LANES` independent
/// lanes so that a block of pixels adds without a gather/scatter (the bin of each lane is compared
/// with every bin). An empty bin sums to 0, so the ECE needs no counts:
/// `ECE = Σ_b |Σ_{i∈b} (s̄_i − ḡ_i)| / HW`.
#[derive(Debug, Clone)]
pub struct EceLanes<const LANES: usize> {
    sums: [[f64; LANES]; ECE_BINS],
}

impl<const LANES: usize> Default for EceLanes<LANES> {
    fn default() -> Self {
        Self {
            sums: [[0.0; LANES]; ECE_BINS],
        }
    }
}

impl<const LANES: usize> EceLanes<LANES> {
    /// Adds a block of pixels, a multiple of `LANES` long: predictions `pred` in [0, 1] and their
    /// `pred − target` differences (0 for padding pixels).
    ///
    /// # Panics
    /// If the block length is not a multiple of `LANES` or the slices differ in length.
    #[inline(always)]
    pub fn add(&mut self, pred: &[f64], diff: &[f64]) {
        assert!(
            pred.len() == diff.len() && pred.len().is_multiple_of(LANES),
            "whole lanes only"
        );
        let top = (ECE_BINS - 1) as f64;
        let mut bins = vec![0.0; pred.len()];
        for (bin, &p) in bins.iter_mut().zip(pred) {
            let b = (p * ECE_BINS as f64).floor();
            *bin = if b > top { top } else { b };
        }
        for (b, sums) in self.sums.iter_mut().enumerate() {
            let mut acc = *sums;
            for (bin, d) in bins.chunks_exact(LANES).zip(diff.chunks_exact(LANES)) {
                for l in 0..LANES {
                    // d where the pixel falls in bin b, +0 elsewhere, as bit operations (a
                    // select here keeps the loop scalar)
                    let hit = 0u64.wrapping_sub(u64::from(bin[l] == b as f64));
                    acc[l] += f64::from_bits(d[l].to_bits() & hit);
                }
            }
            *sums = acc;
        }
    }

    /// The ECE over `pixels` pixels.
    pub fn finish(&self, pixels: usize) -> f64 {
        self.sums
            .iter()
            .map(|lanes| lanes.iter().sum::<f64>().abs() / pixels as f64)
            .sum()
    }
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

    #[test]
    fn lanes_agree_with_the_binned_definition() {
        let mut seed = 3u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut pred: Vec<f64> = (0..1000).map(|_| next()).collect();
        pred[..40].fill(1.0);
        pred[40..50].fill(0.0);
        pred[50] = 0.1; // bin edges
        pred[51] = 0.9;
        let target: Vec<f64> = (0..1000).map(|_| (next() * 4.0).floor() / 4.0).collect();
        let mut lanes = EceLanes::<8>::default();
        for (p, t) in pred.chunks(16).zip(target.chunks(16)) {
            let (mut pl, mut dl) = ([0.0; 16], [0.0; 16]);
            for l in 0..p.len() {
                pl[l] = p[l];
                dl[l] = p[l] - t[l];
            }
            lanes.add(&pl, &dl);
        }
        let literal = expected_calibration_error(&pred, &target, ECE_BINS);
        assert!((lanes.finish(1000) - literal).abs() < 1e-12);
    }
}
