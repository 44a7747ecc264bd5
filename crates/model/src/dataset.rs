//! Training data for the segmentation methods: a source of multi-rater items and the batch
//! builder of the official training loader (paper-and-baselines §1.3).
//!
//! The official loader shuffles once per epoch without replacement and drops the last partial
//! batch (`DistributedSampler` + `drop_last=True`); each `__getitem__` draws **one** of the
//! annotators uniformly (`--mask_type random`, empty masks included) and applies
//! `HorizontalFlip(p = 0.5)` to image and mask together. [`BatchBuilder`] does the same with the
//! version-stable [`Rng`](fmseg_data::rng::Rng): the permutation of epoch `e` is a pure function of `(seed, e)` and the
//! per-sample draws come from the step's generator, so a step's batch depends only on
//! `(seed, step)` and resuming needs no generator state beyond the step counter.

use fmseg_data::synth::{SynthConfig, SyntheticDataset};
use thiserror::Error;

/// Why a training source could not be built or batched.
#[derive(Debug, Error)]
pub enum DatasetError {
    /// The arrays do not have the stated shape.
    #[error("{what} has {found} values, the shape {shape:?} needs {expected}")]
    Shape {
        /// Which array.
        what: &'static str,
        /// The stated shape.
        shape: Vec<usize>,
        /// Values the shape needs.
        expected: usize,
        /// Values given.
        found: usize,
    },
    /// A count or size is out of range.
    #[error("invalid dataset: {0}")]
    Invalid(String),
    /// The synthetic generator rejected its configuration.
    #[error(transparent)]
    Data(#[from] fmseg_data::DataError),
}

/// A finite set of multi-rater training items, all `C×H×W` images with `M` binary masks.
pub trait TrainSource {
    /// Number of items N.
    fn len(&self) -> usize;
    /// Whether there are no items.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// `[C, H, W]` of every image.
    fn image_shape(&self) -> [usize; 3];
    /// Number of annotators M per item.
    fn raters(&self) -> usize;
    /// Item `i`: the image (`C×H×W`, values in [0, 1]) and its annotations (`M×H×W` in {0, 1}).
    fn item(&self, index: usize) -> (&[f32], &[u8]);
}

/// Items held in memory as two row-major arrays.
#[derive(Debug, Clone, PartialEq)]
pub struct InMemorySource {
    images: Vec<f32>,
    annotations: Vec<u8>,
    shape: [usize; 3],
    raters: usize,
    len: usize,
}

impl InMemorySource {
    /// From arrays `images` `[N, C, H, W]` and `annotations` `[N, M, H, W]` (nonzero = foreground).
    pub fn from_arrays(
        images: Vec<f32>,
        image_shape: [usize; 4],
        annotations: Vec<u8>,
        raters: usize,
    ) -> Result<Self, DatasetError> {
        let [n, c, h, w] = image_shape;
        if n == 0 || c == 0 || h == 0 || w == 0 || raters == 0 {
            return Err(DatasetError::Invalid(format!(
                "empty dimension in images {image_shape:?} or raters {raters}"
            )));
        }
        check_len("images", &images, &[n, c, h, w])?;
        check_len("annotations", &annotations, &[n, raters, h, w])?;
        let annotations = annotations.into_iter().map(|v| u8::from(v != 0)).collect();
        Ok(Self {
            images,
            annotations,
            shape: [c, h, w],
            raters,
            len: n,
        })
    }

    /// Items `start..start + count` of the synthetic dataset.
    pub fn from_synthetic(
        config: SynthConfig,
        start: u64,
        count: usize,
    ) -> Result<Self, DatasetError> {
        let dataset = SyntheticDataset::new(config.clone())?;
        let (c, s) = (dataset.channels(), config.size);
        let mut images = Vec::with_capacity(count * c * s * s);
        let mut annotations = Vec::with_capacity(count * config.raters * s * s);
        for i in 0..count as u64 {
            let sample = dataset.sample(start + i);
            images.extend_from_slice(&sample.image);
            annotations.extend_from_slice(&sample.annotations);
        }
        Self::from_arrays(images, [count, c, s, s], annotations, config.raters)
    }
}

fn check_len<T>(what: &'static str, data: &[T], shape: &[usize]) -> Result<(), DatasetError> {
    let expected: usize = shape.iter().product();
    if data.len() == expected {
        return Ok(());
    }
    Err(DatasetError::Shape {
        what,
        shape: shape.to_vec(),
        expected,
        found: data.len(),
    })
}

impl TrainSource for InMemorySource {
    fn len(&self) -> usize {
        self.len
    }
    fn image_shape(&self) -> [usize; 3] {
        self.shape
    }
    fn raters(&self) -> usize {
        self.raters
    }
    fn item(&self, index: usize) -> (&[f32], &[u8]) {
        let [c, h, w] = self.shape;
        let (img, ann) = (c * h * w, self.raters * h * w);
        (
            &self.images[index * img..(index + 1) * img],
            &self.annotations[index * ann..(index + 1) * ann],
        )
    }
}

/// One training batch on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// `[B, C, H, W]` images in [0, 1], row-major.
    pub images: Vec<f32>,
    /// `[B, 1, H, W]` masks of one annotator per sample, values in {0, 1}.
    pub masks: Vec<f32>,
    /// `[B, C, H, W]`.
    pub shape: [usize; 4],
    /// The source index of each sample.
    pub indices: Vec<usize>,
    /// The annotator drawn for each sample.
    pub raters: Vec<usize>,
    /// Whether each sample was flipped horizontally.
    pub flipped: Vec<bool>,
}

impl Batch {
    /// The batch split into `n` contiguous shards whose sizes differ by at most one (the first
    /// `B mod n` one larger); `n` is clamped to `1..=B`.
    pub fn shards(&self, n: usize) -> Vec<Batch> {
        let [b, c, h, w] = self.shape;
        let n = n.clamp(1, b.max(1));
        let (image, mask) = (c * h * w, h * w);
        let mut start = 0;
        (0..n)
            .map(|k| {
                let len = b / n + usize::from(k < b % n);
                let rows = start..start + len;
                start += len;
                Batch {
                    images: self.images[rows.start * image..rows.end * image].to_vec(),
                    masks: self.masks[rows.start * mask..rows.end * mask].to_vec(),
                    shape: [len, c, h, w],
                    indices: self.indices[rows.clone()].to_vec(),
                    raters: self.raters[rows.clone()].to_vec(),
                    flipped: self.flipped[rows].to_vec(),
                }
            })
            .collect()
    }
}

mod builder;
pub use builder::BatchBuilder;

#[cfg(test)]
mod shard_tests {
    use super::Batch;

    #[test]
    fn shards_are_contiguous_and_differ_by_at_most_one() {
        let b = 7;
        let batch = Batch {
            images: (0..b * 2).map(|v| v as f32).collect(),
            masks: (0..b).map(|v| v as f32).collect(),
            shape: [b, 2, 1, 1],
            indices: (10..10 + b).collect(),
            raters: vec![0; b],
            flipped: vec![false; b],
        };
        let shards = batch.shards(3);
        let sizes: Vec<usize> = shards.iter().map(|s| s.shape[0]).collect();
        assert_eq!(sizes, vec![3, 2, 2]);
        assert_eq!(shards[1].indices, vec![13, 14]);
        assert_eq!(shards[1].images, vec![6.0, 7.0, 8.0, 9.0]);
        assert_eq!(shards[2].masks, vec![5.0, 6.0]);
        assert_eq!(batch.shards(20).len(), 7, "at most one shard per row");
    }
}
