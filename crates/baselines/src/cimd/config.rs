//! CIMD hyper-parameters with the released defaults (`script_util.py`, README, §3.3).

use fmseg_model::{ConfigError as UNetError, UNetConfig};
use serde::{Deserialize, Serialize};

use super::prediction::Prediction;
use crate::common::{ConfigError, ensure};

/// How CIMD draws samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiffusionSampler {
    /// Ancestral DDPM with the learned variance (the released `p_sample_loop_known`).
    #[default]
    Ancestral,
    /// Deterministic DDIM (η = 0) on the respaced timesteps.
    Ddim,
}

/// CIMD configuration; every absent key takes the documented default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CimdConfig {
    /// Image channels. Default 1.
    pub image_channels: usize,
    /// Image side (square). Default 128.
    pub image_size: usize,
    /// Denoiser base channels (multiple of 32). Default 128.
    pub model_channels: usize,
    /// Denoiser channel multipliers. Default `[1, 1, 2, 3, 4]`.
    pub channel_mult: Vec<usize>,
    /// ResBlocks per level. Default 2.
    pub num_res_blocks: usize,
    /// Downsampling factors with attention. Default `[8]` (16 px at 128).
    pub attention_resolutions: Vec<usize>,
    /// Attention heads. Default 1.
    pub num_heads: usize,
    /// Denoiser dropout. Default 0.
    pub dropout: f64,
    /// Diffusion steps T. Default 1000.
    pub timesteps: usize,
    /// Sampling steps (≤ T; respaced when fewer). Default 1000.
    pub sampling_steps: usize,
    /// Sampler. Default ancestral.
    pub sampler: DiffusionSampler,
    /// What the denoiser's first channel regresses: `epsilon` (the released code), `x0` or
    /// `v` ([`Prediction`]). Default epsilon, which is left out of the serialised config so
    /// that the model folders of earlier versions keep their identity.
    #[serde(skip_serializing_if = "Prediction::is_epsilon")]
    pub prediction: Prediction,
    /// λ of the VB term. Default 1.
    pub vb_weight: f64,
    /// Weight of KL(q_AMN ‖ p_ACN). Default 0.001.
    pub kl_weight: f64,
    /// AMN/ACN encoder channels per level. Default `[32, 64, 128, 192]`.
    pub encoder_filters: Vec<usize>,
    /// AMN/ACN convs per block. Default 3.
    pub encoder_convs: usize,
    /// Latent dimension. Default 6.
    pub latent_dim: usize,
    /// Reproduce the released code (latent not fed to the denoiser, plain DDPM sampling).
    /// Default false (the paper's description).
    pub code_faithful: bool,
    /// FiLM time conditioning `GN(h)·(1 + scale) + shift` instead of the released code's
    /// additive `GN(h + emb)`. Default false (released code). The additive form only works with
    /// several channels per GroupNorm group (32 groups): with one channel per group the norm
    /// subtracts the embedding and the denoiser never sees t, so CPU-sized denoisers
    /// (`model_channels` < 128) must turn this on; [`CimdConfig::validate`] refuses them otherwise.
    pub use_scale_shift_norm: bool,
}

impl Default for CimdConfig {
    fn default() -> Self {
        Self {
            image_channels: 1,
            image_size: 128,
            model_channels: 128,
            channel_mult: vec![1, 1, 2, 3, 4],
            num_res_blocks: 2,
            attention_resolutions: vec![8],
            num_heads: 1,
            dropout: 0.0,
            timesteps: 1000,
            sampling_steps: 1000,
            sampler: DiffusionSampler::Ancestral,
            prediction: Prediction::Epsilon,
            vb_weight: 1.0,
            kl_weight: 1e-3,
            encoder_filters: vec![32, 64, 128, 192],
            encoder_convs: 3,
            latent_dim: 6,
            code_faithful: false,
            use_scale_shift_norm: false,
        }
    }
}

impl CimdConfig {
    /// Condition channels of the denoiser: image (+ latent maps in paper mode).
    pub fn condition_channels(&self) -> usize {
        self.image_channels
            + if self.code_faithful {
                0
            } else {
                self.latent_dim
            }
    }

    /// The denoiser's U-Net config (guided-diffusion defaults: additive time conditioning,
    /// conv resampling, legacy attention order).
    pub fn unet_config(&self) -> UNetConfig {
        let d = self.condition_channels();
        UNetConfig {
            in_channels: 1 + d,
            model_channels: self.model_channels,
            out_channels: 2,
            num_res_blocks: self.num_res_blocks,
            attention_resolutions: self.attention_resolutions.clone(),
            dropout: self.dropout,
            channel_mult: self.channel_mult.clone(),
            conv_resample: true,
            num_heads: self.num_heads,
            use_scale_shift_norm: self.use_scale_shift_norm,
            use_new_attention_order: false,
            d_cond_image: d,
            ..UNetConfig::lidc_condition()
        }
    }

    /// Refuses invalid settings, naming the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        ensure(
            self.image_channels > 0,
            "image_channels",
            self.image_channels,
            "must be ≥ 1",
        )?;
        ensure(
            self.timesteps > 0,
            "timesteps",
            self.timesteps,
            "must be ≥ 1",
        )?;
        ensure(
            (1..=self.timesteps).contains(&self.sampling_steps),
            "sampling_steps",
            self.sampling_steps,
            &format!("must be in 1..=timesteps ({})", self.timesteps),
        )?;
        ensure(
            self.latent_dim > 0,
            "latent_dim",
            self.latent_dim,
            "must be ≥ 1",
        )?;
        ensure(
            !self.encoder_filters.is_empty() && self.encoder_filters.iter().all(|&f| f > 0),
            "encoder_filters",
            format!("{:?}", self.encoder_filters),
            "needs at least one positive level",
        )?;
        ensure(
            self.encoder_convs > 0,
            "encoder_convs",
            self.encoder_convs,
            "must be ≥ 1",
        )?;
        ensure(
            !self.channel_mult.is_empty(),
            "channel_mult",
            "[]",
            "needs at least one level",
        )?;
        let factor = 1usize << (self.channel_mult.len() - 1).min(30);
        ensure(
            self.image_size > 0 && self.image_size.is_multiple_of(factor),
            "image_size",
            self.image_size,
            &format!("must be a positive multiple of the denoiser's downsampling {factor}"),
        )?;
        // 32 GroupNorm groups: the additive time embedding survives only with ≥ 4 channels per
        // group (guided-diffusion's 128-channel network); below that it is (nearly) cancelled.
        let narrowest = self.model_channels * self.channel_mult.iter().copied().min().unwrap_or(1);
        ensure(
            self.use_scale_shift_norm || narrowest >= 128,
            "use_scale_shift_norm",
            format!("false with {narrowest}-channel ResBlocks"),
            "additive time conditioning needs ≥ 128 channels per block (GroupNorm(32) removes a per-channel embedding); set use_scale_shift_norm: true",
        )?;
        for (field, w) in [("vb_weight", self.vb_weight), ("kl_weight", self.kl_weight)] {
            ensure(
                w.is_finite() && w >= 0.0,
                field,
                w,
                "must be finite and ≥ 0",
            )?;
        }
        self.unet_config().plan().map_err(|e| {
            let field = match &e {
                UNetError::Invalid { field, .. } | UNetError::Unsupported { field, .. } => {
                    unet_field(field)
                }
                _ => "model_channels",
            };
            ConfigError::new(field, "(denoiser)", e.to_string())
        })?;
        Ok(())
    }
}

/// The CIMD field behind a denoiser (U-Net) config field.
fn unet_field(field: &str) -> &'static str {
    match field {
        "num_res_blocks" => "num_res_blocks",
        "attention_resolutions" => "attention_resolutions",
        "dropout" => "dropout",
        "channel_mult" => "channel_mult",
        "num_heads" | "num_head_channels" | "num_heads_upsample" => "num_heads",
        _ => "model_channels",
    }
}
