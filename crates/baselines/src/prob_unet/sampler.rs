//! Prob-UNet sampling (Kohl et al. 2018 §2, "Sampling"): features once, fcomb per sample.
//!
//! Sample `j` of a call uses `z = μ_p + σ_p·ε_j` with `ε_j = seeded_normal([B, K], seed, j)`, so
//! the first `n` samples of a larger request are the same as an `n`-sample request.

use std::time::Instant;

use burn::tensor::Tensor;
use burn::tensor::activation::sigmoid;
use fmseg_model::{MethodId, SampleError, SampleSet, SegmentationSampler, seeded_normal};

use super::model::ProbUnet;
use crate::common::{check_request, to_sample_set};

impl SegmentationSampler for ProbUnet {
    fn method(&self) -> MethodId {
        MethodId::ProbUnet
    }

    fn sample(&self, images: Tensor<4>, count: usize, seed: u64) -> Result<SampleSet, SampleError> {
        let start = Instant::now();
        let config = self.config();
        check_request(&images, count, config.image_channels, config.image_size)?;
        let device = images.device();
        let b = images.dims()[0];
        let k = config.latent_dim;
        let features = self.features(images.clone());
        let prior = self.prior(images);
        let masks = (0..count)
            .map(|j| {
                let noise = seeded_normal([b, k, 1, 1], seed, j as u64, &device).reshape([b, k]);
                sigmoid(self.decode(features.clone(), prior.rsample(noise)))
            })
            .collect();
        to_sample_set(masks, 1, start.elapsed().as_secs_f64())
    }
}
