//! The Prob-UNet modules and its ELBO loss (Kohl et al. 2018 §2; paper-and-baselines §3.1).

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use fmseg_data::rng::Rng;
use fmseg_model::unet::Upsample;

use super::config::ProbUnetConfig;
use crate::common::{
    AxisAlignedEncoder, ConfigError, ConvBlock, ConvEncoder, LossOutput, Reduction,
    bce_with_logits, conv1x1, normal_tensor, tile_latent,
};
use crate::gaussian::DiagGaussian;

/// The Probabilistic U-Net.
#[derive(Module, Debug)]
pub struct ProbUnet {
    encoder: ConvEncoder,
    decoder: Vec<ConvBlock>,
    up: Upsample,
    prior: AxisAlignedEncoder,
    posterior: AxisAlignedEncoder,
    fcomb: Vec<Conv2d>,
    logits: Conv2d,
    #[module(skip)]
    config: ProbUnetConfig,
}

/// One training forward pass.
#[derive(Debug, Clone)]
pub struct ProbUnetForward {
    /// Logits `[B, 1, H, W]` decoded with z ~ q(z | x, y).
    pub logits: Tensor<4>,
    /// p(z | x), `[B, K]`.
    pub prior: DiagGaussian<2>,
    /// q(z | x, y), `[B, K]`.
    pub posterior: DiagGaussian<2>,
}

impl ProbUnet {
    /// A freshly initialised model, or the config field that is invalid.
    pub fn new(config: &ProbUnetConfig, device: &Device) -> Result<Self, ConfigError> {
        config.validate()?;
        let f = &config.filters;
        let (c, n, k) = (
            config.image_channels,
            config.convs_per_block,
            config.latent_dim,
        );
        let decoder = (0..f.len() - 1)
            .rev()
            .map(|i| ConvBlock::new(f[i + 1] + f[i], f[i], n, false, device))
            .collect();
        let mut fcomb = Vec::new();
        let mut width = f[0] + k;
        for _ in 0..config.fcomb_convs {
            fcomb.push(conv1x1(width, f[0], device));
            width = f[0];
        }
        Ok(Self {
            encoder: ConvEncoder::new(c, f, n, false, device),
            decoder,
            up: Upsample::new(1, false, device),
            prior: AxisAlignedEncoder::new(c, f, n, k, device),
            posterior: AxisAlignedEncoder::new(c + 1, f, n, k, device),
            fcomb,
            logits: conv1x1(width, 1, device),
            config: config.clone(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ProbUnetConfig {
        &self.config
    }

    /// The same weights with another reconstruction reduction.
    pub fn with_reduction(mut self, reduction: Reduction) -> Self {
        self.config.reduction = reduction;
        self
    }

    /// The U-Net's last feature map `[B, filters[0], H, W]` of images `[B, C, H, W]`.
    pub fn features(&self, images: Tensor<4>) -> Tensor<4> {
        let mut levels = self.encoder.forward_levels(images);
        let mut h = levels.pop().expect("at least one level (validated)");
        for block in &self.decoder {
            let skip = levels.pop().expect("one skip per decoder block");
            h = block.forward(Tensor::cat(vec![self.up.forward(h), skip], 1));
        }
        h
    }

    /// The prior p(z | x).
    pub fn prior(&self, images: Tensor<4>) -> DiagGaussian<2> {
        self.prior.forward(images)
    }

    /// The posterior q(z | x, y) for masks `[B, 1, H, W]` in {0, 1}.
    pub fn posterior(&self, images: Tensor<4>, masks: Tensor<4>) -> DiagGaussian<2> {
        self.posterior.forward(Tensor::cat(vec![images, masks], 1))
    }

    /// fcomb: logits `[B, 1, H, W]` from U-Net features and a latent `[B, K]`.
    pub fn decode(&self, features: Tensor<4>, z: Tensor<2>) -> Tensor<4> {
        let [_, _, h, w] = features.dims();
        let mut x = Tensor::cat(vec![features, tile_latent(z, h, w)], 1);
        for conv in &self.fcomb {
            x = relu(conv.forward(x));
        }
        self.logits.forward(x)
    }

    /// Training forward: z drawn from the posterior with standard normal `noise` `[B, K]`.
    pub fn forward_train(
        &self,
        images: Tensor<4>,
        masks: Tensor<4>,
        noise: Tensor<2>,
    ) -> ProbUnetForward {
        let features = self.features(images.clone());
        let prior = self.prior(images.clone());
        let posterior = self.posterior(images, masks);
        let z = posterior.rsample(noise);
        ProbUnetForward {
            logits: self.decode(features, z),
            prior,
            posterior,
        }
    }

    /// The negative ELBO `reconstruction + β·KL` for images `[B, C, H, W]` and one annotation
    /// per image `[B, 1, H, W]` in {0, 1}; the posterior noise comes from `rng`.
    ///
    /// Terms: `reconstruction` (BCE, reduced by `config.reduction`) and `kl` (batch mean).
    pub fn loss(&self, images: Tensor<4>, masks: Tensor<4>, rng: &mut Rng) -> LossOutput {
        let device = images.device();
        let b = images.dims()[0];
        let noise = normal_tensor(rng, [b, self.config.latent_dim], &device);
        let out = self.forward_train(images, masks.clone(), noise);
        let reconstruction = self
            .config
            .reduction
            .reduce(bce_with_logits(out.logits, masks));
        let kl = out.posterior.kl(&out.prior).mean();
        let total = reconstruction.clone() + kl.clone().mul_scalar(self.config.beta);
        LossOutput {
            total,
            terms: vec![("reconstruction", reconstruction), ("kl", kl)],
        }
    }
}
