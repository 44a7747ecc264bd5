//! PHiSeg sampling: z_{L−1..0} ~ prior (top-down), likelihood, sigmoid of s_0.
//!
//! Sample `j` uses `seeded_normal(level shape, seed, j·16 + l)` at level `l`, so requests are
//! prefix-consistent and reproducible.

use std::time::Instant;

use burn::tensor::Tensor;
use burn::tensor::activation::sigmoid;
use fmseg_model::{MethodId, SampleError, SampleSet, SegmentationSampler, seeded_normal};

use super::model::Phiseg;
use crate::common::{check_request, to_sample_set};

impl SegmentationSampler for Phiseg {
    fn method(&self) -> MethodId {
        MethodId::Phiseg
    }

    fn sample(&self, images: Tensor<4>, count: usize, seed: u64) -> Result<SampleSet, SampleError> {
        let start = Instant::now();
        let config = self.config();
        check_request(&images, count, config.image_channels, config.image_size)?;
        let device = images.device();
        let b = images.dims()[0];
        let masks = (0..count)
            .map(|j| {
                let noise: Vec<Tensor<4>> = (0..config.latent_levels)
                    .map(|l| {
                        let stream = (j as u64) * 16 + l as u64;
                        seeded_normal(self.latent_shape(b, l), seed, stream, &device)
                    })
                    .collect();
                sigmoid(self.sample_logits(images.clone(), &noise))
            })
            .collect();
        to_sample_set(masks, 1, start.elapsed().as_secs_f64())
    }
}
