//! GroupNorm(32, eps 1e-5, affine) as guided-diffusion's `normalization()` / `GroupNorm32`.
//!
//! The official layer normalises in float32 whatever the activation dtype; [`normed`] does the
//! same when the network computes in bf16 or f16 ([`crate::precision`]: the norms' parameters
//! stay f32), and is burn's `GroupNorm` itself in f32.

use burn::nn::{GroupNorm, GroupNormConfig};
use burn::tensor::{Device, FloatDType, Tensor};

use crate::precision::to_dtype;

/// Number of groups of every GroupNorm in the network.
pub const GROUPS: usize = 32;

/// Epsilon of every GroupNorm in the network (PyTorch's default).
pub const EPSILON: f64 = 1e-5;

/// A GroupNorm over `channels` channels in [`GROUPS`] groups.
///
/// # Panics
///
/// If `channels` is not a multiple of [`GROUPS`]; [`UNetConfig::plan`](super::UNetConfig::plan)
/// rejects such configs beforehand with [`ConfigError::GroupNorm`](super::ConfigError::GroupNorm).
pub fn group_norm(channels: usize, device: &Device) -> GroupNorm {
    GroupNormConfig::new(GROUPS, channels)
        .with_epsilon(EPSILON)
        .init(device)
}

/// `norm(x)` normalised in f32 and returned in `x`'s float type (`GroupNorm32`).
///
/// # Shapes
/// `x`: `[B, C, H, W]` → `[B, C, H, W]`.
pub fn normed(norm: &GroupNorm, x: Tensor<4>) -> Tensor<4> {
    let dtype = FloatDType::from(x.dtype());
    to_dtype(norm.forward(to_dtype(x, FloatDType::F32)), dtype)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uses_32_groups_and_pytorch_epsilon() {
        let norm = group_norm(96, &Device::flex());
        assert_eq!(norm.num_groups, 32);
        assert_eq!(norm.num_channels, 96);
        assert_eq!(norm.epsilon, 1e-5);
        assert!(norm.affine);
    }
}
