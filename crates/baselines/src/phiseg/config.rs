//! PHiSeg hyper-parameters with the reference defaults (`phiseg_7_5.py`, §3.2).

use serde::{Deserialize, Serialize};

use crate::common::{ConfigError, Reduction, ensure};

/// The most resolution levels PHiSeg uses (at 128 px).
pub const MAX_RESOLUTION_LEVELS: usize = 7;

/// PHiSeg configuration; every absent key takes the documented default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PhisegConfig {
    /// Image channels. Default 1.
    pub image_channels: usize,
    /// Image side (square images). Default 128.
    pub image_size: usize,
    /// Channels per resolution level (the first R are used). Default `[32, 64, 128, 192, 192, 192, 192]`.
    pub filters: Vec<usize>,
    /// 3×3 convs per block. Default 3.
    pub convs_per_block: usize,
    /// Resolution levels R; `None` (default) derives `min(7, ⌊log₂ image_size⌋)`.
    pub resolution_levels: Option<usize>,
    /// Latent levels L (1 = the "L = 1" variant). Default 5.
    pub latent_levels: usize,
    /// Channels of every latent map. Default 2.
    pub latent_channels: usize,
    /// KL weight per latent level (finest first); `None` (default) gives α_l = 4^l.
    pub kl_weights: Option<Vec<f64>>,
    /// Batch norm after every conv (the reference). Default true.
    pub batch_norm: bool,
    /// Reconstruction reduction. Default: sum over pixels, mean over the batch.
    pub reduction: Reduction,
}

impl Default for PhisegConfig {
    fn default() -> Self {
        Self {
            image_channels: 1,
            image_size: 128,
            filters: vec![32, 64, 128, 192, 192, 192, 192],
            convs_per_block: 3,
            resolution_levels: None,
            latent_levels: 5,
            latent_channels: 2,
            kl_weights: None,
            batch_norm: true,
            reduction: Reduction::SumPixelsMeanBatch,
        }
    }
}

impl PhisegConfig {
    /// The most resolution levels an image side allows: `min(7, ⌊log₂ size⌋)` (coarsest ≥ 2 px).
    pub fn resolution_levels_for(image_size: usize) -> usize {
        if image_size < 2 {
            return 0;
        }
        (usize::BITS - 1 - image_size.leading_zeros()).min(MAX_RESOLUTION_LEVELS as u32) as usize
    }

    /// R: the explicit value or the derived one.
    pub fn resolution_levels(&self) -> usize {
        self.resolution_levels
            .unwrap_or_else(|| Self::resolution_levels_for(self.image_size))
    }

    /// α_l per latent level (finest first).
    pub fn kl_weights(&self) -> Vec<f64> {
        match &self.kl_weights {
            Some(w) => w.clone(),
            None => (0..self.latent_levels)
                .map(|l| 4f64.powi(l as i32))
                .collect(),
        }
    }

    /// The resolution index of latent level `l`: `R − L + l`.
    pub fn latent_resolution_index(&self, l: usize) -> usize {
        self.resolution_levels() - self.latent_levels + l
    }

    /// Refuses invalid settings, naming the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        ensure(
            self.image_channels > 0,
            "image_channels",
            self.image_channels,
            "must be ≥ 1",
        )?;
        let max = Self::resolution_levels_for(self.image_size);
        ensure(max >= 1, "image_size", self.image_size, "must be ≥ 2")?;
        let r = self.resolution_levels();
        ensure(
            (1..=max).contains(&r),
            "resolution_levels",
            r,
            &format!("must be in 1..={max} for {} px images", self.image_size),
        )?;
        let factor = 1usize << (r - 1);
        ensure(
            self.image_size.is_multiple_of(factor),
            "image_size",
            self.image_size,
            &format!("must be a multiple of 2^(R−1) = {factor}"),
        )?;
        ensure(
            self.filters.len() >= r && self.filters[..r].iter().all(|&f| f > 0),
            "filters",
            format!("{:?}", self.filters),
            &format!("needs {r} positive entries (one per resolution level)"),
        )?;
        ensure(
            self.convs_per_block > 0,
            "convs_per_block",
            self.convs_per_block,
            "must be ≥ 1",
        )?;
        ensure(
            (1..=r).contains(&self.latent_levels),
            "latent_levels",
            self.latent_levels,
            &format!("must be in 1..={r} (the resolution levels)"),
        )?;
        ensure(
            self.latent_channels > 0,
            "latent_channels",
            self.latent_channels,
            "must be ≥ 1",
        )?;
        let weights = self.kl_weights();
        ensure(
            weights.len() == self.latent_levels
                && weights.iter().all(|w| w.is_finite() && *w >= 0.0),
            "kl_weights",
            format!("{weights:?}"),
            "needs one finite, non-negative weight per latent level",
        )?;
        Ok(())
    }
}
