//! All metrics of one image's sample set, for every nested prefix k = 1..n in one pass
//! (the official evaluation re-scores the first k samples of one run; paper-and-baselines §2.6).
//!
//! Pairwise distances are computed once on bit-packed masks; the per-k work is prefix sums (GED),
//! running maxima (Dmax), running pixel sums (SNCC, Dice of the mean, ECE) and one small
//! transportation problem (HM-IoU).

use crate::bitmask::BitMask;
use crate::calibration::{ECE_BINS, expected_calibration_error};
use crate::error::MetricsError;
use crate::ged::GedSweep;
use crate::matching::hungarian_matched_iou;
use crate::overlap::{dice, iou, pairwise, pairwise_symmetric};
use crate::scores::{PrefixScores, Scores};
use crate::sncc::SnccAccumulator;

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
        match self.samples.iter().position(|v| !(0.0..=1.0).contains(v)) {
            Some(index) => Err(MetricsError::NotAProbability {
                index,
                value: self.samples[index],
            }),
            None => Ok(()),
        }
    }

    /// Scores every requested prefix, in increasing k.
    pub fn evaluate(&self, prefixes: Prefixes) -> Result<Vec<PrefixScores>, MetricsError> {
        self.validate()?;
        let (n, m, px) = (self.n, self.m, self.pixels);
        let preds: Vec<BitMask> = self.samples.chunks(px).map(BitMask::from_soft).collect();
        let gts: Vec<BitMask> = self.annotations.chunks(px).map(BitMask::from_u8).collect();
        let cross_iou = pairwise(&preds, &gts, iou);
        let cross_d: Vec<f64> = cross_iou.iter().map(|v| 1.0 - v).collect();
        let cross_dice = pairwise(&preds, &gts, dice);
        let pred_d = pairwise_symmetric(&preds, |a, b| 1.0 - iou(a, b));
        let gt_d = pairwise_symmetric(&gts, |a, b| 1.0 - iou(a, b));
        let ged = GedSweep::new(&cross_d, &pred_d, &gt_d, n, m).prefixes();
        let gt_mean: Vec<f64> = (0..px)
            .map(|i| gts.iter().filter(|g| g.get(i)).count() as f64 / m as f64)
            .collect();
        let majority = BitMask::from_fn(px, |i| gt_mean[i] > 0.5);

        let mut acc = SnccAccumulator::new(px);
        let mut best_dice = vec![f64::MIN; m];
        let mut out = Vec::new();
        for k in 1..=n {
            acc.push(&self.samples[(k - 1) * px..k * px]);
            for (j, best) in best_dice.iter_mut().enumerate() {
                *best = best.max(cross_dice[(k - 1) * m + j]);
            }
            if prefixes == Prefixes::Last && k < n {
                continue;
            }
            let mean = acc.mean();
            let consensus = BitMask::from_fn(px, |i| mean[i] > 0.5);
            let sums = ged[k - 1];
            out.push(PrefixScores {
                k,
                scores: Scores {
                    ged: sums.official(),
                    sncc: acc.official(&gts),
                    dmax: best_dice.iter().sum::<f64>() / m as f64,
                    dice: dice(&consensus, &majority),
                    iou: iou(&consensus, &majority),
                    ged_unbiased: sums.unbiased(),
                    hm_iou: hungarian_matched_iou(&cross_iou[..k * m], k, m),
                    sncc_phiseg: acc.phiseg(&gts),
                    ece: expected_calibration_error(&mean, &gt_mean, ECE_BINS),
                },
            });
        }
        Ok(out)
    }
}
