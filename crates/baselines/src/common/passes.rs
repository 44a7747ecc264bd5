//! Batched sampling for the baselines: the `B × n` (image, sample) pairs of a request are drawn
//! in network passes of at most `max_batch` rows, each pass's noise built on the host and
//! uploaded once, and the masks read back once per request.
//!
//! **Passes.** Images are split into blocks of `nb = min(B, max_batch)` and, within a block,
//! samples into groups of `k = max(1, max_batch / nb)`; a pass is one block × one group, its
//! rows sample-major (`row = (j − j0)·nb + (i − i0)`). A request of 8 images × 16 samples with
//! `max_batch` 64 is two passes of 64 rows instead of 16 passes of 8.
//!
//! **Noise.** The draws are those of the unbatched samplers: sample `j`'s noise for the whole
//! request is `seeded_normal([B, ...], seed, stream(j))` (each method names its streams), and a
//! pass takes its block's rows of it, so results do not depend on `max_batch` (up to the float
//! summation order of the backend) and every prefix of a sample-count sweep is the same.

use std::ops::Range;
use std::time::Instant;

use burn::tensor::{Device, Int, Tensor, TensorData};
use fmseg_model::{MethodId, SampleError, SampleSet, SegmentationSampler, seeded_normal_values};

/// The default bound on rows per network pass (as the flow sampler's `max_batch`).
pub const DEFAULT_MAX_BATCH: usize = 64;

/// One network pass: a block of images × a group of samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pass {
    /// The images of the block (indices into the request).
    pub images: Range<usize>,
    /// The samples of the group.
    pub samples: Range<usize>,
}

impl Pass {
    /// Rows of the pass: `samples × images`.
    pub fn rows(&self) -> usize {
        self.images.len() * self.samples.len()
    }

    /// The request image of each row, `[rows]` (sample-major).
    pub fn image_index(&self, device: &Device) -> Tensor<1, Int> {
        let rows: Vec<i64> = self
            .samples
            .clone()
            .flat_map(|_| self.images.clone().map(|i| i as i64))
            .collect();
        Tensor::from_data(rows.as_slice(), device)
    }

    /// The rows of a per-image tensor `[B, ...]` for this pass: `[rows, ...]`.
    pub fn select<const D: usize>(&self, per_image: Tensor<D>) -> Tensor<D> {
        let index = self.image_index(&per_image.device());
        per_image.select(0, index)
    }

    /// The pass's standard-normal noise `[rows, d1, d2, d3]`: for each sample `j` the block's
    /// rows of `seeded_normal([B, d1, d2, d3], seed, stream(j))`, uploaded in one transfer.
    pub fn noise(
        &self,
        per_image: [usize; 3],
        seed: u64,
        stream: impl Fn(usize) -> u64,
        device: &Device,
    ) -> Tensor<4> {
        let per: usize = per_image.iter().product();
        let mut values = Vec::with_capacity(self.rows() * per);
        for j in self.samples.clone() {
            let upto = self.images.end * per;
            let all = seeded_normal_values(upto, seed, stream(j));
            values.extend_from_slice(&all[self.images.start * per..upto]);
        }
        let [d1, d2, d3] = per_image;
        Tensor::from_data(TensorData::new(values, [self.rows(), d1, d2, d3]), device)
    }
}

/// The passes of a request of `b` images × `count` samples with at most `max_batch` rows each
/// (`max_batch` ≥ 1), grouped by image block: `blocks[i]` covers every sample of its images.
pub fn plan_passes(b: usize, count: usize, max_batch: usize) -> Vec<Vec<Pass>> {
    let nb = b.min(max_batch).max(1);
    let k = (max_batch / nb).clamp(1, count.max(1));
    (0..b)
        .step_by(nb)
        .map(|i0| {
            (0..count)
                .step_by(k)
                .map(|j0| Pass {
                    images: i0..(i0 + nb).min(b),
                    samples: j0..(j0 + k).min(count),
                })
                .collect()
        })
        .collect()
}

/// A baseline's sampler, split into per-request work and per-pass draws.
pub trait PassSampler {
    /// What is computed once per request (features, the prior, constant tables).
    type Context;
    /// Refuses a request the model cannot serve.
    fn check(&self, images: &Tensor<4>, count: usize) -> Result<(), SampleError>;
    /// The per-request work for images `[B, C, H, W]`.
    fn prepare(&self, images: Tensor<4>) -> Self::Context;
    /// Soft masks `[rows, 1, H, W]` in [0, 1] for the pass's rows (sample-major).
    fn draw(&self, context: &Self::Context, pass: &Pass, seed: u64) -> Tensor<4>;
    /// Network evaluations per sample.
    fn nfe(&self) -> usize;
}

/// Draws `count` samples per image in passes of at most `max_batch` rows (module docs).
///
/// # Shapes
/// `images`: `[B, C, H, W]` → `SampleSet::shape = [B, count, H, W]`.
pub fn sample_in_passes<M: PassSampler>(
    model: &M,
    images: Tensor<4>,
    count: usize,
    seed: u64,
    max_batch: usize,
) -> Result<SampleSet, SampleError> {
    let start = Instant::now();
    model.check(&images, count)?;
    if max_batch == 0 {
        return Err(SampleError::InvalidRequest(
            "max_batch must be at least 1".into(),
        ));
    }
    let [b, _, h, w] = images.dims();
    let context = model.prepare(images);
    let blocks: Vec<Tensor<4>> = plan_passes(b, count, max_batch)
        .iter()
        .map(|block| {
            let groups = block
                .iter()
                .map(|pass| {
                    let masks = model.draw(&context, pass, seed); // [k·nb, 1, H, W]
                    let [k, nb] = [pass.samples.len(), pass.images.len()];
                    masks.reshape([k, nb, h, w]).swap_dims(0, 1) // [nb, k, H, W]
                })
                .collect();
            Tensor::cat(groups, 1) // [nb, n, H, W]
        })
        .collect();
    let stacked = Tensor::cat(blocks, 0).clamp(0.0, 1.0); // [B, n, H, W]
    let values = stacked
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| SampleError::Readback(format!("{e:?}")))?;
    Ok(SampleSet {
        masks: values,
        shape: [b, count, h, w],
        nfe: model.nfe(),
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// A baseline with its pass bound: the sampler a model folder loads into.
pub struct Batched<M> {
    /// The model.
    pub model: M,
    /// Rows per network pass (≥ 1).
    pub max_batch: usize,
}

impl<M: PassSampler + SegmentationSampler> SegmentationSampler for Batched<M> {
    fn method(&self) -> MethodId {
        self.model.method()
    }

    fn sample(&self, images: Tensor<4>, count: usize, seed: u64) -> Result<SampleSet, SampleError> {
        sample_in_passes(&self.model, images, count, seed, self.max_batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_cover_every_pair_once_within_the_bound() {
        for (b, n, max) in [(8, 16, 64), (8, 16, 5), (3, 7, 1), (1, 1, 64), (10, 3, 4)] {
            let passes = plan_passes(b, n, max);
            let mut seen = vec![0usize; b * n];
            for p in passes.iter().flatten() {
                assert!(p.rows() <= max.max(1), "{p:?} exceeds {max}");
                for i in p.images.clone() {
                    for j in p.samples.clone() {
                        seen[i * n + j] += 1;
                    }
                }
            }
            assert!(seen.iter().all(|&c| c == 1), "{b}×{n} max {max}: {seen:?}");
        }
        assert_eq!(plan_passes(8, 16, 64).iter().flatten().count(), 2);
    }

    #[test]
    fn pass_noise_is_the_block_rows_of_the_whole_request_draw() {
        let device = Device::flex();
        let pass = Pass {
            images: 1..3,
            samples: 2..4,
        };
        let got = pass
            .noise([2, 1, 1], 9, |j| j as u64 * 16, &device)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let mut want = Vec::new();
        for j in 2..4u64 {
            let all = fmseg_model::seeded_normal([4, 2, 1, 1], 9, j * 16, &device)
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            want.extend_from_slice(&all[2..6]);
        }
        assert_eq!(got, want);
        let index: Vec<i64> = pass
            .image_index(&device)
            .into_data()
            .iter::<i64>()
            .collect();
        assert_eq!(index, vec![1, 2, 1, 2]);
    }
}
