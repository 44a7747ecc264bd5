//! CIMD: "Ambiguous Medical Image Segmentation using Diffusion Models" (Rahman et al., CVPR
//! 2023, arXiv 2304.04745; paper-and-baselines §3.3), after the released
//! `guided_diffusion/gaussian_diffusion.py`, `script_util.py` and `distribution.py`.
//!
//! - **Diffusion** ([`schedule`]): DDPM over the mask channel (`x0 = 2·mask − 1`), linear β
//!   schedule (guided-diffusion's `1e-4·1000/T … 0.02·1000/T`), T = 1000 by default,
//!   ε-prediction (or, with `prediction: x0 | v`, x0- or v-prediction: [`Prediction`]) with
//!   **learned variance**: the denoiser outputs 2 channels (ε, v) and the
//!   reverse variance is `exp(f·log β_t + (1−f)·log β̃_t)`, `f = (v+1)/2` (improved DDPM).
//! - **Loss** ([`Cimd::loss`]): the improved-DDPM hybrid `MSE(ε) + λ·VB` (λ = `vb_weight` = 1 as
//!   guided-diffusion's un-rescaled MSE loss type; VB is the per-timestep term in bits/dim with
//!   the mean stopped, and the discretised-Gaussian decoder NLL at t = 0), plus
//!   `kl_weight·KL(q_AMN ‖ p_ACN)` with `kl_weight = 1/1000` (the released code).
//! - **Denoiser**: the flow model's guided-diffusion U-Net ([`fmseg_model::UNet`], built from
//!   a [`fmseg_model::UNetConfig`] with 2 output channels, additive time conditioning, conv
//!   resampling and legacy attention order as guided-diffusion's defaults), fed
//!   `cat([x_t, image, latent maps])` and the integer timestep. The released code stacks 4
//!   copies of the image; one copy of each channel is used here.
//! - **Ambiguity networks** ([`crate::common::AxisAlignedEncoder`], Prob-UNet style, filters
//!   `[32, 64, 128, 192]`, 3 convs, latent 6): the AMN (posterior) sees `cat([image, mask])`.
//!   - **Paper mode** (`code_faithful = false`): z ~ q_AMN is **broadcast over H×W and
//!     concatenated** to the denoiser's condition channels. The ACN (prior) sees
//!     `cat([image, x_t])` (the noisy estimate; it is available at sampling without a cycle).
//!     At sampling, each sample fixes one ε_z and uses `z = μ_ACN(x_t) + σ_ACN(x_t)·ε_z` at
//!     every step.
//!   - **Code mode** (`code_faithful = true`, the released code): the latent is **not** fed to
//!     the denoiser; the ACN sees `cat([image, ε̂])` so the KL reaches the U-Net only through
//!     ε̂; sampling is plain ancestral DDPM and ignores both encoders.
//! - **Sampling** ([`sampler`]): ancestral over `sampling_steps` respaced timesteps (improved
//!   DDPM respacing; all T steps when equal to T), or deterministic DDIM (η = 0); x̂0 clipped to
//!   [−1, 1]; the final x0 is mapped to `[0, 1]` by `(x + 1)/2`. NFE = `sampling_steps`.

mod config;
pub mod diagnostics;
mod losses;
mod model;
mod objective;
mod prediction;
mod sampler;
pub mod schedule;

pub use config::{CimdConfig, DiffusionSampler};
pub use diagnostics::Diagnosis;
pub use losses::{discretized_gaussian_log_likelihood, normal_kl};
pub use model::Cimd;
pub use objective::CimdObjective;
pub use prediction::{NoiseLevel, Prediction};
pub use schedule::Schedule;
