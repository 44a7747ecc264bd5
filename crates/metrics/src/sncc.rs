//! Sample-annotation normalised cross-correlation (S_NCC), in two orientations.
//!
//! **Official** ([`official`], huynhspm/Data-Uncertainty `eval_segmentation.py`,
//! paper-and-baselines §2.3). With `CE(pred, target) = −[target·ln pred_c + (1−target)·ln(1−pred_c)]`,
//! `pred_c = clamp(pred, 1e-6, 1−1e-6)` (clamp and logarithms in float32, as the reference):
//! `E_ss = mean_i CE(s̄, p_i)`, `E_sy,j = mean_i CE(g_j, p_i)`, `SNCC = mean_j NCC(E_ss, E_sy,j)` with
//! the `+1e-6` NCC. CE is affine in its target, so `mean_i CE(x, p_i) = CE(x, s̄)` exactly; the maps
//! are computed from the running sample mean s̄ with that identity (no approximation is made: the
//! `13.8·|s̄ − g|` shortcut of the notes is *not* used).
//!
//! **PHiSeg** ([`phiseg`], Baumgartner et al. 2019, `variance_ncc_dist`): the log
//! falls on the *samples*: `γ_ss = mean_i CE'(p_i; target s̄)`, `γ_sy,j = mean_i CE'(p_i; target g_j)`
//! with `CE'(p; y) = −[y·ln(p + 1e-8) + (1−y)·ln(1−p + 1e-8)]` and the Pearson NCC (undefined for a
//! constant map, `None`).
//!
//! This module holds the per-pixel terms and the literal two-pass definitions;
//! [`crate::pixelwise`] evaluates the same terms in one fused, vectorised pass.

use crate::bitmask::BitMask;
use crate::fastlog::ln_f32;
use crate::ncc::{ncc_official, ncc_pearson};
use crate::pixel_sums::PixelSums;

/// Lower clamp of the official cross-entropy, `1e-6` as a float32.
pub const CLAMP_LO: f64 = 1e-6_f32 as f64;
/// Upper clamp of the official cross-entropy, `1 − 1e-6` rounded to float32.
pub const CLAMP_HI: f64 = (1.0_f32 - 1e-6_f32) as f64;
/// The epsilon inside PHiSeg's logarithms.
pub const PHISEG_EPS: f64 = 1e-8;

/// One pixel's values of the two cross-entropy maps of an S_NCC: `x`, the sample-vs-mean map
/// (`E_ss` / `γ_ss`), and the sample-vs-annotation map, which is `fg` where the annotator marks
/// foreground and `bg` elsewhere.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PixelTerms {
    /// The sample-vs-mean cross-entropy.
    pub x: f64,
    /// The sample-vs-annotation cross-entropy at a foreground annotation pixel.
    pub fg: f64,
    /// The same at a background annotation pixel.
    pub bg: f64,
}

impl PixelTerms {
    /// The sample-vs-annotation value for an annotation pixel.
    #[inline(always)]
    pub fn y(&self, foreground: bool) -> f64 {
        if foreground { self.fg } else { self.bg }
    }
}

/// The float32 logarithms `(ln c, ln(1 − c))` of a clamped prediction `c`, as the reference takes
/// them (clamp, `1 − c` and both logarithms in float32).
#[inline(always)]
fn clamped_logs(pred: f32) -> (f64, f64) {
    let c = pred.clamp(CLAMP_LO as f32, CLAMP_HI as f32);
    (ln_f32(c), ln_f32(1.0 - c))
}

/// The official terms at a pixel with sample mean `mean`, with `CE(pred, target) =
/// −[target·ln c + (1 − target)·ln(1 − c)]`, `c = clamp(pred)`: `x = CE(s̄, s̄)` (two float32
/// logarithms of the clamped mean), `fg = CE(1, s̄)`, `bg = CE(0, s̄)` (the annotation is the
/// prediction, the samples' mean the target: about `13.8·|s̄ − g|`).
#[inline(always)]
pub fn official_terms(mean: f64) -> PixelTerms {
    let (log_p, log_q) = clamped_logs(mean as f32);
    let (fg_p, fg_q) = clamped_logs(1.0);
    let (bg_p, bg_q) = clamped_logs(0.0);
    let ce = |log_p: f64, log_q: f64| -(mean * log_p + (1.0 - mean) * log_q);
    PixelTerms {
        x: ce(log_p, log_q),
        fg: ce(fg_p, fg_q),
        bg: ce(bg_p, bg_q),
    }
}

/// PHiSeg's terms at a pixel with sample mean `mean`, `log_fg = Σ_i ln(p_i + 1e-8)`,
/// `log_bg = Σ_i ln(1 − p_i + 1e-8)` over k samples (`inv_k = 1/k`):
/// `CE'(y) = −(y·log_fg + (1−y)·log_bg)/k` at `y = s̄`, 1 and 0.
#[inline(always)]
pub fn phiseg_terms(mean: f64, log_fg: f64, log_bg: f64, inv_k: f64) -> PixelTerms {
    PixelTerms {
        x: -(mean * log_fg + (1.0 - mean) * log_bg) * inv_k,
        fg: -log_fg * inv_k,
        bg: -log_bg * inv_k,
    }
}

/// The official S_NCC of the pushed samples, computed literally: both maps materialised, then the
/// two-pass NCC of [`ncc_official`] per annotator, averaged.
pub fn official(sums: &PixelSums, annotations: &[BitMask]) -> f64 {
    let terms: Vec<PixelTerms> = (0..sums.pixels())
        .map(|i| official_terms(sums.mean_at(i)))
        .collect();
    let x: Vec<f64> = terms.iter().map(|t| t.x).collect();
    let total: f64 = annotations
        .iter()
        .map(|g| ncc_official(&x, &annotation_map(&terms, g)))
        .sum();
    total / annotations.len() as f64
}

/// PHiSeg's S_NCC of the pushed samples, computed literally (two-pass Pearson NCC); `None` if any
/// of the NCCs is undefined (a constant map).
pub fn phiseg(sums: &PixelSums, annotations: &[BitMask]) -> Option<f64> {
    let inv_k = 1.0 / sums.len().max(1) as f64;
    let terms: Vec<PixelTerms> = (0..sums.pixels())
        .map(|i| {
            let (fg, bg) = sums.log_sums_at(i);
            phiseg_terms(sums.mean_at(i), fg, bg, inv_k)
        })
        .collect();
    let x: Vec<f64> = terms.iter().map(|t| t.x).collect();
    let mut total = 0.0;
    for g in annotations {
        total += ncc_pearson(&x, &annotation_map(&terms, g))?;
    }
    Some(total / annotations.len() as f64)
}

/// The sample-vs-annotation map of one annotator.
fn annotation_map(terms: &[PixelTerms], annotation: &BitMask) -> Vec<f64> {
    terms
        .iter()
        .enumerate()
        .map(|(i, t)| t.y(annotation.get(i)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference's cross-entropy `CE(pred, target)` written out (float32 clamp and logs).
    fn reference_ce(pred: f64, target: f64) -> f64 {
        let p = (pred as f32).clamp(CLAMP_LO as f32, CLAMP_HI as f32);
        let (log_p, log_q) = (f64::from(p.ln()), f64::from((1.0 - p).ln()));
        -(target * log_p + (1.0 - target) * log_q)
    }

    #[test]
    fn identity_matches_literal_average() {
        // mean_i CE(x, p_i) computed literally equals CE(x, mean p) (CE is affine in the target).
        let samples = [[0.1_f32, 0.9], [0.6, 0.2], [0.3, 0.3]];
        let mut sums = PixelSums::new(2);
        for s in &samples {
            sums.push(s);
        }
        for px in 0..2 {
            let sbar = sums.mean_at(px);
            let literal: f64 = samples
                .iter()
                .map(|s| reference_ce(sbar, f64::from(s[px])))
                .sum::<f64>()
                / 3.0;
            assert!((literal - reference_ce(sbar, sbar)).abs() < 1e-12);
        }
    }

    #[test]
    fn terms_are_the_reference_cross_entropies() {
        for i in 0..=1000 {
            let s = f64::from(i) / 1000.0;
            let t = official_terms(s);
            // float32 logarithms may differ from the platform's logf by one float32 ulp
            let tol = |v: f64| 2.0 * f64::from(f32::EPSILON) * v.abs().max(1e-6);
            for (ours, reference) in [
                (t.x, reference_ce(s, s)),
                (t.fg, reference_ce(1.0, s)),
                (t.bg, reference_ce(0.0, s)),
            ] {
                assert!(
                    (ours - reference).abs() <= tol(reference),
                    "{s}: {ours} vs {reference}"
                );
            }
        }
    }

    #[test]
    fn identical_binary_samples_and_annotations_give_zero() {
        // s̄ binary → E_ss is constant → official NCC is 0 and PHiSeg's is undefined.
        let mask = [1.0_f32, 0.0, 1.0, 0.0];
        let mut sums = PixelSums::new(4);
        sums.push(&mask);
        sums.push(&mask);
        let g = [BitMask::from_soft(&mask)];
        assert!(official(&sums, &g).abs() < 1e-6);
        assert_eq!(phiseg(&sums, &g), None);
    }
}
