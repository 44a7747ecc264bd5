//! The CIMD model and its hybrid diffusion + ambiguity loss (§3.3; guided-diffusion
//! `training_losses`, CIMD's `distribution.py`).

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use fmseg_data::rng::Rng;
use fmseg_model::UNet;

use super::config::CimdConfig;
use super::losses::{discretized_gaussian_log_likelihood, normal_kl};
use super::prediction::NoiseLevel;
use super::schedule::Schedule;
use crate::common::{AxisAlignedEncoder, ConfigError, LossOutput, normal_tensor, tile_latent};
use crate::gaussian::DiagGaussian;

/// CIMD: the diffusion denoiser with its ambiguity modelling (AMN, posterior) and controlling
/// (ACN, prior) networks.
#[derive(Module, Debug)]
pub struct Cimd {
    denoiser: UNet,
    amn: AxisAlignedEncoder,
    acn: AxisAlignedEncoder,
    #[module(skip)]
    config: CimdConfig,
    #[module(skip)]
    schedule: Schedule,
}

/// Per-batch-element schedule values as a `[B, 1, 1, 1]` tensor.
pub(crate) fn coef(values: &[f64], t: &[usize], device: &Device) -> Tensor<4> {
    let v: Vec<f32> = t.iter().map(|&i| values[i] as f32).collect();
    let n = v.len();
    Tensor::from_data(TensorData::new(v, [n, 1, 1, 1]), device)
}

impl Cimd {
    /// A freshly initialised model, or the config field that is invalid.
    pub fn new(config: &CimdConfig, device: &Device) -> Result<Self, ConfigError> {
        config.validate()?;
        let denoiser = config.unet_config().try_init(device).map_err(|e| {
            ConfigError::new("model_channels", config.model_channels, e.to_string())
        })?;
        let (c, f, n, k) = (
            config.image_channels,
            &config.encoder_filters,
            config.encoder_convs,
            config.latent_dim,
        );
        Ok(Self {
            denoiser,
            amn: AxisAlignedEncoder::new(c + 1, f, n, k, device),
            acn: AxisAlignedEncoder::new(c + 1, f, n, k, device),
            config: config.clone(),
            schedule: Schedule::linear(config.timesteps),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &CimdConfig {
        &self.config
    }

    /// The full training schedule.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// AMN posterior q(z | image, mask) for masks `[B, 1, H, W]` in {0, 1}.
    pub fn posterior(&self, images: Tensor<4>, masks: Tensor<4>) -> DiagGaussian<2> {
        self.amn.forward(Tensor::cat(vec![images, masks], 1))
    }

    /// ACN prior p(z | image, estimate): the estimate is x_t (paper mode) or the denoiser's
    /// prediction (code mode: ε̂ as the released code, or x̂0 / v̂ under another target).
    pub fn prior(&self, images: Tensor<4>, estimate: Tensor<4>) -> DiagGaussian<2> {
        self.acn.forward(Tensor::cat(vec![images, estimate], 1))
    }

    /// The denoiser output `[B, 2, H, W]` (ε̂, variance interpolation v) for noisy masks `x_t`
    /// `[B, 1, H, W]` at original timesteps `t`, images and (paper mode) a latent `[B, K]`.
    pub fn denoise(
        &self,
        x_t: Tensor<4>,
        t: &[usize],
        images: Tensor<4>,
        z: Option<Tensor<2>>,
    ) -> Tensor<4> {
        let device = x_t.device();
        let [_, _, h, w] = x_t.dims();
        let times: Vec<f32> = t.iter().map(|&i| i as f32).collect();
        let n = times.len();
        let t = Tensor::<1>::from_data(TensorData::new(times, [n]), &device);
        let condition = match (self.config.code_faithful, z) {
            (false, Some(z)) => Tensor::cat(vec![images, tile_latent(z, h, w)], 1),
            _ => images,
        };
        self.denoiser.forward(x_t, t, condition)
    }

    /// `MSE(target) + vb_weight·VB + kl_weight·KL(q_AMN ‖ p_ACN)` for images `[B, C, H, W]` and
    /// one annotation per image `[B, 1, H, W]` in {0, 1}; the target is ε, x0 or v
    /// ([`super::Prediction`]). `rng` draws t ~ U{0..T−1}, ε and the latent noise. Terms: `mse`,
    /// `vb` (bits/dim), `kl` (batch mean, unweighted).
    pub fn loss(&self, images: Tensor<4>, masks: Tensor<4>, rng: &mut Rng) -> LossOutput {
        let device = images.device();
        let [b, _, h, w] = masks.dims();
        let s = &self.schedule;
        let t: Vec<usize> = (0..b).map(|_| rng.below(s.len())).collect();
        let eps = normal_tensor(rng, [b, 1, h, w], &device);
        let z_noise = normal_tensor(rng, [b, self.config.latent_dim], &device);
        let x0 = masks.clone().mul_scalar(2.0) - 1.0;
        let level = self.noise_level(&t, &device);
        let x_t = x0.clone() * level.signal.clone() + eps.clone() * level.noise.clone();

        let q = self.posterior(images.clone(), masks);
        let z = (!self.config.code_faithful).then(|| q.rsample(z_noise));
        let out = self.denoise(x_t.clone(), &t, images.clone(), z);
        let prediction = out.clone().narrow(1, 0, 1);
        let v = out.narrow(1, 1, 1);
        let p = if self.config.code_faithful {
            self.prior(images, prediction.clone())
        } else {
            self.prior(images, x_t.clone())
        };

        let kind = self.config.prediction;
        let target = kind.target(x0.clone(), eps, &level);
        let mse = (target - prediction.clone()).square().mean();
        let x0_hat = kind.x0_hat(prediction.detach(), x_t.clone(), &level);
        let vb = self.vb_term(x0, x_t, x0_hat, v, &t);
        let kl = q.kl(&p).mean();
        let total = mse.clone()
            + vb.clone().mul_scalar(self.config.vb_weight)
            + kl.clone().mul_scalar(self.config.kl_weight);
        LossOutput {
            total,
            terms: vec![("mse", mse), ("vb", vb), ("kl", kl)],
        }
    }

    /// √ᾱ_t and √(1−ᾱ_t) of the training schedule for timesteps `t`, `[B, 1, 1, 1]`.
    pub fn noise_level(&self, t: &[usize], device: &Device) -> NoiseLevel {
        let (signal, noise): (Vec<f64>, Vec<f64>) = t
            .iter()
            .map(|&i| {
                let a = self.schedule.alphas_cumprod[i];
                (a.sqrt(), (1.0 - a).sqrt())
            })
            .unzip();
        let rows: Vec<usize> = (0..t.len()).collect();
        NoiseLevel {
            signal: coef(&signal, &rows, device),
            noise: coef(&noise, &rows, device),
        }
    }

    /// guided-diffusion's `_vb_terms_bpd` with the mean frozen (`x0_hat` detached, unclipped):
    /// KL(q(x_{t−1}|x_t, x0) ‖ p(x_{t−1}|x_t)) for t > 0 and the decoder NLL at t = 0, mean
    /// over pixels and batch, in bits.
    fn vb_term(
        &self,
        x0: Tensor<4>,
        x_t: Tensor<4>,
        x0_hat: Tensor<4>,
        v: Tensor<4>,
        t: &[usize],
    ) -> Tensor<1> {
        let device = x0.device();
        let s = &self.schedule;
        let log_betas: Vec<f64> = s.betas.iter().map(|b| b.ln()).collect();
        let c1 = coef(&s.posterior_mean_coef1, t, &device);
        let c2 = coef(&s.posterior_mean_coef2, t, &device);
        let plv = coef(&s.posterior_log_variance_clipped, t, &device);
        let model_mean = x0_hat * c1.clone() + x_t.clone() * c2.clone();
        let frac = (v + 1.0).mul_scalar(0.5);
        let model_lv =
            frac.clone() * coef(&log_betas, t, &device) + (frac.neg() + 1.0) * plv.clone();
        let true_mean = x0.clone() * c1 + x_t * c2;
        let kl = normal_kl(true_mean, plv, model_mean.clone(), model_lv.clone());
        let nll =
            discretized_gaussian_log_likelihood(x0, model_mean, model_lv.mul_scalar(0.5)).neg();
        let first: Vec<f64> = t.iter().map(|&i| if i == 0 { 1.0 } else { 0.0 }).collect();
        let idx: Vec<usize> = (0..t.len()).collect();
        let w0 = coef(&first, &idx, &device);
        let per_pixel = nll * w0.clone() + kl * (w0.neg() + 1.0);
        per_pixel.mean().div_scalar(std::f64::consts::LN_2)
    }
}
