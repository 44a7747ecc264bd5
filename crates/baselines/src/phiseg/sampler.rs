//! PHiSeg sampling: z_{L−1..0} ~ prior (top-down), likelihood, sigmoid of s_0, for every
//! (image, sample) row in batched passes ([`crate::common::passes`]).
//!
//! Sample `j` uses `seeded_normal(level shape, seed, j·16 + l)` at level `l`, so requests are
//! prefix-consistent and reproducible.

use burn::tensor::Tensor;
use burn::tensor::activation::sigmoid;
use fmseg_model::{MethodId, SampleError, SampleSet, SegmentationSampler};

use super::model::Phiseg;
use crate::common::check_request;
use crate::common::passes::{DEFAULT_MAX_BATCH, Pass, PassSampler, sample_in_passes};

impl PassSampler for Phiseg {
    /// The images `[B, C, H, W]` (the prior net runs per sample, conditioned on the level above).
    type Context = Tensor<4>;

    fn check(&self, images: &Tensor<4>, count: usize) -> Result<(), SampleError> {
        let config = self.config();
        check_request(images, count, config.image_channels, config.image_size)
    }

    fn prepare(&self, images: Tensor<4>) -> Self::Context {
        images
    }

    fn draw(&self, images: &Self::Context, pass: &Pass, seed: u64) -> Tensor<4> {
        let device = images.device();
        let noise: Vec<Tensor<4>> = (0..self.config().latent_levels)
            .map(|l| {
                let [_, c, h, w] = self.latent_shape(1, l);
                pass.noise([c, h, w], seed, |j| j as u64 * 16 + l as u64, &device)
            })
            .collect();
        sigmoid(self.sample_logits(pass.select(images.clone()), &noise))
    }

    fn nfe(&self) -> usize {
        1
    }
}

impl SegmentationSampler for Phiseg {
    fn method(&self) -> MethodId {
        MethodId::Phiseg
    }

    fn sample(&self, images: Tensor<4>, count: usize, seed: u64) -> Result<SampleSet, SampleError> {
        sample_in_passes(self, images, count, seed, DEFAULT_MAX_BATCH)
    }
}
