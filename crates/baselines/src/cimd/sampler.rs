//! CIMD sampling: reverse diffusion from pure noise over the (respaced) schedule.
//!
//! Sample `j` draws x_T from stream `j·2^32`, its latent noise ε_z (paper mode) from stream
//! `j·2^32 + 1` and the step-`k` ancestral noise from stream `j·2^32 + 2 + k` of
//! [`seeded_normal`], so requests are reproducible and prefix-consistent.

use std::time::Instant;

use burn::tensor::Tensor;
use fmseg_model::{MethodId, SampleError, SampleSet, SegmentationSampler, seeded_normal};

use super::config::DiffusionSampler;
use super::model::{Cimd, coef};
use crate::common::{check_request, to_sample_set};

impl Cimd {
    /// One sample per image `[B, 1, H, W]` in [0, 1], drawn with stream base `base`.
    fn sample_once(&self, images: Tensor<4>, seed: u64, base: u64) -> Tensor<4> {
        let device = images.device();
        let config = self.config();
        let [b, _, h, w] = images.dims();
        let s = self.schedule().respaced(config.sampling_steps);
        let mut x = seeded_normal([b, 1, h, w], seed, base, &device);
        let z_noise = seeded_normal([b, config.latent_dim, 1, 1], seed, base + 1, &device)
            .reshape([b, config.latent_dim]);
        let recip: Vec<f64> = s.alphas_cumprod.iter().map(|a| (1.0 / a).sqrt()).collect();
        let recipm1: Vec<f64> = s
            .alphas_cumprod
            .iter()
            .map(|a| (1.0 / a - 1.0).sqrt())
            .collect();
        let log_betas: Vec<f64> = s.betas.iter().map(|v| v.ln()).collect();
        let sqrt_prev: Vec<f64> = s.alphas_cumprod_prev.iter().map(|a| a.sqrt()).collect();
        let sqrt_1m_prev: Vec<f64> = s
            .alphas_cumprod_prev
            .iter()
            .map(|a| (1.0 - a).sqrt())
            .collect();
        for k in (0..s.len()).rev() {
            let steps = vec![k; b];
            let t = vec![s.timestep_map[k]; b];
            let z = (!config.code_faithful).then(|| {
                self.prior(images.clone(), x.clone())
                    .rsample(z_noise.clone())
            });
            let out = self.denoise(x.clone(), &t, images.clone(), z);
            let eps_hat = out.clone().narrow(1, 0, 1);
            let r = coef(&recip, &steps, &device);
            let rm1 = coef(&recipm1, &steps, &device);
            let x0_hat = (x.clone() * r.clone() - eps_hat * rm1.clone()).clamp(-1.0, 1.0);
            x = match config.sampler {
                DiffusionSampler::Ancestral => {
                    let frac = (out.narrow(1, 1, 1) + 1.0).mul_scalar(0.5);
                    let plv = coef(&s.posterior_log_variance_clipped, &steps, &device);
                    let lv =
                        frac.clone() * coef(&log_betas, &steps, &device) + (frac.neg() + 1.0) * plv;
                    let mean = x0_hat * coef(&s.posterior_mean_coef1, &steps, &device)
                        + x * coef(&s.posterior_mean_coef2, &steps, &device);
                    if k > 0 {
                        let noise = seeded_normal([b, 1, h, w], seed, base + 2 + k as u64, &device);
                        mean + lv.mul_scalar(0.5).exp() * noise
                    } else {
                        mean
                    }
                }
                DiffusionSampler::Ddim => {
                    let eps = (x * r - x0_hat.clone()) / rm1;
                    x0_hat * coef(&sqrt_prev, &steps, &device)
                        + eps * coef(&sqrt_1m_prev, &steps, &device)
                }
            };
        }
        ((x + 1.0).mul_scalar(0.5)).clamp(0.0, 1.0)
    }
}

impl SegmentationSampler for Cimd {
    fn method(&self) -> MethodId {
        MethodId::Cimd
    }

    fn sample(&self, images: Tensor<4>, count: usize, seed: u64) -> Result<SampleSet, SampleError> {
        let start = Instant::now();
        let config = self.config();
        check_request(&images, count, config.image_channels, config.image_size)?;
        let masks = (0..count)
            .map(|j| self.sample_once(images.clone(), seed, (j as u64) << 32))
            .collect();
        to_sample_set(masks, config.sampling_steps, start.elapsed().as_secs_f64())
    }
}
