//! CIMD sampling: reverse diffusion from pure noise over the (respaced) schedule, every
//! (image, sample) row of a pass denoised together ([`crate::common::passes`]).
//!
//! Sample `j` draws x_T from stream `j·2^32`, its latent noise ε_z (paper mode) from stream
//! `j·2^32 + 1` and the step-`k` ancestral noise from stream `j·2^32 + 2 + k` of
//! [`fmseg_model::seeded_normal`], so requests are reproducible and prefix-consistent. x_T and
//! ε_z are uploaded once per pass; the ancestral noise once per step (the whole trajectory's
//! would be `steps ×` the state). The per-step coefficients are computed once per request, in
//! f64 and applied as f32 scalars.

use burn::tensor::Tensor;
use fmseg_model::{MethodId, SampleError, SampleSet, SegmentationSampler};

use super::config::DiffusionSampler;
use super::model::{Cimd, coef};
use super::prediction::{NoiseLevel, Prediction};
use super::schedule::Schedule;
use crate::common::check_request;
use crate::common::passes::{DEFAULT_MAX_BATCH, Pass, PassSampler, sample_in_passes};

/// The respaced schedule's per-step constants (index = respaced step).
pub struct StepTable {
    schedule: Schedule,
    /// `sqrt(ᾱ)`.
    signal: Vec<f64>,
    /// `sqrt(1 − ᾱ)`.
    noise: Vec<f64>,
    /// `ln β`.
    log_betas: Vec<f64>,
    /// `sqrt(ᾱ_prev)`.
    sqrt_prev: Vec<f64>,
    /// `sqrt(1 − ᾱ_prev)`.
    sqrt_1m_prev: Vec<f64>,
}

impl StepTable {
    fn new(schedule: Schedule) -> Self {
        let map = |f: fn(f64) -> f64, v: &[f64]| v.iter().map(|&a| f(a)).collect::<Vec<_>>();
        Self {
            signal: map(f64::sqrt, &schedule.alphas_cumprod),
            noise: map(|a| (1.0 - a).sqrt(), &schedule.alphas_cumprod),
            log_betas: map(f64::ln, &schedule.betas),
            sqrt_prev: map(f64::sqrt, &schedule.alphas_cumprod_prev),
            sqrt_1m_prev: map(|a| (1.0 - a).sqrt(), &schedule.alphas_cumprod_prev),
            schedule,
        }
    }
}

/// The latent of a reverse trajectory (paper mode; code mode ignores it).
pub(super) enum Latent {
    /// `z = μ_ACN(image, x_t) + σ_ACN(image, x_t)·ε_z` at every step, with this ε_z `[rows, K]`
    /// (sampling).
    Prior(Tensor<2>),
    /// This z `[rows, K]` at every step (e.g. the posterior mean of an annotation: the
    /// reconstruction check of [`super::diagnostics`]).
    Fixed(Tensor<2>),
}

impl StepTable {
    /// The constants of `model`'s respaced sampling schedule.
    pub(super) fn of(model: &Cimd) -> Self {
        Self::new(model.schedule().respaced(model.config().sampling_steps))
    }
}

impl Cimd {
    /// The reverse process from `x` (x_T, `[rows, 1, H, W]`) for images `[rows, C, H, W]` over
    /// the respaced steps of `c`, with `latent` and, for the ancestral sampler, `step_noise(k)`
    /// (`[rows, 1, H, W]`) at step `k > 0`: the final x0 mapped to [0, 1].
    pub(super) fn reverse(
        &self,
        images: &Tensor<4>,
        c: &StepTable,
        mut x: Tensor<4>,
        latent: &Latent,
        step_noise: &dyn Fn(usize) -> Tensor<4>,
    ) -> Tensor<4> {
        let device = images.device();
        let config = self.config();
        let rows = x.dims()[0];
        let s = &c.schedule;
        for k in (0..s.len()).rev() {
            let t = vec![s.timestep_map[k]; rows];
            let z = (!config.code_faithful).then(|| match latent {
                Latent::Prior(z_noise) => self
                    .prior(images.clone(), x.clone())
                    .rsample(z_noise.clone()),
                Latent::Fixed(z) => z.clone(),
            });
            let out = self.denoise(x.clone(), &t, images.clone(), z);
            let level = NoiseLevel {
                signal: coef(&c.signal, &[k], &device),
                noise: coef(&c.noise, &[k], &device),
            };
            let x0_hat = config
                .prediction
                .x0_hat(out.clone().narrow(1, 0, 1), x.clone(), &level)
                .clamp(-1.0, 1.0);
            x = match config.sampler {
                DiffusionSampler::Ancestral => {
                    let frac = (out.narrow(1, 1, 1) + 1.0).mul_scalar(0.5);
                    let lv = frac.clone().mul_scalar(c.log_betas[k])
                        + (frac.neg() + 1.0).mul_scalar(s.posterior_log_variance_clipped[k]);
                    let mean = x0_hat.mul_scalar(s.posterior_mean_coef1[k])
                        + x.mul_scalar(s.posterior_mean_coef2[k]);
                    if k > 0 {
                        mean + lv.mul_scalar(0.5).exp() * step_noise(k)
                    } else {
                        mean
                    }
                }
                DiffusionSampler::Ddim => {
                    let eps = Prediction::eps_hat(x0_hat.clone(), x, &level);
                    x0_hat.mul_scalar(c.sqrt_prev[k]) + eps.mul_scalar(c.sqrt_1m_prev[k])
                }
            };
        }
        ((x + 1.0).mul_scalar(0.5)).clamp(0.0, 1.0)
    }
}

impl PassSampler for Cimd {
    /// The images `[B, C, H, W]` and the step constants.
    type Context = (Tensor<4>, StepTable);

    fn check(&self, images: &Tensor<4>, count: usize) -> Result<(), SampleError> {
        let config = self.config();
        check_request(images, count, config.image_channels, config.image_size)
    }

    fn prepare(&self, images: Tensor<4>) -> Self::Context {
        let table = StepTable::of(self);
        (images, table)
    }

    /// One reverse trajectory per row: `[rows, 1, H, W]` in [0, 1].
    fn draw(&self, (images, c): &Self::Context, pass: &Pass, seed: u64) -> Tensor<4> {
        let device = images.device();
        let [_, _, h, w] = images.dims();
        let rows = pass.rows();
        let latent = self.config().latent_dim;
        let images = pass.select(images.clone());
        let base = |j: usize| (j as u64) << 32;
        let x = pass.noise([1, h, w], seed, base, &device);
        let z_noise = pass
            .noise([latent, 1, 1], seed, |j| base(j) + 1, &device)
            .reshape([rows, latent]);
        let step_noise =
            |k: usize| pass.noise([1, h, w], seed, |j| base(j) + 2 + k as u64, &device);
        self.reverse(&images, c, x, &Latent::Prior(z_noise), &step_noise)
    }

    fn nfe(&self) -> usize {
        self.config().sampling_steps
    }
}

impl SegmentationSampler for Cimd {
    fn method(&self) -> MethodId {
        MethodId::Cimd
    }

    fn sample(&self, images: Tensor<4>, count: usize, seed: u64) -> Result<SampleSet, SampleError> {
        sample_in_passes(self, images, count, seed, DEFAULT_MAX_BATCH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cimd::CimdConfig;
    use burn::tensor::Device;

    /// The sampler's inputs are those of training: at respaced step k it feeds the denoiser the
    /// original timestep `timestep_map[k]` (an integer of the training range) and treats x as
    /// x_t with training's √ᾱ_t and √(1−ᾱ_t) at that timestep.
    #[test]
    fn respaced_steps_use_the_training_noise_levels() {
        let device = Device::flex();
        let config = CimdConfig {
            image_size: 32,
            model_channels: 32,
            channel_mult: vec![1, 2],
            num_res_blocks: 1,
            attention_resolutions: vec![],
            encoder_filters: vec![8],
            encoder_convs: 1,
            use_scale_shift_norm: true,
            sampling_steps: 7,
            ..CimdConfig::default()
        };
        let model = Cimd::new(&config, &device).unwrap();
        let table = StepTable::of(&model);
        assert_eq!(table.schedule.len(), 7);
        assert_eq!(table.schedule.timestep_map.first(), Some(&0));
        assert_eq!(
            table.schedule.timestep_map.last(),
            Some(&(config.timesteps - 1))
        );
        for (k, &t) in table.schedule.timestep_map.iter().enumerate() {
            let level = model.noise_level(&[t], &device);
            let signal = level.signal.into_scalar::<f32>();
            let noise = level.noise.into_scalar::<f32>();
            assert!((signal - table.signal[k] as f32).abs() < 1e-6, "step {k}");
            assert!((noise - table.noise[k] as f32).abs() < 1e-6, "step {k}");
        }
    }
}
