//! # fmseg-metrics
//!
//! Metrics for segmentation models that draw several plausible masks per image, scored against
//! several experts — exactly as the official code of "Aleatoric Uncertainty Medical Image
//! Segmentation Estimation via Flow Matching" (arXiv 2507.22418, huynhspm/Data-Uncertainty
//! `eval_segmentation.py`) computes them, plus named variants from the wider literature.
//!
//! Official metrics (paper-and-baselines §2), all with the strict `> 0.5` binarisation and 1e-5
//! smoothing (empty vs empty is a perfect match):
//! - `ged`: squared generalised energy distance, `1 − IoU` kernel, biased V-statistic ([`ged`]);
//! - `sncc`: S_NCC in the official orientation with the `+1e-6` NCC ([`sncc`]);
//! - `dmax`: mean over annotators of the best sample's Dice;
//! - `dice` / `iou`: the thresholded sample mean against the thresholded annotator mean
//!   (with 4 raters: the ≥3-of-4 majority).
//!
//! Variants: `ged_unbiased` (U-statistic), `hm_iou` ([`matching`]), `sncc_phiseg` (PHiSeg's
//! orientation), `ece` ([`calibration`]), `var_ncc` (the samples' per-pixel variance against the
//! annotators', [`variance`]); per-pixel variance and entropy maps ([`maps`]).
//!
//! Every metric is available for each nested prefix k = 1..n of the samples in one pass
//! ([`image::ImageSet::evaluate`]); [`evaluate_dataset`] runs images in parallel.
//!
//! ```
//! use fmseg_metrics::{DatasetShape, Prefixes, evaluate_dataset};
//! // one 2×2 image, two samples, two annotators
//! let samples = [1.0, 0.0, 0.0, 0.0, /* sample 2 */ 1.0, 1.0, 0.0, 0.0];
//! let annotations = [1, 0, 0, 0, /* rater 2 */ 1, 1, 0, 0];
//! let shape = DatasetShape { images: 1, samples: 2, annotators: 2, height: 2, width: 2 };
//! let report = evaluate_dataset(&samples, &annotations, shape, Prefixes::All).unwrap();
//! assert_eq!(report.per_k.len(), 2);
//! assert!(report.mean.ged.abs() < 1e-9); // the samples are the annotations
//! ```

#![warn(missing_docs)]

pub mod bitmask;
pub mod calibration;
pub mod dataset;
pub mod error;
pub mod fastlog;
pub mod ged;
pub mod image;
pub mod maps;
pub mod matching;
pub mod ncc;
pub mod overlap;
pub mod pixel_sums;
pub mod pixelwise;
pub mod scores;
pub mod sncc;
pub mod variance;

pub use dataset::{DatasetReport, DatasetShape, evaluate_dataset, evaluate_images};
pub use error::MetricsError;
pub use image::{ImageSet, Prefixes};
pub use scores::{METRIC_NAMES, PrefixScores, Scores};
