//! The velocity U-Net of the paper (§1.4): guided-diffusion's `UNetModel` as configured by the
//! official `huynhspm/Data-Uncertainty` code, with its `state_dict` key names.

mod attention;
mod blocks;
mod build;
mod config;
mod error;
mod flops;
mod guidance;
mod model;
mod norm;
mod plan;
mod resample;
mod resblock;
mod time_embed;
mod validate;
mod weights;

#[cfg(test)]
mod tests;

pub use attention::AttentionBlock;
pub use blocks::{DecoderBlock, EncoderBlock, MiddleBlock, ResAttention};
pub use config::UNetConfig;
pub use error::{ConfigError, WeightsError};
pub use model::{Activations, UNet};
pub use norm::{EPSILON as GROUP_NORM_EPSILON, GROUPS as GROUP_NORM_GROUPS, group_norm};
pub use plan::{AttentionPlan, DecoderPlan, EncoderPlan, ResPlan, UNetPlan};
pub use resample::{Downsample, Upsample};
pub use resblock::ResBlock;
pub use time_embed::{MAX_PERIOD, TimeEmbed, timestep_embedding, timestep_frequencies};
pub use weights::{NamedTensor, read_safetensors, write_safetensors};
