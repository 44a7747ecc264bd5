//! Hyper-parameters of the Probabilistic U-Net with the authors' defaults (§3.1).

use serde::{Deserialize, Serialize};

use crate::common::{ConfigError, Reduction, ensure};

/// Prob-UNet configuration; every absent key takes the documented default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProbUnetConfig {
    /// Image channels (1 for LIDC, 3 for MMIS). Default 1.
    pub image_channels: usize,
    /// Image side in pixels (square images). Default 128.
    pub image_size: usize,
    /// Channels per U-Net level (also the prior/posterior encoders). Default `[32, 64, 128, 192]`.
    pub filters: Vec<usize>,
    /// 3×3 convs per block. Default 3.
    pub convs_per_block: usize,
    /// Latent dimension. Default 6.
    pub latent_dim: usize,
    /// Hidden 1×1 convs of fcomb before the logits layer. Default 3.
    pub fcomb_convs: usize,
    /// KL weight β. Default 1 (authors' code; the PyTorch port uses 10).
    pub beta: f64,
    /// Reconstruction reduction. Default: sum over pixels, mean over the batch.
    pub reduction: Reduction,
}

impl Default for ProbUnetConfig {
    fn default() -> Self {
        Self {
            image_channels: 1,
            image_size: 128,
            filters: vec![32, 64, 128, 192],
            convs_per_block: 3,
            latent_dim: 6,
            fcomb_convs: 3,
            beta: 1.0,
            reduction: Reduction::SumPixelsMeanBatch,
        }
    }
}

impl ProbUnetConfig {
    /// Refuses invalid settings, naming the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        ensure(
            self.image_channels > 0,
            "image_channels",
            self.image_channels,
            "must be ≥ 1",
        )?;
        ensure(
            !self.filters.is_empty(),
            "filters",
            "[]",
            "needs at least one level",
        )?;
        ensure(
            self.filters.iter().all(|&f| f > 0),
            "filters",
            format!("{:?}", self.filters),
            "every level needs ≥ 1 channel",
        )?;
        let factor = 1usize << (self.filters.len() - 1).min(30);
        ensure(
            self.image_size > 0 && self.image_size.is_multiple_of(factor),
            "image_size",
            self.image_size,
            &format!("must be a positive multiple of 2^(levels−1) = {factor}"),
        )?;
        ensure(
            self.convs_per_block > 0,
            "convs_per_block",
            self.convs_per_block,
            "must be ≥ 1",
        )?;
        ensure(
            self.latent_dim > 0,
            "latent_dim",
            self.latent_dim,
            "must be ≥ 1",
        )?;
        ensure(
            self.beta.is_finite() && self.beta >= 0.0,
            "beta",
            self.beta,
            "must be finite and ≥ 0",
        )?;
        Ok(())
    }
}
