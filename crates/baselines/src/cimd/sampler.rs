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
use super::model::Cimd;
use super::schedule::Schedule;
use crate::common::check_request;
use crate::common::passes::{DEFAULT_MAX_BATCH, Pass, PassSampler, sample_in_passes};

/// The respaced schedule's per-step constants (index = respaced step).
pub struct StepTable {
    schedule: Schedule,
    /// `sqrt(1/ᾱ)`.
    recip: Vec<f64>,
    /// `sqrt(1/ᾱ − 1)`.
    recip_m1: Vec<f64>,
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
            recip: map(|a| (1.0 / a).sqrt(), &schedule.alphas_cumprod),
            recip_m1: map(|a| (1.0 / a - 1.0).sqrt(), &schedule.alphas_cumprod),
            log_betas: map(f64::ln, &schedule.betas),
            sqrt_prev: map(f64::sqrt, &schedule.alphas_cumprod_prev),
            sqrt_1m_prev: map(|a| (1.0 - a).sqrt(), &schedule.alphas_cumprod_prev),
            schedule,
        }
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
        let schedule = self.schedule().respaced(self.config().sampling_steps);
        (images, StepTable::new(schedule))
    }

    /// One reverse trajectory per row: `[rows, 1, H, W]` in [0, 1].
    fn draw(&self, (images, c): &Self::Context, pass: &Pass, seed: u64) -> Tensor<4> {
        let device = images.device();
        let config = self.config();
        let [_, _, h, w] = images.dims();
        let rows = pass.rows();
        let latent = config.latent_dim;
        let images = pass.select(images.clone());
        let s = &c.schedule;
        let base = |j: usize| (j as u64) << 32;
        let mut x = pass.noise([1, h, w], seed, base, &device);
        let z_noise = pass
            .noise([latent, 1, 1], seed, |j| base(j) + 1, &device)
            .reshape([rows, latent]);
        for k in (0..s.len()).rev() {
            let t = vec![s.timestep_map[k]; rows];
            let z = (!config.code_faithful).then(|| {
                self.prior(images.clone(), x.clone())
                    .rsample(z_noise.clone())
            });
            let out = self.denoise(x.clone(), &t, images.clone(), z);
            let eps_hat = out.clone().narrow(1, 0, 1);
            let x0_hat = (x.clone().mul_scalar(c.recip[k]) - eps_hat.mul_scalar(c.recip_m1[k]))
                .clamp(-1.0, 1.0);
            x = match config.sampler {
                DiffusionSampler::Ancestral => {
                    let frac = (out.narrow(1, 1, 1) + 1.0).mul_scalar(0.5);
                    let lv = frac.clone().mul_scalar(c.log_betas[k])
                        + (frac.neg() + 1.0).mul_scalar(s.posterior_log_variance_clipped[k]);
                    let mean = x0_hat.mul_scalar(s.posterior_mean_coef1[k])
                        + x.mul_scalar(s.posterior_mean_coef2[k]);
                    if k > 0 {
                        let step = |j: usize| base(j) + 2 + k as u64;
                        let noise = pass.noise([1, h, w], seed, step, &device);
                        mean + lv.mul_scalar(0.5).exp() * noise
                    } else {
                        mean
                    }
                }
                DiffusionSampler::Ddim => {
                    let eps = (x.mul_scalar(c.recip[k]) - x0_hat.clone()).div_scalar(c.recip_m1[k]);
                    x0_hat.mul_scalar(c.sqrt_prev[k]) + eps.mul_scalar(c.sqrt_1m_prev[k])
                }
            };
        }
        ((x + 1.0).mul_scalar(0.5)).clamp(0.0, 1.0)
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
