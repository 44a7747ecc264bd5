//! Running per-pixel sums over the first k samples of one image: everything the pixel-wise metrics
//! (both S_NCC orientations, the Dice of the mean, ECE) need for the prefix k, updated per sample
//! in the nested-prefix sweep of the official evaluation (paper-and-baselines §2.6).
//!
//! Kept per pixel: `Σ_i p_i` (the mean s̄), `Σ_i p_i²` (with the mean, the samples' variance for
//! `var_ncc`), and PHiSeg's `Σ_i ln(p_i + 1e-8)` and
//! `Σ_i ln(1 − p_i + 1e-8)`. The logarithm sums are held as *products* of up to [`FOLD`] factors and
//! folded into a running sum of logarithms every [`FOLD`] samples (32 factors ≥ 1e-8 stay a normal
//! `f64`), so a pushed sample costs four multiply-adds per pixel and no logarithm; the logarithm
//! of the pending product is taken once per pixel when a prefix is scored.

use std::ops::Range;

use crate::fastlog::ln_positive;
use crate::sncc::PHISEG_EPS;

/// Samples multiplied into one product before its logarithm is taken: `(1e-8)^32 = 1e-256` is
/// still a normal `f64`.
pub const FOLD: usize = 32;

/// Per-pixel sums of the samples pushed so far.
#[derive(Debug, Clone)]
pub struct PixelSums {
    k: usize,
    pending: usize,
    sum: Vec<f64>,
    sq: Vec<f64>,
    log_fg: Vec<f64>,
    log_bg: Vec<f64>,
    prod_fg: Vec<f64>,
    prod_bg: Vec<f64>,
}

/// The sums of a contiguous range of pixels (all slices of equal length).
#[derive(Debug, Clone, Copy)]
pub struct SumsView<'a> {
    /// The number of samples pushed, k.
    pub k: usize,
    /// `Σ_i p_i`.
    pub sum: &'a [f64],
    /// `Σ_i p_i²`.
    pub sq: &'a [f64],
    /// Folded `Σ ln(p_i + ε)`.
    pub log_fg: &'a [f64],
    /// Folded `Σ ln(1 − p_i + ε)`.
    pub log_bg: &'a [f64],
    /// Pending product `Π (p_i + ε)`.
    pub prod_fg: &'a [f64],
    /// Pending product `Π (1 − p_i + ε)`.
    pub prod_bg: &'a [f64],
}

impl PixelSums {
    /// Empty sums for maps of `pixels` pixels.
    pub fn new(pixels: usize) -> Self {
        Self {
            k: 0,
            pending: 0,
            sum: vec![0.0; pixels],
            sq: vec![0.0; pixels],
            log_fg: vec![0.0; pixels],
            log_bg: vec![0.0; pixels],
            prod_fg: vec![1.0; pixels],
            prod_bg: vec![1.0; pixels],
        }
    }

    /// Empties the sums and sizes them for `pixels` pixels, keeping the allocations.
    pub fn clear(&mut self, pixels: usize) {
        self.k = 0;
        self.pending = 0;
        for (v, fill) in [
            (&mut self.sum, 0.0),
            (&mut self.sq, 0.0),
            (&mut self.log_fg, 0.0),
            (&mut self.log_bg, 0.0),
            (&mut self.prod_fg, 1.0),
            (&mut self.prod_bg, 1.0),
        ] {
            v.clear();
            v.resize(pixels, fill);
        }
    }

    /// The sums of the pixels in `range`.
    ///
    /// # Panics
    /// If the range is out of bounds.
    #[inline(always)]
    pub fn view(&self, range: Range<usize>) -> SumsView<'_> {
        SumsView {
            k: self.k,
            sum: &self.sum[range.clone()],
            sq: &self.sq[range.clone()],
            log_fg: &self.log_fg[range.clone()],
            log_bg: &self.log_bg[range.clone()],
            prod_fg: &self.prod_fg[range.clone()],
            prod_bg: &self.prod_bg[range],
        }
    }

    /// Adds one soft sample (H·W values in [0, 1]).
    ///
    /// # Panics
    /// If the sample has the wrong number of pixels.
    #[inline(always)]
    pub fn push(&mut self, sample: &[f32]) {
        assert_eq!(sample.len(), self.sum.len(), "sample of the wrong size");
        if self.pending == FOLD {
            fold(&mut self.log_fg, &mut self.prod_fg);
            fold(&mut self.log_bg, &mut self.prod_bg);
            self.pending = 0;
        }
        let pixels = self
            .sum
            .iter_mut()
            .zip(&mut self.sq)
            .zip(&mut self.prod_fg)
            .zip(&mut self.prod_bg);
        for ((((sum, sq), fg), bg), &v) in pixels.zip(sample) {
            let v = f64::from(v);
            *sum += v;
            *sq = v.mul_add(v, *sq);
            *fg *= v + PHISEG_EPS;
            *bg *= 1.0 - v + PHISEG_EPS;
        }
        self.k += 1;
        self.pending += 1;
    }

    /// The number of samples pushed, k.
    pub fn len(&self) -> usize {
        self.k
    }

    /// Whether no sample was pushed yet.
    pub fn is_empty(&self) -> bool {
        self.k == 0
    }

    /// The number of pixels H·W.
    pub fn pixels(&self) -> usize {
        self.sum.len()
    }

    /// `Σ_i p_i` at every pixel.
    pub fn sums(&self) -> &[f64] {
        &self.sum
    }

    /// The mean s̄ of pixel `i`.
    #[inline(always)]
    pub fn mean_at(&self, i: usize) -> f64 {
        self.sum[i] / self.k.max(1) as f64
    }

    /// The samples' (population) variance at pixel `i`: `Σp²/k − s̄²`, clamped at 0.
    #[inline(always)]
    pub fn variance_at(&self, i: usize) -> f64 {
        sample_variance(self.sum[i], self.sq[i], 1.0 / self.k.max(1) as f64)
    }

    /// `(Σ_i ln(p_i + ε), Σ_i ln(1 − p_i + ε))` at pixel `i`.
    #[inline(always)]
    pub fn log_sums_at(&self, i: usize) -> (f64, f64) {
        (
            self.log_fg[i] + ln_positive(self.prod_fg[i]),
            self.log_bg[i] + ln_positive(self.prod_bg[i]),
        )
    }

    /// The soft mean s̄ of the samples pushed so far (H·W).
    pub fn mean(&self) -> Vec<f64> {
        (0..self.pixels()).map(|i| self.mean_at(i)).collect()
    }
}

/// The population variance of k values from their sum and sum of squares (`inv_k` = 1/k),
/// clamped at 0 against rounding.
#[inline(always)]
pub fn sample_variance(sum: f64, sq: f64, inv_k: f64) -> f64 {
    let mean = sum * inv_k;
    (sq * inv_k - mean * mean).max(0.0)
}

/// Moves the logarithm of each pending product into the running log sum.
#[inline(always)]
fn fold(logs: &mut [f64], products: &mut [f64]) {
    for (log, product) in logs.iter_mut().zip(products) {
        *log += ln_positive(*product);
        *product = 1.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_sums_equal_summed_logarithms_across_folds() {
        // 70 samples: two folds and a pending product; extreme values 0 and 1 included.
        let values = [0.0_f32, 1.0, 0.3, 0.999_999, 1e-9, 0.5];
        let mut sums = PixelSums::new(values.len());
        let mut literal = vec![(0.0, 0.0, 0.0, 0.0); values.len()];
        for step in 0..70 {
            let sample: Vec<f32> = values
                .iter()
                .map(|&v| if step % 3 == 0 { v } else { 1.0 - v })
                .collect();
            sums.push(&sample);
            for (lit, &v) in literal.iter_mut().zip(&sample) {
                let v = f64::from(v);
                lit.0 += v;
                lit.3 += v * v;
                lit.1 += (v + PHISEG_EPS).ln();
                lit.2 += (1.0 - v + PHISEG_EPS).ln();
            }
        }
        assert_eq!(sums.len(), 70);
        for (i, lit) in literal.iter().enumerate() {
            let (fg, bg) = sums.log_sums_at(i);
            assert!((sums.mean_at(i) * 70.0 - lit.0).abs() < 1e-12);
            let mean = lit.0 / 70.0;
            let var = lit.3 / 70.0 - mean * mean;
            assert!((sums.variance_at(i) - var.max(0.0)).abs() < 1e-12, "{i}");
            assert!(
                (fg - lit.1).abs() < 1e-12 * lit.1.abs().max(1.0),
                "{i}: {fg} vs {}",
                lit.1
            );
            assert!(
                (bg - lit.2).abs() < 1e-12 * lit.2.abs().max(1.0),
                "{i}: {bg} vs {}",
                lit.2
            );
        }
    }
}
