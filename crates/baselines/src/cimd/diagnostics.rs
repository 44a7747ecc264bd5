//! Checks of a trained CIMD model that catch the failures of `../shared/docs/cimd-diagnosis.md`
//! (issue 13): does sampling reproduce what training taught, does the latent carry information,
//! and is the denoiser better than a trivial guess at every noise level.
//!
//! - **Reconstruction**: each (training image, annotation) pair sampled with z fixed to the
//!   annotation's posterior mean μ_AMN(image, mask) instead of the prior: with a working model the
//!   sample reproduces that annotation (Dice at 0.5). The same trajectories with the prior latent
//!   give the baseline the latent must beat.
//! - **Latents**: KL(q_AMN ‖ p_ACN) where p sees x_t of the annotation at several timesteps, and
//!   the moments of both distributions' means and standard deviations. A collapsed posterior
//!   (KL ≈ 0 and means that do not vary across annotations) carries no diversity.
//! - **Denoising error by timestep**: the MSE of x̂0 against the true x0 in [−1, 1] at each
//!   timestep of a grid, next to that of the trivial "all background" guess. Where the model
//!   does worse than the trivial guess, sampling starts from noise it cannot undo.
//! - **First sampling step**: the foreground fraction of x̂0 at t = T − 1 against the annotations'.
//!
//! Every draw comes from `seed`, so a diagnosis is reproducible.

use burn::tensor::{Device, Tensor, TensorData};
use fmseg_model::seeded_normal;
use serde::Serialize;

use super::model::Cimd;
use super::sampler::{Latent, StepTable};
use crate::gaussian::DiagGaussian;

/// Moments of a batch of diagonal Gaussians over rows and latent dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatentMoments {
    /// Mean of μ.
    pub mean_of_means: f64,
    /// Standard deviation of μ across rows and dimensions.
    pub sd_of_means: f64,
    /// Mean of σ.
    pub mean_of_sds: f64,
}

/// The latents at one timestep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatentCheck {
    /// Original timestep of the x_t the prior saw.
    pub t: usize,
    /// Mean KL(q ‖ p) over the pairs, nats.
    pub kl: f64,
    /// The prior's moments.
    pub prior: LatentMoments,
}

/// The denoiser's x̂0 error at one timestep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DenoiseCheck {
    /// Original timestep.
    pub t: usize,
    /// MSE of the (clipped) x̂0 against x0 in [−1, 1].
    pub model_mse: f64,
    /// MSE of the all-background guess x̂0 = −1.
    pub trivial_mse: f64,
}

/// Everything [`Cimd::diagnose`] measures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnosis {
    /// (image, annotation) pairs examined.
    pub pairs: usize,
    /// Mean Dice of the posterior-latent sample with its annotation (empty vs empty = 1).
    pub reconstruction_dice: f64,
    /// Mean Dice of the prior-latent sample (same x_T) with the annotation.
    pub prior_dice: f64,
    /// The posterior's moments.
    pub posterior: LatentMoments,
    /// KL and prior moments at three timesteps of the grid (first, middle, last).
    pub latents: Vec<LatentCheck>,
    /// x̂0 error against the trivial guess at a grid of timesteps.
    pub denoising: Vec<DenoiseCheck>,
    /// Foreground fraction (x̂0 > 0) at the first sampling step, from x_T.
    pub first_step_foreground: f64,
    /// Foreground fraction of the annotations.
    pub annotation_foreground: f64,
}

fn host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap_or_default()
}

fn moments(g: &DiagGaussian<2>) -> LatentMoments {
    let means = host(g.mean.clone());
    let sds = host(g.std());
    let n = means.len().max(1) as f64;
    let mean = means.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = means
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    LatentMoments {
        mean_of_means: mean,
        sd_of_means: var.sqrt(),
        mean_of_sds: sds.iter().map(|&v| f64::from(v)).sum::<f64>() / sds.len().max(1) as f64,
    }
}

/// Mean Dice at 0.5 of each `plane`-sized row of `a` with the same row of `b` (both empty: 1).
pub fn mean_dice(a: &[f32], b: &[f32], plane: usize) -> f64 {
    let rows = a.len() / plane.max(1);
    let mut sum = 0.0;
    for r in 0..rows {
        let (mut both, mut total) = (0usize, 0usize);
        for i in r * plane..(r + 1) * plane {
            let (x, y) = (a[i] > 0.5, b[i] > 0.5);
            both += usize::from(x && y);
            total += usize::from(x) + usize::from(y);
        }
        sum += if total == 0 {
            1.0
        } else {
            2.0 * both as f64 / total as f64
        };
    }
    sum / rows.max(1) as f64
}

impl Cimd {
    /// Diagnoses the model on `images` `[P, C, H, W]` paired with one annotation each, `masks`
    /// `[P, 1, H, W]` in {0, 1} (repeat an image once per annotation), drawing every noise from
    /// `seed`. `device` is a plain (non-autodiff) device.
    pub fn diagnose(&self, images: Tensor<4>, masks: Tensor<4>, seed: u64) -> Diagnosis {
        let device = images.device();
        let [p, _, h, w] = masks.dims();
        let plane = h * w;
        let k = self.config().latent_dim;
        let x0 = masks.clone().mul_scalar(2.0) - 1.0;
        let truth = host(masks.clone());

        let q = self.posterior(images.clone(), masks.clone());
        let table = StepTable::of(self);
        let x_t = seeded_normal([p, 1, h, w], seed, 0, &device);
        let z_noise = seeded_normal([p, k, 1, 1], seed, 1, &device).reshape([p, k]);
        let step_noise = |step: usize| seeded_normal([p, 1, h, w], seed, 2 + step as u64, &device);
        let recon = self.reverse(
            &images,
            &table,
            x_t.clone(),
            &Latent::Fixed(q.mean.clone()),
            &step_noise,
        );
        let prior = self.reverse(
            &images,
            &table,
            x_t.clone(),
            &Latent::Prior(z_noise),
            &step_noise,
        );

        let last = self.schedule().len() - 1;
        let eps = seeded_normal([p, 1, h, w], seed, u64::MAX, &device);
        let mut latents = Vec::new();
        let mut denoising = Vec::new();
        let grid: Vec<usize> = (0..10).map(|i| i * last / 9).collect();
        let mse = |a: Tensor<4>| f64::from((a - x0.clone()).square().mean().into_scalar::<f32>());
        // the all-background guess does not depend on t
        let trivial_mse = mse(Tensor::full([p, 1, h, w], -1.0, &device));
        let z = (!self.config().code_faithful).then(|| q.mean.clone());
        for &t in &grid {
            let ts = vec![t; p];
            let level = self.noise_level(&ts, &device);
            let noisy = x0.clone() * level.signal.clone() + eps.clone() * level.noise.clone();
            let out = self.denoise(noisy.clone(), &ts, images.clone(), z.clone());
            let x0_hat = self
                .config()
                .prediction
                .x0_hat(out.clone().narrow(1, 0, 1), noisy.clone(), &level)
                .clamp(-1.0, 1.0);
            denoising.push(DenoiseCheck {
                t,
                model_mse: mse(x0_hat),
                trivial_mse,
            });
            if [grid[0], grid[5], grid[9]].contains(&t) {
                let estimate = if self.config().code_faithful {
                    out.narrow(1, 0, 1)
                } else {
                    noisy
                };
                let prior = self.prior(images.clone(), estimate);
                latents.push(LatentCheck {
                    t,
                    kl: f64::from(q.kl(&prior).mean().into_scalar::<f32>()),
                    prior: moments(&prior),
                });
            }
        }

        let first = {
            let ts = vec![last; p];
            let level = self.noise_level(&ts, &device);
            let out = self.denoise(x_t.clone(), &ts, images.clone(), z);
            let x0_hat = self
                .config()
                .prediction
                .x0_hat(out.narrow(1, 0, 1), x_t, &level);
            host(x0_hat.greater_elem(0.0).float())
        };
        let fraction = |v: &[f32]| v.iter().filter(|&&x| x > 0.5).count() as f64 / v.len() as f64;
        Diagnosis {
            pairs: p,
            reconstruction_dice: mean_dice(&host(recon), &truth, plane),
            prior_dice: mean_dice(&host(prior), &truth, plane),
            posterior: moments(&q),
            latents,
            denoising,
            first_step_foreground: fraction(&first),
            annotation_foreground: fraction(&truth),
        }
    }
}

/// A diagnosis's device-free inputs: `images` `[N, C, H, W]` and `annotations` `[N, M, H, W]`
/// (u8 in {0, 1}) as the `N·M` (image, annotation) pairs of [`Cimd::diagnose`].
pub fn pairs(
    images: &[f32],
    annotations: &[u8],
    [n, c, h, w]: [usize; 4],
    m: usize,
    device: &Device,
) -> (Tensor<4>, Tensor<4>) {
    let (plane, image) = (h * w, c * h * w);
    let mut img = Vec::with_capacity(n * m * image);
    let mut ann = Vec::with_capacity(n * m * plane);
    for i in 0..n {
        for a in 0..m {
            img.extend_from_slice(&images[i * image..(i + 1) * image]);
            let at = (i * m + a) * plane;
            ann.extend(annotations[at..at + plane].iter().map(|&v| f32::from(v)));
        }
    }
    (
        Tensor::from_data(TensorData::new(img, [n * m, c, h, w]), device),
        Tensor::from_data(TensorData::new(ann, [n * m, 1, h, w]), device),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dice_of_rows() {
        let a = [1.0, 1.0, 0.0, 0.0, /* row 2 */ 0.0, 0.0, 0.0, 0.0];
        let b = [1.0, 0.0, 0.0, 0.0, /* row 2 */ 0.0, 0.0, 0.0, 0.0];
        // row 1: 2·1/3; row 2: both empty = 1.
        assert!((mean_dice(&a, &b, 4) - (2.0 / 3.0 + 1.0) / 2.0).abs() < 1e-12);
    }
}
