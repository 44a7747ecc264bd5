//! Dataset-level evaluation: every image scored in parallel (rayon), then averaged over images.
//!
//! The paper's numbers are means over test images. The official script additionally averages
//! per-batch means (batch 64 in its README), which over-weights a short last batch;
//! [`DatasetReport::mean_of_batch_means`] reproduces that quirk on request.

use rayon::prelude::*;
use serde::Serialize;

use crate::error::MetricsError;
use crate::image::{ImageSet, Prefixes};
use crate::scores::{PrefixScores, Scores};

/// The shape of a dataset's sample and annotation arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DatasetShape {
    /// N, the number of images.
    pub images: usize,
    /// n, samples per image.
    pub samples: usize,
    /// m, annotations per image.
    pub annotators: usize,
    /// H.
    pub height: usize,
    /// W.
    pub width: usize,
}

/// Scores of a whole dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetReport {
    /// N.
    pub images: usize,
    /// n.
    pub samples: usize,
    /// m.
    pub annotators: usize,
    /// H.
    pub height: usize,
    /// W.
    pub width: usize,
    /// Mean over images with all n samples.
    pub mean: Scores,
    /// Mean over images using the first k samples, per k (only k = n without the sweep).
    pub per_k: Vec<PrefixScores>,
    /// Each image's scores with all n samples.
    pub per_image: Vec<Scores>,
}

impl DatasetReport {
    /// The official script's aggregate: the mean of per-batch means for `batch` consecutive images.
    ///
    /// # Panics
    /// If `batch` is 0.
    pub fn mean_of_batch_means(&self, batch: usize) -> Scores {
        assert!(batch > 0, "batch size must be positive");
        let means: Vec<Scores> = self.per_image.chunks(batch).map(Scores::mean).collect();
        Scores::mean(&means)
    }
}

/// Scores every image: for each image, its scores at every requested prefix (in increasing k).
///
/// # Shapes
/// `samples`: N×n×H×W soft values in [0, 1]; `annotations`: N×m×H×W, foreground iff > 0.
pub fn evaluate_images(
    samples: &[f32],
    annotations: &[u8],
    shape: DatasetShape,
    prefixes: Prefixes,
) -> Result<Vec<Vec<PrefixScores>>, MetricsError> {
    let DatasetShape {
        images,
        samples: n,
        annotators: m,
        height,
        width,
    } = shape;
    let pixels = height * width;
    if pixels == 0 {
        return Err(MetricsError::NoPixels { height, width });
    }
    if images == 0 {
        return Err(MetricsError::EmptySet { what: "images" });
    }
    let check = |what, len: usize, per: usize| {
        if len == images * per * pixels {
            Ok(())
        } else {
            Err(MetricsError::ShapeMismatch {
                what,
                len,
                shape: vec![images, per, height, width],
                expected: images * per * pixels,
            })
        }
    };
    check("samples", samples.len(), n)?;
    check("annotations", annotations.len(), m)?;
    (0..images)
        .into_par_iter()
        .map(|i| {
            ImageSet {
                samples: &samples[i * n * pixels..(i + 1) * n * pixels],
                annotations: &annotations[i * m * pixels..(i + 1) * m * pixels],
                n,
                m,
                pixels,
            }
            .evaluate(prefixes)
            .map_err(|e| match e {
                MetricsError::NotAProbability { index, value } => MetricsError::NotAProbability {
                    index: i * n * pixels + index,
                    value,
                },
                other => other,
            })
        })
        .collect()
}

/// Scores N images and averages over them.
///
/// # Shapes
/// `samples`: N×n×H×W soft values in [0, 1]; `annotations`: N×m×H×W, foreground iff > 0.
pub fn evaluate_dataset(
    samples: &[f32],
    annotations: &[u8],
    shape: DatasetShape,
    prefixes: Prefixes,
) -> Result<DatasetReport, MetricsError> {
    let rows = evaluate_images(samples, annotations, shape, prefixes)?;
    let per_k = (0..rows[0].len())
        .map(|r| PrefixScores {
            k: rows[0][r].k,
            scores: Scores::mean(rows.iter().map(|img| &img[r].scores)),
        })
        .collect::<Vec<_>>();
    let per_image: Vec<Scores> = rows.iter().map(|img| img[img.len() - 1].scores).collect();
    Ok(DatasetReport {
        images: shape.images,
        samples: shape.samples,
        annotators: shape.annotators,
        height: shape.height,
        width: shape.width,
        mean: Scores::mean(&per_image),
        per_k,
        per_image,
    })
}
