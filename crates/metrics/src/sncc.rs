//! Sample-annotation normalised cross-correlation (S_NCC), in two orientations.
//!
//! **Official** ([`SnccAccumulator::official`], huynhspm/Data-Uncertainty `eval_segmentation.py`,
//! paper-and-baselines §2.3). With `CE(pred, target) = −[target·ln pred_c + (1−target)·ln(1−pred_c)]`,
//! `pred_c = clamp(pred, 1e-6, 1−1e-6)` (clamp and logarithms in float32, as the reference):
//! `E_ss = mean_i CE(s̄, p_i)`, `E_sy,j = mean_i CE(g_j, p_i)`, `SNCC = mean_j NCC(E_ss, E_sy,j)` with
//! the `+1e-6` NCC. CE is affine in its target, so `mean_i CE(x, p_i) = CE(x, s̄)` exactly; the maps
//! are computed from the running sample mean s̄ with that identity (no approximation is made: the
//! `13.8·|s̄ − g|` shortcut of the notes is *not* used).
//!
//! **PHiSeg** ([`SnccAccumulator::phiseg`], Baumgartner et al. 2019, `variance_ncc_dist`): the log
//! falls on the *samples*: `γ_ss = mean_i CE'(p_i; target s̄)`, `γ_sy,j = mean_i CE'(p_i; target g_j)`
//! with `CE'(p; y) = −[y·ln(p + 1e-8) + (1−y)·ln(1−p + 1e-8)]` and the Pearson NCC (undefined for a
//! constant map, `None`).

use crate::bitmask::BitMask;
use crate::ncc::{ncc_official, ncc_pearson};

/// Lower clamp of the official cross-entropy, `1e-6` as a float32.
pub const CLAMP_LO: f64 = 1e-6_f32 as f64;
/// Upper clamp of the official cross-entropy, `1 − 1e-6` rounded to float32.
pub const CLAMP_HI: f64 = (1.0_f32 - 1e-6_f32) as f64;
/// The epsilon inside PHiSeg's logarithms.
pub const PHISEG_EPS: f64 = 1e-8;

/// The reference's float32 cross-entropy (clamp, `ln p` and `ln(1 − p)` in float32, so that both
/// ends of the clamp give the same value as in torch), widened to f64.
fn official_ce(pred: f64, target: f64) -> f64 {
    let p = (pred as f32).clamp(CLAMP_LO as f32, CLAMP_HI as f32);
    let (log_p, log_q) = (f64::from(p.ln()), f64::from((1.0 - p).ln()));
    -(target * log_p + (1.0 - target) * log_q)
}

/// Running per-pixel sums over the samples seen so far, for both S_NCC orientations.
#[derive(Debug, Clone)]
pub struct SnccAccumulator {
    k: usize,
    sum: Vec<f64>,
    sum_log_fg: Vec<f64>,
    sum_log_bg: Vec<f64>,
}

impl SnccAccumulator {
    /// An empty accumulator for maps of `pixels` pixels.
    pub fn new(pixels: usize) -> Self {
        Self {
            k: 0,
            sum: vec![0.0; pixels],
            sum_log_fg: vec![0.0; pixels],
            sum_log_bg: vec![0.0; pixels],
        }
    }

    /// Adds one soft sample (H·W values in [0, 1]).
    ///
    /// # Panics
    /// If the sample has the wrong number of pixels.
    pub fn push(&mut self, sample: &[f32]) {
        assert_eq!(sample.len(), self.sum.len(), "sample of the wrong size");
        for (i, &v) in sample.iter().enumerate() {
            let v = f64::from(v);
            self.sum[i] += v;
            self.sum_log_fg[i] += (v + PHISEG_EPS).ln();
            self.sum_log_bg[i] += (1.0 - v + PHISEG_EPS).ln();
        }
        self.k += 1;
    }

    /// Number of samples pushed.
    pub fn len(&self) -> usize {
        self.k
    }

    /// Whether no sample was pushed yet.
    pub fn is_empty(&self) -> bool {
        self.k == 0
    }

    /// The soft mean s̄ of the samples pushed so far (H·W).
    pub fn mean(&self) -> Vec<f64> {
        let k = self.k.max(1) as f64;
        self.sum.iter().map(|s| s / k).collect()
    }

    /// The official SNCC of the pushed samples against `annotations`.
    pub fn official(&self, annotations: &[BitMask]) -> f64 {
        let mean = self.mean();
        let e_ss: Vec<f64> = mean.iter().map(|&s| official_ce(s, s)).collect();
        let total: f64 = annotations
            .iter()
            .map(|g| {
                let e_sy: Vec<f64> = mean
                    .iter()
                    .enumerate()
                    .map(|(i, &s)| official_ce(if g.get(i) { 1.0 } else { 0.0 }, s))
                    .collect();
                ncc_official(&e_ss, &e_sy)
            })
            .sum();
        total / annotations.len() as f64
    }

    /// PHiSeg's original S_NCC; `None` if any of the NCCs is undefined (a constant map).
    pub fn phiseg(&self, annotations: &[BitMask]) -> Option<f64> {
        let k = self.k.max(1) as f64;
        let mean = self.mean();
        let ce = |i: usize, y: f64| -(y * self.sum_log_fg[i] + (1.0 - y) * self.sum_log_bg[i]) / k;
        let g_ss: Vec<f64> = (0..mean.len()).map(|i| ce(i, mean[i])).collect();
        let mut total = 0.0;
        for g in annotations {
            let g_sy: Vec<f64> = (0..mean.len())
                .map(|i| ce(i, if g.get(i) { 1.0 } else { 0.0 }))
                .collect();
            total += ncc_pearson(&g_ss, &g_sy)?;
        }
        Some(total / annotations.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_matches_literal_average() {
        // mean_i CE(x, p_i) computed literally equals CE(x, mean p) (CE is affine in the target).
        let samples = [[0.1_f32, 0.9], [0.6, 0.2], [0.3, 0.3]];
        let mut acc = SnccAccumulator::new(2);
        for s in &samples {
            acc.push(s);
        }
        let mean = acc.mean();
        for (px, &sbar) in mean.iter().enumerate() {
            let literal: f64 = samples
                .iter()
                .map(|s| official_ce(sbar, f64::from(s[px])))
                .sum::<f64>()
                / 3.0;
            assert!((literal - official_ce(sbar, sbar)).abs() < 1e-12);
        }
    }

    #[test]
    fn identical_binary_samples_and_annotations_give_zero() {
        // s̄ binary → E_ss is constant → official NCC is 0 and PHiSeg's is undefined.
        let mask = [1.0_f32, 0.0, 1.0, 0.0];
        let mut acc = SnccAccumulator::new(4);
        acc.push(&mask);
        acc.push(&mask);
        let g = [BitMask::from_soft(&mask)];
        assert_eq!(acc.official(&g), 0.0);
        assert_eq!(acc.phiseg(&g), None);
    }
}
