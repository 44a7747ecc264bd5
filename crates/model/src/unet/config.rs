//! The U-Net hyper-parameters, named exactly as the official `UNetModel` constructor arguments.
//!
//! Implements the network configuration of the paper's §1.4 (`lidc_condition` / `mmis_condition`
//! in the official `models/model_configs.py`), which is the guided-diffusion / ADM `UNetModel`
//! as vendored by Meta's `flow_matching` examples. The serde form is the `constructor` object of
//! the parity fixtures' `config.json`: every key of that object is accepted, nothing else is
//! (`deny_unknown_fields`). Keys that are absent take the official constructor default.
//! Validation (which values this implementation supports) lives in [`super::plan`].

use serde::{Deserialize, Serialize};

use super::error::ConfigError;

/// Hyper-parameters of [`UNet`](super::UNet), one field per official constructor argument.
///
/// Channel bookkeeping: the network input is `cat([x_t, image])`, so `in_channels` counts the
/// noisy-mask channels **plus** the `d_cond_image` image channels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UNetConfig {
    /// Input channels of the stem conv: mask channels + `d_cond_image`.
    pub in_channels: usize,
    /// Base channel count C; the time embedding has 4·C features.
    pub model_channels: usize,
    /// Output (velocity) channels.
    pub out_channels: usize,
    /// Residual blocks per resolution level in the encoder (the decoder has one more).
    pub num_res_blocks: usize,
    /// Downsampling factors (1, 2, 4, …) at which an attention block follows each ResBlock.
    pub attention_resolutions: Vec<usize>,
    /// Dropout probability inside each ResBlock (`out_layers.2`); identity at inference.
    #[serde(default)]
    pub dropout: f64,
    /// Channel multiplier per level; the number of levels is its length.
    #[serde(default = "default_channel_mult")]
    pub channel_mult: Vec<usize>,
    /// `true`: 3×3 stride-2 conv down / nearest + 3×3 conv up; `false`: 2×2 average pool /
    /// nearest ×2 without parameters.
    #[serde(default = "default_true")]
    pub conv_resample: bool,
    /// Spatial dimensionality; only 2 is supported.
    #[serde(default = "default_dims")]
    pub dims: usize,
    /// Class-conditional embedding size; only `None` (no class embedding) is supported.
    #[serde(default)]
    pub num_classes: Option<usize>,
    /// Gradient checkpointing in PyTorch; accepted and ignored.
    #[serde(default)]
    pub use_checkpoint: bool,
    /// Attention heads in the encoder and middle block (when `num_head_channels == -1`).
    #[serde(default = "default_one")]
    pub num_heads: usize,
    /// Channels per head; `-1` means "use `num_heads`", a positive value fixes the head width.
    #[serde(default = "default_minus_one")]
    pub num_head_channels: i64,
    /// Heads in the decoder; `-1` means "same as `num_heads`".
    #[serde(default = "default_minus_one")]
    pub num_heads_upsample: i64,
    /// FiLM conditioning `GN(h)·(1+scale)+shift` instead of the additive `h + emb`.
    #[serde(default)]
    pub use_scale_shift_norm: bool,
    /// Residual up/down-sampling blocks; only `false` is supported.
    #[serde(default)]
    pub resblock_updown: bool,
    /// `true`: q, k, v are consecutive thirds of the qkv channels (`QKVAttention`); `false`:
    /// the legacy per-head interleaving (`QKVAttentionLegacy`).
    #[serde(default)]
    pub use_new_attention_order: bool,
    /// Fourier input features; only `false` is supported.
    #[serde(default)]
    pub with_fourier_features: bool,
    /// Replace the time embedding by zeros; only `false` is supported.
    #[serde(default)]
    pub ignore_time: bool,
    /// Stem 3×3 conv (`true`) or identity stem; only `true` is supported.
    #[serde(default = "default_true")]
    pub input_projection: bool,
    /// Image (condition) channels appended after the mask channels.
    pub d_cond_image: usize,
}

fn default_channel_mult() -> Vec<usize> {
    vec![1, 2, 4, 8]
}
fn default_true() -> bool {
    true
}
fn default_dims() -> usize {
    2
}
fn default_one() -> usize {
    1
}
fn default_minus_one() -> i64 {
    -1
}

impl UNetConfig {
    /// The paper's LIDC network (`lidc_condition`): 1 mask + 1 image channel, C = 64,
    /// mult [1, 2, 4, 4], 2 ResBlocks per level, attention at factor 2, dropout 0.1.
    pub fn lidc_condition() -> Self {
        Self {
            in_channels: 2,
            model_channels: 64,
            out_channels: 1,
            num_res_blocks: 2,
            attention_resolutions: vec![2],
            dropout: 0.1,
            channel_mult: vec![1, 2, 4, 4],
            conv_resample: false,
            dims: 2,
            num_classes: None,
            use_checkpoint: false,
            num_heads: 1,
            num_head_channels: -1,
            num_heads_upsample: -1,
            use_scale_shift_norm: true,
            resblock_updown: false,
            use_new_attention_order: true,
            with_fourier_features: false,
            ignore_time: false,
            input_projection: true,
            d_cond_image: 1,
        }
    }

    /// The paper's MMIS network (`mmis_condition`): as [`Self::lidc_condition`] with three
    /// image channels (T1, T1c, T2), so `in_channels = 4`.
    pub fn mmis_condition() -> Self {
        Self::lidc_condition().with_image_channels(3)
    }

    /// A CPU-sized network for 32×32 demos (see `docs/burn-performance.md` §8.2): C = 32,
    /// mult [1, 2, 2], 2 ResBlocks per level, attention only in the middle block.
    pub fn cpu_small() -> Self {
        Self {
            model_channels: 32,
            channel_mult: vec![1, 2, 2],
            attention_resolutions: vec![],
            ..Self::lidc_condition()
        }
    }

    /// The same network conditioned on `image_channels` image channels (the mask channel count
    /// is kept, `in_channels` is adjusted).
    pub fn with_image_channels(mut self, image_channels: usize) -> Self {
        let mask_channels = self.mask_channels();
        self.d_cond_image = image_channels;
        self.in_channels = mask_channels + image_channels;
        self
    }

    /// Total downsampling factor of the encoder, `2^(len(channel_mult) − 1)` (1 for a single
    /// level): image sides must be multiples of it. Saturates at `usize::MAX` for absurd depths,
    /// which no image side divides.
    pub fn downsample_factor(&self) -> usize {
        let levels = self.channel_mult.len().saturating_sub(1);
        u32::try_from(levels)
            .ok()
            .and_then(|l| 1usize.checked_shl(l))
            .unwrap_or(usize::MAX)
    }

    /// Noisy-mask channels of `x_t`: `in_channels − d_cond_image` (saturating).
    pub fn mask_channels(&self) -> usize {
        self.in_channels.saturating_sub(self.d_cond_image)
    }

    /// Width of the time embedding, 4·`model_channels`.
    pub fn time_embed_dim(&self) -> usize {
        4 * self.model_channels
    }

    /// Parses the JSON form (the fixtures' `constructor` object).
    pub fn from_json_str(json: &str) -> Result<Self, ConfigError> {
        Ok(serde_json::from_str(json)?)
    }

    /// Parses an already-decoded JSON value (e.g. `config["constructor"]`).
    pub fn from_json_value(value: serde_json::Value) -> Result<Self, ConfigError> {
        Ok(serde_json::from_value(value)?)
    }

    /// The JSON form, with every field written out.
    pub fn to_json_string(&self) -> Result<String, ConfigError> {
        Ok(serde_json::to_string_pretty(self)?)
    }
}
