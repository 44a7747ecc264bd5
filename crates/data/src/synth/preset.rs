//! Presets and configuration of the synthetic multi-rater dataset (data-formats §4.3).

use serde::{Deserialize, Serialize};

use crate::error::DataError;

/// A named family of synthetic images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SynthPreset {
    /// CT-like: 1 channel, faint nodules often left unmarked by some raters, boundary disagreement.
    LidcLike,
    /// MRI-like: 3 channels (t1, t1c, t2) with different object contrasts, larger objects, fewer
    /// empty raters, and whole-volume slicing (many slices without any object).
    MmisLike,
    /// 32-px CT-like images with at most 3 hypotheses, for tests.
    Tiny,
    /// Every rater draws the same mask (one hypothesis): a perfect model scores GED = 0.
    Degenerate,
}

crate::closed_names!(SynthPreset, SynthPreset::name);

impl SynthPreset {
    /// All presets, for CLI help and tests.
    pub const ALL: [SynthPreset; 4] =
        [Self::LidcLike, Self::MmisLike, Self::Tiny, Self::Degenerate];

    /// The preset's kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::LidcLike => "lidc-like",
            Self::MmisLike => "mmis-like",
            Self::Tiny => "tiny",
            Self::Degenerate => "degenerate",
        }
    }

    /// Parses a kebab-case name.
    pub fn from_name(name: &str) -> Option<Self> {
        name.parse().ok()
    }

    /// The default image side.
    pub fn default_size(self) -> usize {
        match self {
            Self::Tiny => 32,
            _ => 64,
        }
    }

    /// The generator parameters of the preset.
    pub fn params(self) -> PresetParams {
        let lidc = PresetParams {
            channel_contrast: vec![1.0],
            axis_fraction: (0.06, 0.16),
            contrast: (0.05, 0.6),
            softness_px_at_128: (0.5, 3.0),
            empty_midpoint: 0.16,
            empty_temperature: 0.04,
            max_empty: 0.9,
            satellite_probability: 0.3,
            no_object_probability: 0.0,
            hypotheses: HypothesisSet::Full,
        };
        match self {
            Self::LidcLike => lidc,
            Self::Tiny => PresetParams {
                axis_fraction: (0.12, 0.25),
                satellite_probability: 0.0,
                hypotheses: HypothesisSet::EmptyNominalLoose,
                ..lidc
            },
            Self::MmisLike => PresetParams {
                channel_contrast: vec![0.8, 1.3, 1.0],
                axis_fraction: (0.10, 0.22),
                contrast: (0.1, 0.6),
                empty_midpoint: 0.12,
                empty_temperature: 0.03,
                max_empty: 0.5,
                satellite_probability: 0.2,
                no_object_probability: 0.3,
                ..lidc
            },
            Self::Degenerate => PresetParams {
                contrast: (0.3, 0.6),
                satellite_probability: 0.0,
                hypotheses: HypothesisSet::NominalOnly,
                ..lidc
            },
        }
    }
}

/// Which hypothesis masks a preset uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HypothesisSet {
    /// Empty, tight, nominal, loose, and nominal + satellite when a satellite is drawn.
    Full,
    /// Empty, nominal, loose (K ≤ 3).
    EmptyNominalLoose,
    /// The nominal mask only (K = 1).
    NominalOnly,
}

/// Generator parameters (see data-formats §4.3 for their meaning).
#[derive(Debug, Clone, PartialEq)]
pub struct PresetParams {
    /// Object contrast multiplier per image channel (its length is the channel count).
    pub channel_contrast: Vec<f64>,
    /// Range of the ellipse semi-axes as a fraction of the image side.
    pub axis_fraction: (f64, f64),
    /// Range of the object contrast c.
    pub contrast: (f64, f64),
    /// Range of the edge softness w in pixels at 128 px (scaled with the size, at least 0.5 px).
    pub softness_px_at_128: (f64, f64),
    /// Contrast at which half of the raters leave the object unmarked.
    pub empty_midpoint: f64,
    /// Width of the sigmoid from "always marked" to "often unmarked".
    pub empty_temperature: f64,
    /// Upper bound of the probability of an empty annotation.
    pub max_empty: f64,
    /// Probability that a faint satellite blob is drawn beside the object.
    pub satellite_probability: f64,
    /// Probability that the slice shows no object at all (every rater marks nothing).
    pub no_object_probability: f64,
    /// Which hypotheses exist.
    pub hypotheses: HypothesisSet,
}

/// A fully specified synthetic dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynthConfig {
    /// The preset.
    pub preset: SynthPreset,
    /// Image side in pixels (32–128).
    pub size: usize,
    /// Number of raters per image.
    pub raters: usize,
    /// Dataset seed; item i is a pure function of (seed, i).
    pub seed: u64,
}

impl SynthConfig {
    /// Smallest supported side.
    pub const MIN_SIZE: usize = 32;
    /// Largest supported side.
    pub const MAX_SIZE: usize = 128;

    /// The preset with its default size, 4 raters and seed 0.
    pub fn preset(preset: SynthPreset) -> Self {
        Self {
            preset,
            size: preset.default_size(),
            raters: 4,
            seed: 0,
        }
    }

    /// Checks the ranges, naming the offending field.
    pub fn validate(&self) -> Result<(), DataError> {
        if !(Self::MIN_SIZE..=Self::MAX_SIZE).contains(&self.size) {
            return Err(DataError::InvalidConfig {
                field: "size",
                message: format!(
                    "{} is outside {}..={}",
                    self.size,
                    Self::MIN_SIZE,
                    Self::MAX_SIZE
                ),
            });
        }
        if self.raters == 0 || self.raters > 64 {
            return Err(DataError::InvalidConfig {
                field: "raters",
                message: format!("{} is outside 1..=64", self.raters),
            });
        }
        Ok(())
    }

    /// Number of image channels.
    pub fn channels(&self) -> usize {
        self.preset.params().channel_contrast.len()
    }
}
