//! The pixel-wise metrics of one prefix k in one fused pass over the pixels: both S_NCC
//! orientations ([`crate::sncc`]), the thresholded sample mean for the Dice/IoU of the mean, the
//! ECE ([`crate::calibration`]) and `var_ncc` ([`crate::variance`]).
//!
//! Pixels go in blocks of [`BLOCK`] (four mask words); every per-pixel quantity is branch-free and
//! summed in [`LANES`] fixed lanes, so the loops vectorise (AVX2/AVX-512 under [`crate::image`]'s
//! dispatch) and the result does not depend on the vector width. The NCCs come from shifted raw
//! moments (`Σx', Σx'², Σy', Σy'², Σx'y'` with `x' = x − x₀`, `y' = y − y₀`, the first pixel's
//! `x` and background `y`), which equal the two-pass centred moments up to rounding. An exactly constant map (all
//! shifted values zero, e.g. PHiSeg's `γ_ss` for one binary sample) gives the official NCC 0 and
//! PHiSeg's undefined; when a map is so close to constant that rounding could matter (centred
//! second moment below [`DEGENERATE`] of the raw one), that orientation is recomputed with the
//! literal two-pass definition.

use crate::bitmask::{BitMask, pack_words_into};
use crate::calibration::EceLanes;
use crate::fastlog::ln_positive;
use crate::ncc::NCC_EPS;
use crate::pixel_sums::{PixelSums, SumsView, sample_variance};
use crate::sncc::{self, PixelTerms, official_terms, phiseg_terms};
use crate::variance::{self, annotator_variance};

/// Independent accumulator lanes (a fixed number, so every SIMD width sums in the same order).
pub const LANES: usize = 8;
/// Pixels per block: four mask words. The evaluation walks the image block by block, every
/// sample's block in turn, so all running sums stay in the L1 cache.
pub const BLOCK: usize = 256;
/// Relative size of the centred second moment below which a map counts as near-constant.
pub const DEGENERATE: f64 = 1e-4;

/// The pixel-wise scores of one prefix.
#[derive(Debug, Clone, PartialEq)]
pub struct PixelwiseScores {
    /// Official S_NCC.
    pub sncc: f64,
    /// PHiSeg's S_NCC (`None` when a map is constant).
    pub sncc_phiseg: Option<f64>,
    /// Pixel-wise ECE of s̄ against the annotators' mean.
    pub ece: f64,
    /// The thresholded sample mean `s̄ > 0.5`.
    pub consensus: BitMask,
    /// Pearson correlation of the samples' and the annotators' per-pixel variance (`None` when
    /// a map is constant).
    pub var_ncc: Option<f64>,
}

/// Lane sums of the shifted map `x'` shared by every annotator.
#[derive(Debug, Clone, Copy, Default)]
struct SharedSums {
    x: [f64; LANES],
    xx: [f64; LANES],
}

/// Lane sums of one annotator's shifted map `y'` and its product with `x'`.
#[derive(Debug, Clone, Copy, Default)]
struct PairSums {
    y: [f64; LANES],
    yy: [f64; LANES],
    xy: [f64; LANES],
}

/// The block's per-pixel terms of one orientation, shifted; padding pixels are all zero.
struct BlockTerms {
    x: [f64; BLOCK],
    fg: [f64; BLOCK],
    bg: [f64; BLOCK],
}

impl BlockTerms {
    const ZERO: Self = Self {
        x: [0.0; BLOCK],
        fg: [0.0; BLOCK],
        bg: [0.0; BLOCK],
    };

    #[inline(always)]
    fn set(&mut self, i: usize, t: PixelTerms, shift: &Shift) {
        self.x[i] = t.x - shift.x;
        self.fg[i] = t.fg - shift.y;
        self.bg[i] = t.bg - shift.y;
    }

    #[inline(always)]
    fn add_shared(&self, sums: &mut SharedSums) {
        let mut acc = *sums;
        for c in 0..BLOCK / LANES {
            for l in 0..LANES {
                let x = self.x[c * LANES + l];
                acc.x[l] += x;
                acc.xx[l] = x.mul_add(x, acc.xx[l]);
            }
        }
        *sums = acc;
    }

    /// Adds one annotator's block: `y' = fg'` where its mask is all ones, `bg'` where it is zero.
    #[inline(always)]
    fn add_pair(&self, mask: &[u64; BLOCK], sums: &mut PairSums) {
        let mut acc = *sums;
        for c in 0..BLOCK / LANES {
            for l in 0..LANES {
                let i = c * LANES + l;
                // a bitwise select (a branch-style select here becomes scalar loads)
                let y = f64::from_bits(
                    (self.fg[i].to_bits() & mask[i]) | (self.bg[i].to_bits() & !mask[i]),
                );
                acc.y[l] += y;
                acc.yy[l] = y.mul_add(y, acc.yy[l]);
                acc.xy[l] = self.x[i].mul_add(y, acc.xy[l]);
            }
        }
        *sums = acc;
    }
}

/// The annotations of one block of pixels, shared by every prefix: each annotator's mask with one
/// all-ones/all-zeros `u64` per pixel (for the bitwise selects), and the annotator mean; padding
/// pixels are zero.
#[derive(Debug, Clone)]
pub struct AnnotationBlock {
    start: usize,
    len: usize,
    masks: Vec<[u64; BLOCK]>,
    mean: [f64; BLOCK],
}

impl AnnotationBlock {
    /// The block of at most [`BLOCK`] pixels starting at pixel `start`.
    ///
    /// # Panics
    /// If `start` is not a multiple of 64 inside the image, or the sizes disagree.
    #[inline(always)]
    pub fn new(annotations: &[BitMask], annotator_mean: &[f64], start: usize) -> Self {
        let pixels = annotator_mean.len();
        assert!(
            start < pixels && start.is_multiple_of(64),
            "block start inside the image"
        );
        let len = BLOCK.min(pixels - start);
        let mut mean = [0.0; BLOCK];
        mean[..len].copy_from_slice(&annotator_mean[start..start + len]);
        let mut masks = Vec::with_capacity(annotations.len());
        for g in annotations {
            assert_eq!(g.pixels(), pixels, "annotation of the wrong size");
            let mut mask = [0u64; BLOCK];
            for (w, chunk) in mask.chunks_mut(64).enumerate() {
                let word = g.words().get(start / 64 + w).copied().unwrap_or(0);
                for (i, m) in chunk.iter_mut().enumerate() {
                    *m = 0u64.wrapping_sub((word >> i) & 1);
                }
            }
            masks.push(mask);
        }
        Self {
            start,
            len,
            masks,
            mean,
        }
    }
}

/// Per-block working arrays, reused across blocks and prefixes (zeroing them per block cost more
/// than filling them).
pub struct BlockScratch {
    off: BlockTerms,
    phi: BlockTerms,
    var: BlockTerms,
    mean: [f64; BLOCK],
    diff: [f64; BLOCK],
}

impl Default for BlockScratch {
    fn default() -> Self {
        Self {
            off: BlockTerms::ZERO,
            phi: BlockTerms::ZERO,
            var: BlockTerms::ZERO,
            mean: [0.0; BLOCK],
            diff: [0.0; BLOCK],
        }
    }
}

impl BlockScratch {
    /// Zeroes the padding pixels `len..BLOCK`.
    #[inline(always)]
    fn clear_tail(&mut self, len: usize) {
        for terms in [&mut self.off, &mut self.phi, &mut self.var] {
            terms.x[len..].fill(0.0);
            terms.fg[len..].fill(0.0);
            terms.bg[len..].fill(0.0);
        }
        self.mean[len..].fill(0.0);
        self.diff[len..].fill(0.0);
    }
}

/// The shift of one orientation: the first pixel's `x` and background `y` (background is the
/// common annotation value, so a constant annotation map usually shifts to exact zeros). A padding
/// pixel holds zero shifted terms and adds nothing.
#[derive(Debug, Clone, Copy)]
struct Shift {
    x: f64,
    y: f64,
}

impl Shift {
    fn of(t: PixelTerms) -> Self {
        Self { x: t.x, y: t.bg }
    }
}

/// No annotator marks the pixel: `var_ncc`'s annotator map is the same under every mask, so its
/// pair sums take this mask.
const NO_MASK: [u64; BLOCK] = [0; BLOCK];

/// One pixel's `var_ncc` terms: the samples' variance as `x`, the annotators' as `fg` and `bg`.
#[inline(always)]
fn variance_terms(view: &SumsView<'_>, i: usize, inv_k: f64, annotator_mean: f64) -> PixelTerms {
    let raters = annotator_variance(annotator_mean);
    PixelTerms {
        x: sample_variance(view.sum[i], view.sq[i], inv_k),
        fg: raters,
        bg: raters,
    }
}

/// One pixel's terms of both orientations from its sums.
#[inline(always)]
fn terms_at(view: &SumsView<'_>, i: usize, inv_k: f64) -> (f64, PixelTerms, PixelTerms) {
    let s = view.sum[i] / view.k as f64;
    let fg = view.log_fg[i] + ln_positive(view.prod_fg[i]);
    let bg = view.log_bg[i] + ln_positive(view.prod_bg[i]);
    (s, official_terms(s), phiseg_terms(s, fg, bg, inv_k))
}

/// The running pixel-wise scores of one prefix k, fed block by block (in pixel order, starting at
/// pixel 0).
#[derive(Debug, Clone)]
pub struct PrefixAccumulator {
    pixels: usize,
    shifts: Option<(Shift, Shift, Shift)>,
    off_shared: SharedSums,
    phi_shared: SharedSums,
    var_shared: SharedSums,
    off_pairs: Vec<PairSums>,
    phi_pairs: Vec<PairSums>,
    var_pair: PairSums,
    ece: EceLanes<LANES>,
    words: Vec<u64>,
}

impl PrefixAccumulator {
    /// An empty accumulator for `annotators` annotators.
    pub fn new(annotators: usize) -> Self {
        Self {
            pixels: 0,
            shifts: None,
            off_shared: SharedSums::default(),
            phi_shared: SharedSums::default(),
            var_shared: SharedSums::default(),
            off_pairs: vec![PairSums::default(); annotators],
            phi_pairs: vec![PairSums::default(); annotators],
            var_pair: PairSums::default(),
            ece: EceLanes::default(),
            words: Vec::new(),
        }
    }

    /// Adds one block of pixels (the blocks in pixel order): its sums and its annotations.
    ///
    /// # Panics
    /// If the block is out of order or the sizes disagree.
    #[inline(always)]
    pub fn add_block(
        &mut self,
        view: SumsView<'_>,
        block: &AnnotationBlock,
        scratch: &mut BlockScratch,
    ) {
        let len = block.len;
        assert!(
            view.sum.len() == len && view.k > 0,
            "the block's pushed sums"
        );
        assert_eq!(block.start, self.pixels, "blocks in pixel order");
        assert_eq!(block.masks.len(), self.off_pairs.len(), "annotator count");
        let inv_k = 1.0 / view.k as f64;
        let (off_shift, phi_shift, var_shift) = *self.shifts.get_or_insert_with(|| {
            let (_, off, phi) = terms_at(&view, 0, inv_k);
            let var = variance_terms(&view, 0, inv_k, block.mean[0]);
            (Shift::of(off), Shift::of(phi), Shift::of(var))
        });
        if len < BLOCK {
            scratch.clear_tail(len);
        }
        let BlockScratch {
            off,
            phi,
            var,
            mean,
            diff,
        } = scratch;
        for i in 0..len {
            let (s, o, p) = terms_at(&view, i, inv_k);
            mean[i] = s;
            diff[i] = s - block.mean[i];
            off.set(i, o, &off_shift);
            phi.set(i, p, &phi_shift);
            var.set(
                i,
                variance_terms(&view, i, inv_k, block.mean[i]),
                &var_shift,
            );
        }
        pack_words_into(&mean[..len], |s| s > 0.5, &mut self.words);
        self.ece.add(&mean[..], &diff[..]);
        off.add_shared(&mut self.off_shared);
        phi.add_shared(&mut self.phi_shared);
        var.add_shared(&mut self.var_shared);
        var.add_pair(&NO_MASK, &mut self.var_pair);
        for (j, mask) in block.masks.iter().enumerate() {
            off.add_pair(mask, &mut self.off_pairs[j]);
            phi.add_pair(mask, &mut self.phi_pairs[j]);
        }
        self.pixels += len;
    }

    /// The scores once every pixel was added. `whole` rebuilds the prefix's sums over the whole
    /// image, for the literal definitions when a map is near-constant.
    pub fn finish(self, annotations: &[BitMask], whole: impl Fn() -> PixelSums) -> PixelwiseScores {
        let n = self.pixels as f64;
        let official: Option<Vec<f64>> = self
            .off_pairs
            .iter()
            .map(|p| match Moments::new(&self.off_shared, p, n) {
                Moments::Centred { sxy, sxx, syy } => Some(sxy / ((sxx * syy).sqrt() + NCC_EPS)),
                Moments::Constant => Some(0.0),
                Moments::NearConstant => None,
            })
            .collect();
        let phiseg: Option<Vec<Option<f64>>> = self
            .phi_pairs
            .iter()
            .map(|p| match Moments::new(&self.phi_shared, p, n) {
                Moments::Centred { sxy, sxx, syy } => Some(Some(sxy / (sxx * syy).sqrt())),
                Moments::Constant => Some(None),
                Moments::NearConstant => None,
            })
            .collect();
        let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
        let (sncc, sncc_phiseg) = match (official, phiseg) {
            (Some(o), Some(p)) => (mean(o), p.into_iter().collect::<Option<Vec<_>>>().map(mean)),
            (o, p) => {
                let sums = whole();
                (
                    o.map_or_else(|| sncc::official(&sums, annotations), mean),
                    p.map_or_else(
                        || sncc::phiseg(&sums, annotations),
                        |p| p.into_iter().collect::<Option<Vec<_>>>().map(mean),
                    ),
                )
            }
        };
        let var_ncc = match Moments::new(&self.var_shared, &self.var_pair, n) {
            Moments::Centred { sxy, sxx, syy } => Some(sxy / (sxx * syy).sqrt()),
            Moments::Constant => None,
            Moments::NearConstant => variance::var_ncc(&whole(), annotations),
        };
        PixelwiseScores {
            sncc,
            sncc_phiseg,
            ece: self.ece.finish(self.pixels),
            consensus: BitMask::from_words(self.words, self.pixels),
            var_ncc,
        }
    }
}

/// Scores the prefix held in `sums` (the whole image).
///
/// # Shapes
/// `annotations`: m masks of H·W pixels; `annotator_mean`: H·W, the fraction of annotators marking
/// each pixel.
///
/// # Panics
/// If the sizes disagree or nothing was pushed.
#[inline(always)]
pub fn pixelwise(
    sums: &PixelSums,
    annotations: &[BitMask],
    annotator_mean: &[f64],
) -> PixelwiseScores {
    let pixels = sums.pixels();
    assert_eq!(
        annotator_mean.len(),
        pixels,
        "annotator mean of the wrong size"
    );
    assert!(
        annotations.iter().all(|g| g.pixels() == pixels),
        "annotation of the wrong size"
    );
    let mut acc = PrefixAccumulator::new(annotations.len());
    let mut scratch = BlockScratch::default();
    for start in (0..pixels).step_by(BLOCK) {
        let block = AnnotationBlock::new(annotations, annotator_mean, start);
        acc.add_block(sums.view(start..start + block.len), &block, &mut scratch);
    }
    acc.finish(annotations, || sums.clone())
}

/// The centred second moments of a pair of maps, from their shifted raw sums.
enum Moments {
    /// Both maps vary: the moments are accurate.
    Centred { sxy: f64, sxx: f64, syy: f64 },
    /// A map is exactly constant (every shifted value is zero): the official NCC is 0, PHiSeg's
    /// is undefined.
    Constant,
    /// A map is so close to constant (see [`DEGENERATE`]) that rounding could matter: recompute
    /// with the literal two-pass definition.
    NearConstant,
}

impl Moments {
    fn new(shared: &SharedSums, pair: &PairSums, n: f64) -> Self {
        let total = |lanes: &[f64; LANES]| lanes.iter().sum::<f64>();
        let (x, xx) = (total(&shared.x), total(&shared.xx));
        let (y, yy, xy) = (total(&pair.y), total(&pair.yy), total(&pair.xy));
        if xx == 0.0 || yy == 0.0 {
            return Self::Constant;
        }
        let sxx = xx - x * x / n;
        let syy = yy - y * y / n;
        if sxx > DEGENERATE * xx && syy > DEGENERATE * yy {
            Self::Centred {
                sxy: xy - x * y / n,
                sxx,
                syy,
            }
        } else {
            Self::NearConstant
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibration::{ECE_BINS, expected_calibration_error};

    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The fused pass against the literal definitions, on soft, binary and constant inputs and a
    /// pixel count that is not a multiple of the block.
    #[test]
    fn fused_pass_equals_literal_definitions() {
        let mut seed = 11u64;
        for (pixels, n, m, kind) in [
            (200, 5, 3, 0),
            (64, 4, 2, 1),
            (130, 3, 4, 2),
            (1, 2, 1, 0),
            (300, 1, 2, 1),
            (4096, 16, 4, 0),
        ] {
            let mut sums = PixelSums::new(pixels);
            for _ in 0..n {
                let sample: Vec<f32> = (0..pixels)
                    .map(|_| match kind {
                        0 => lcg(&mut seed) as f32,
                        1 => f32::from(u8::from(lcg(&mut seed) < 0.3)),
                        _ => 0.25,
                    })
                    .collect();
                sums.push(&sample);
            }
            let masks: Vec<BitMask> = (0..m)
                .map(|_| {
                    let bits: Vec<u8> = (0..pixels)
                        .map(|_| u8::from(lcg(&mut seed) < 0.4))
                        .collect();
                    BitMask::from_u8(&bits)
                })
                .collect();
            let target: Vec<f64> = (0..pixels)
                .map(|i| masks.iter().filter(|g| g.get(i)).count() as f64 / m as f64)
                .collect();
            let fused = pixelwise(&sums, &masks, &target);
            if kind == 1 && n == 1 {
                // one binary sample: PHiSeg's γ_ss is exactly constant
                assert_eq!(fused.sncc_phiseg, None);
            }
            let mean = sums.mean();
            let case = format!("pixels {pixels}, n {n}, m {m}, kind {kind}");
            let official = sncc::official(&sums, &masks);
            assert!(
                (fused.sncc - official).abs() < 1e-9,
                "{case}: {} vs {official}",
                fused.sncc
            );
            match (fused.sncc_phiseg, sncc::phiseg(&sums, &masks)) {
                (Some(a), Some(b)) => assert!((a - b).abs() < 1e-9, "{case}: {a} vs {b}"),
                (a, b) => assert_eq!(a, b, "{case}"),
            }
            match (fused.var_ncc, variance::var_ncc(&sums, &masks)) {
                (Some(a), Some(b)) => assert!((a - b).abs() < 1e-9, "{case}: {a} vs {b}"),
                (a, b) => assert_eq!(a, b, "{case}"),
            }
            if kind == 2 || n == 1 {
                assert_eq!(fused.var_ncc, None, "{case}: no variance among the samples");
            }
            let ece = expected_calibration_error(&mean, &target, ECE_BINS);
            assert!((fused.ece - ece).abs() < 1e-12, "{case}");
            assert_eq!(
                fused.consensus,
                BitMask::from_fn(pixels, |i| mean[i] > 0.5),
                "{case}"
            );
        }
    }
}
