//! Prob-UNet sampling (Kohl et al. 2018 §2, "Sampling"): the U-Net features and the prior once
//! per request, then `fcomb` on `z = μ_p + σ_p·ε` for every (image, sample) row, in batched
//! passes ([`crate::common::passes`]).
//!
//! Sample `j` uses `ε_j = seeded_normal([B, K], seed, j)`, so the first `n` samples of a larger
//! request are the same as an `n`-sample request.

use burn::tensor::Tensor;
use burn::tensor::activation::sigmoid;
use fmseg_model::{MethodId, SampleError, SampleSet, SegmentationSampler};

use super::model::ProbUnet;
use crate::common::check_request;
use crate::common::passes::{DEFAULT_MAX_BATCH, Pass, PassSampler, sample_in_passes};
use crate::gaussian::DiagGaussian;

impl PassSampler for ProbUnet {
    /// The features `[B, F, H, W]` and the prior over `z` (`[B, K]`).
    type Context = (Tensor<4>, DiagGaussian<2>);

    fn check(&self, images: &Tensor<4>, count: usize) -> Result<(), SampleError> {
        let config = self.config();
        check_request(images, count, config.image_channels, config.image_size)
    }

    fn prepare(&self, images: Tensor<4>) -> Self::Context {
        (self.features(images.clone()), self.prior(images))
    }

    fn draw(&self, (features, prior): &Self::Context, pass: &Pass, seed: u64) -> Tensor<4> {
        let k = self.config().latent_dim;
        let device = features.device();
        let noise = pass.noise([k, 1, 1], seed, |j| j as u64, &device);
        let prior = DiagGaussian::new(
            pass.select(prior.mean.clone()),
            pass.select(prior.log_std.clone()),
        );
        let z = prior.rsample(noise.reshape([pass.rows(), k]));
        sigmoid(self.decode(pass.select(features.clone()), z))
    }

    fn nfe(&self) -> usize {
        1
    }
}

impl SegmentationSampler for ProbUnet {
    fn method(&self) -> MethodId {
        MethodId::ProbUnet
    }

    fn sample(&self, images: Tensor<4>, count: usize, seed: u64) -> Result<SampleSet, SampleError> {
        sample_in_passes(self, images, count, seed, DEFAULT_MAX_BATCH)
    }
}
