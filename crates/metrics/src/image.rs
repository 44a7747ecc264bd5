//! All metrics of one image's sample set, for every nested prefix k = 1..n in one pass
//! (the official evaluation re-scores the first k samples of one run; paper-and-baselines §2.6).
//!
//! Pairwise distances are computed once on bit-packed masks; the per-k work is prefix sums (GED),
//! running maxima (Dmax), running pixel sums with one fused pass over the pixels per scored prefix
//! (SNCC in both orientations, Dice of the mean, ECE, `var_ncc`: [`crate::pixelwise`]) and one small
//! transportation problem (HM-IoU).
//!
//! The whole evaluation of an image runs under one runtime SIMD dispatch (`pulp`: AVX-512, AVX2
//! or baseline x86-64, chosen per CPU); the kernels sum in fixed lanes, so the scores do not depend
//! on which one runs.

use pulp::{Simd, WithSimd};

use crate::bitmask::{BitMask, pack_words_into};
use crate::error::MetricsError;
use crate::ged::GedSweep;
use crate::matching::hungarian_matched_iou;
use crate::overlap::{dice, iou, pairwise, pairwise_symmetric};
use crate::pixel_sums::PixelSums;
use crate::pixelwise::{AnnotationBlock, BLOCK, BlockScratch, PixelwiseScores, PrefixAccumulator};
use crate::scores::{PrefixScores, Scores};

/// Which prefixes to score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Prefixes {
    /// Every k = 1..=n (the official sweep).
    #[default]
    All,
    /// Only the full set k = n.
    Last,
}

/// One image: n soft samples and m binary annotations of H×W pixels.
#[derive(Debug, Clone, Copy)]
pub struct ImageSet<'a> {
    /// Soft samples, n×H×W row-major, values in [0, 1].
    pub samples: &'a [f32],
    /// Annotations, m×H×W row-major, foreground iff > 0.
    pub annotations: &'a [u8],
    /// n.
    pub n: usize,
    /// m.
    pub m: usize,
    /// H·W.
    pub pixels: usize,
}

impl ImageSet<'_> {
    /// Checks the shape and that every sample value is a probability.
    pub fn validate(&self) -> Result<(), MetricsError> {
        self.check_shape()?;
        match first_non_probability(self.samples) {
            Some(index) => Err(MetricsError::NotAProbability {
                index,
                value: self.samples[index],
            }),
            None => Ok(()),
        }
    }

    /// Checks the set sizes and buffer lengths.
    fn check_shape(&self) -> Result<(), MetricsError> {
        if self.n == 0 {
            return Err(MetricsError::EmptySet { what: "samples" });
        }
        if self.m == 0 {
            return Err(MetricsError::EmptySet {
                what: "annotations",
            });
        }
        if self.samples.len() != self.n * self.pixels {
            return Err(MetricsError::ShapeMismatch {
                what: "samples",
                len: self.samples.len(),
                shape: vec![self.n, self.pixels],
                expected: self.n * self.pixels,
            });
        }
        if self.annotations.len() != self.m * self.pixels {
            return Err(MetricsError::ShapeMismatch {
                what: "annotations",
                len: self.annotations.len(),
                shape: vec![self.m, self.pixels],
                expected: self.m * self.pixels,
            });
        }
        Ok(())
    }

    /// Scores every requested prefix, in increasing k.
    pub fn evaluate(&self, prefixes: Prefixes) -> Result<Vec<PrefixScores>, MetricsError> {
        pulp::Arch::new().dispatch(Evaluate {
            set: *self,
            prefixes,
        })
    }

    #[inline(always)]
    fn evaluate_inline(&self, prefixes: Prefixes) -> Result<Vec<PrefixScores>, MetricsError> {
        self.check_shape()?;
        let (n, m, px) = (self.n, self.m, self.pixels);
        let mut gts = Vec::with_capacity(m);
        for plane in self.annotations.chunks(px) {
            gts.push(BitMask::from_u8(plane));
        }
        let gt_mean = annotator_mean(self.annotations, m, px);
        let mut majority = Vec::with_capacity(px.div_ceil(64));
        pack_words_into(&gt_mean, |g| g > 0.5, &mut majority);
        let majority = BitMask::from_words(majority, px);

        // Block by block over the pixels, every sample's block in turn: each sample value is read
        // once and the running sums of the block stay in the L1 cache.
        let scored = |k: usize| prefixes == Prefixes::All || k == n;
        let mut accumulators: Vec<PrefixAccumulator> = (1..=n)
            .filter(|&k| scored(k))
            .map(|_| PrefixAccumulator::new(m))
            .collect();
        let words = px.div_ceil(64);
        let mut pred_words = vec![0u64; n * words];
        let mut local = PixelSums::new(BLOCK);
        let mut scratch = BlockScratch::default();
        // every value checked in the packing loop; the error (with the first bad index) after it
        let mut probabilities = true;
        for start in (0..px).step_by(BLOCK) {
            let len = BLOCK.min(px - start);
            local.clear(len);
            let block = AnnotationBlock::new(&gts, &gt_mean, start);
            let mut next = accumulators.iter_mut();
            for k in 1..=n {
                let sample = &self.samples[(k - 1) * px + start..][..len];
                let first_word = (k - 1) * words + start / 64;
                for (w, chunk) in sample.chunks(64).enumerate() {
                    let (mut bits, mut ok) = (0u64, true);
                    for (i, &v) in chunk.iter().enumerate() {
                        bits |= u64::from(v > 0.5) << i;
                        ok &= (0.0..=1.0).contains(&v);
                    }
                    pred_words[first_word + w] = bits;
                    probabilities &= ok;
                }
                local.push(sample);
                if scored(k) {
                    let acc = next.next().expect("one accumulator per scored prefix");
                    acc.add_block(local.view(0..len), &block, &mut scratch);
                }
            }
        }
        if !probabilities {
            // the same predicate as `validate`, which names the first offending value
            self.validate()?;
        }
        let mut preds = Vec::with_capacity(n);
        for w in pred_words.chunks(words) {
            preds.push(BitMask::from_words(w.to_vec(), px));
        }
        let scored_ks = (1..=n).filter(|&k| scored(k));
        let pixel_scores: Vec<(usize, PixelwiseScores)> = scored_ks
            .zip(accumulators)
            .map(|(k, acc)| {
                let whole = || {
                    let mut sums = PixelSums::new(px);
                    for sample in self.samples.chunks(px).take(k) {
                        sums.push(sample);
                    }
                    sums
                };
                (k, acc.finish(&gts, whole))
            })
            .collect();

        let cross_iou = pairwise(&preds, &gts, iou);
        let cross_d: Vec<f64> = cross_iou.iter().map(|v| 1.0 - v).collect();
        let cross_dice = pairwise(&preds, &gts, dice);
        let pred_d = pairwise_symmetric(&preds, |a, b| 1.0 - iou(a, b));
        let gt_d = pairwise_symmetric(&gts, |a, b| 1.0 - iou(a, b));
        let ged = GedSweep::new(&cross_d, &pred_d, &gt_d, n, m).prefixes();
        let mut best_dice = vec![f64::MIN; m];
        let mut best_dice_at = Vec::with_capacity(n);
        for k in 1..=n {
            for (j, best) in best_dice.iter_mut().enumerate() {
                *best = best.max(cross_dice[(k - 1) * m + j]);
            }
            best_dice_at.push(best_dice.iter().sum::<f64>() / m as f64);
        }
        Ok(pixel_scores
            .into_iter()
            .map(|(k, pixel)| {
                let sums = ged[k - 1];
                PrefixScores {
                    k,
                    scores: Scores {
                        ged: sums.official(),
                        sncc: pixel.sncc,
                        dmax: best_dice_at[k - 1],
                        dice: dice(&pixel.consensus, &majority),
                        iou: iou(&pixel.consensus, &majority),
                        ged_unbiased: sums.unbiased(),
                        hm_iou: hungarian_matched_iou(&cross_iou[..k * m], k, m),
                        sncc_phiseg: pixel.sncc_phiseg,
                        ece: pixel.ece,
                        var_ncc: pixel.var_ncc,
                    },
                }
            })
            .collect())
    }
}

/// [`ImageSet::evaluate`] under the CPU's best SIMD instruction set.
struct Evaluate<'a> {
    set: ImageSet<'a>,
    prefixes: Prefixes,
}

impl WithSimd for Evaluate<'_> {
    type Output = Result<Vec<PrefixScores>, MetricsError>;

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) -> Self::Output {
        self.set.evaluate_inline(self.prefixes)
    }
}

/// The flat index of the first value that is NaN or outside [0, 1], if any.
fn first_non_probability(values: &[f32]) -> Option<usize> {
    values.iter().position(|v| !(0.0..=1.0).contains(v))
}

/// The fraction of the m annotators marking each pixel (H·W).
#[inline(always)]
fn annotator_mean(annotations: &[u8], m: usize, pixels: usize) -> Vec<f64> {
    let mut count = vec![0.0_f64; pixels];
    for plane in annotations.chunks(pixels) {
        for (c, &a) in count.iter_mut().zip(plane) {
            *c += f64::from(u8::from(a > 0));
        }
    }
    // a division, not a multiplication by 1/m: ḡ = 0.5 must stay exact for the majority
    for c in &mut count {
        *c /= m as f64;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Soft discs of varying radius, 3 annotators, a pixel count that is not a multiple of the
    /// block.
    fn set_data() -> (Vec<f32>, Vec<u8>, usize) {
        let (side, n, m) = (23, 5, 3);
        let mut samples = Vec::new();
        for k in 0..n {
            for y in 0..side {
                for x in 0..side {
                    let d = (((x as f32) - 11.0).powi(2) + ((y as f32) - 10.0).powi(2)).sqrt();
                    samples.push((0.5 + (6.0 + k as f32 - d) / 4.0).clamp(0.0, 1.0));
                }
            }
        }
        let annotations = (0..m * side * side)
            .map(|i| u8::from((i * 7919) % 13 < 5))
            .collect();
        (samples, annotations, side * side)
    }

    /// Every instruction set gives the same bits: the kernels sum in fixed lanes and use fused
    /// multiply-adds, which are exactly specified.
    #[test]
    fn scores_do_not_depend_on_the_instruction_set() {
        let (samples, annotations, pixels) = set_data();
        let set = ImageSet {
            samples: &samples,
            annotations: &annotations,
            n: 5,
            m: 3,
            pixels,
        };
        let op = || Evaluate {
            set,
            prefixes: Prefixes::All,
        };
        let dispatched = set.evaluate(Prefixes::All).unwrap();
        let scalar = op().with_simd(pulp::Scalar::new()).unwrap();
        assert_eq!(dispatched, scalar);
        #[cfg(target_arch = "x86_64")]
        if let Some(v3) = pulp::x86::V3::try_new() {
            assert_eq!(dispatched, pulp::Simd::vectorize(v3, op()).unwrap());
        }
    }
}
