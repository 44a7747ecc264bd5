//! The `fmseg run` experiment file (`experiments/*.yaml`): datasets, methods with their configs
//! and training budgets, seeds, sample counts, sampling settings, an optional ablation grid and
//! figure settings. Every struct rejects unknown keys; errors name the file, the line (when it
//! can be found) and the dotted field. Method blocks stay YAML values until the ablation grid is
//! applied, then resolve through the same code as `fmseg train` (`fmseg_model::experiment`,
//! `fmseg_baselines::experiment`), so hand-written YAML never goes straight into burn configs.
//!
//! ```yaml
//! name: smoke
//! datasets:
//!   - id: tiny-32
//!     synthetic: { preset: tiny, size: 32, train_count: 64, test_start: 10000, test_count: 8 }
//! methods:
//!   - method: flow
//!     model: { preset: cpu-small, model_channels: 16, channel_mult: [1, 2] }
//!     training: { steps: 40, batch_size: 8, lr: 1.0e-3 }
//!     sampling: { solver: midpoint, steps: 5, guidance: 0.3 }
//! sample_counts: [1, 2, 4, 8]
//! ```

use std::path::PathBuf;

use fmseg_data::formats::SourceFormat;
use fmseg_data::synth::SynthPreset;
use fmseg_model::checkpoint_load::WeightSelection;
use fmseg_model::precision::Precision;
use fmseg_model::{MethodId, Solver};
use serde::{Deserialize, Serialize};

use super::counts::SampleCounts;
use crate::backend::DeviceChoice;

/// The whole experiment file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// Experiment name (default: the file stem); names `results/<name>/`.
    #[serde(default)]
    pub name: Option<String>,
    /// Free text copied into the manifest.
    #[serde(default)]
    pub description: Option<String>,
    /// Where the networks run: `auto` (default), `cpu`, `cuda[:N]` or `vulkan[:N]`; `--device`
    /// and `$FMSEG_DEVICE` override it. Not part of any cache key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceChoice>,
    /// Datasets; every method runs on each.
    pub datasets: Vec<DatasetEntry>,
    /// Methods as YAML blocks (`method`, `label`, `model`, `training`, `sampling`), kept as values
    /// until the ablation grid is applied (see [`MethodEntry`]).
    pub methods: Vec<serde_yaml::Value>,
    /// Seeds: each seeds the training (`training.seed`) and the sampling noise (default `[0]`).
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// Sample counts k scored (default 1, 2, 4, 8, 16); the largest is drawn once per image and
    /// every k is a prefix of it.
    #[serde(default = "default_counts")]
    pub sample_counts: SampleCounts,
    /// Add the oracle sampler (draws from the known answer distribution) on synthetic datasets.
    #[serde(default = "yes")]
    pub oracle: bool,
    /// Optional grid over one method's settings.
    #[serde(default)]
    pub ablation: Option<AblationSpec>,
    /// Score every model's training checkpoints on the datasets' validation images (a learning
    /// curve per cell, `curve.csv`, and the `learning-curves` figure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learning_curve: Option<CurveSpec>,
    /// Figure settings.
    #[serde(default)]
    pub figures: FigureSpec,
}

/// `datasets[i]`: the embedded synthetic data, or a real dataset by path and format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetEntry {
    /// Name used in tables and file names (letters, digits, `-`, `_`, `.`).
    pub id: String,
    /// The synthetic benchmark (exclusive with `path`).
    #[serde(default)]
    pub synthetic: Option<SyntheticData>,
    /// Folder the relative `path` / `test_path` start from (default: the experiment file's
    /// folder). `fmseg run --data ID=DIR` sets it; `--data ID=FILE` replaces `path` instead.
    #[serde(default)]
    pub root: Option<PathBuf>,
    /// A file or folder in any format `fmseg data inspect` reads: the training data, or the
    /// whole dataset when `split:` divides it.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// A separate test set (e.g. MMIS `validation/`, the official protocol's test set); then
    /// `split:` must be absent and `path` is used whole for training.
    #[serde(default)]
    pub test_path: Option<PathBuf>,
    /// Expected format (checked after detection): `knegt-pickle`, `official-pickle`, `cimd-jpeg`,
    /// `mmis-h5`, `mmis-npy`, `fmseg-cache`, `fmseg-synth`, or `auto` (default).
    #[serde(default)]
    pub format: Option<FormatChoice>,
    /// How the real dataset is split into training and test images.
    #[serde(default)]
    pub split: Option<SplitSpec>,
    /// Preprocessing of a real dataset (the official loader's min–max by default).
    #[serde(default)]
    pub preprocess: Option<PreprocessSpec>,
    /// Score only the first N test images.
    #[serde(default)]
    pub test_limit: Option<usize>,
}

/// `synthetic:` — items `train_start..+train_count` for training, `test_start..+test_count`
/// for testing, of one seeded synthetic dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticData {
    /// `lidc-like`, `mmis-like`, `tiny` or `degenerate`.
    pub preset: SynthPreset,
    /// Image side (default: the preset's).
    #[serde(default)]
    pub size: Option<usize>,
    /// Raters per image (default 4).
    #[serde(default = "four")]
    pub raters: usize,
    /// Dataset seed (default 0).
    #[serde(default)]
    pub seed: u64,
    /// First training item (default 0).
    #[serde(default)]
    pub train_start: u64,
    /// Training items.
    pub train_count: usize,
    /// First test item (default 10000).
    #[serde(default = "test_start")]
    pub test_start: u64,
    /// Test items.
    pub test_count: usize,
    /// First validation item (default 20000): the images `learning_curve` scores.
    #[serde(default = "validation_start")]
    pub validation_start: u64,
    /// Validation items (default 0: none). Not part of the training data's identity, so adding
    /// them retrains nothing.
    #[serde(default)]
    pub validation_count: usize,
}

/// `learning_curve:` — every model's checkpoints (each `every` steps) scored on the validation
/// images with `samples` samples per image: GED and SNCC (the paper's), means and 95 % intervals
/// over the images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurveSpec {
    /// Score the checkpoints whose step is a multiple of this (default: every checkpoint); a
    /// multiple of each method's `training.checkpoint_every`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<u64>,
    /// Samples per validation image (default 16).
    #[serde(default = "sixteen")]
    pub samples: usize,
}

/// `split:` of a real dataset. Exactly one of: `official: true` (the official LIDC 90/10 split
/// by `series_uid`), index ranges `train: [a, b]` + `test: [c, d]` (half-open, 0-based, in file
/// order; optionally `validation: [e, f]`), or `test_fraction` (+ `seed`) by group (ids when the
/// data has no groups).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitSpec {
    /// The official LIDC split.
    #[serde(default)]
    pub official: bool,
    /// Training index range `[start, end)`.
    #[serde(default)]
    pub train: Option<[usize; 2]>,
    /// Test index range `[start, end)`.
    #[serde(default)]
    pub test: Option<[usize; 2]>,
    /// Validation index range `[start, end)` (with `train` + `test` only): the images
    /// `learning_curve` scores. Not part of the training data's identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<[usize; 2]>,
    /// Fraction of groups held out for testing.
    #[serde(default)]
    pub test_fraction: Option<f64>,
    /// Seed of the grouped shuffle split (default 42, the official one).
    #[serde(default)]
    pub seed: Option<u64>,
}

/// `preprocess:` of a real dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreprocessSpec {
    /// Per-image min–max normalisation (default on, as the official loader).
    #[serde(default = "yes")]
    pub normalize: bool,
    /// Square crop around the lesion (image centre when every rater is empty), before resizing.
    #[serde(default)]
    pub crop: Option<usize>,
    /// Square side to resize to (bilinear images, nearest masks).
    #[serde(default)]
    pub size: Option<usize>,
    /// Keep images whose raters are all empty (default on).
    #[serde(default = "yes")]
    pub keep_empty: bool,
}

/// One `methods[i]` block after the ablation grid was applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodEntry {
    /// `flow`, `prob-unet`, `phiseg` or `cimd`.
    pub method: MethodId,
    /// Row label in tables (default: the method id); must be unique.
    #[serde(default)]
    pub label: Option<String>,
    /// The network (flow: `fmseg_model::experiment::ModelSpec`; baselines: their config).
    #[serde(default)]
    pub model: Option<serde_yaml::Value>,
    /// Training budget and optimiser (`fmseg_model::experiment::TrainingSpec`).
    pub training: serde_yaml::Value,
    /// Sampling settings.
    #[serde(default)]
    pub sampling: SamplingSpec,
}

/// `sampling:` of a method. The flow-only keys are refused for the baselines.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplingSpec {
    /// Flow: `euler`, `midpoint` (default), `heun`, `rk4`, `dopri5`.
    #[serde(default)]
    pub solver: Option<Solver>,
    /// Flow: solver steps (default 100, the paper's); CIMD: respaced sampling steps (default:
    /// the model config's).
    #[serde(default)]
    pub steps: Option<usize>,
    /// Flow: dopri5 tolerance (default 1e-5).
    #[serde(default)]
    pub tol: Option<f64>,
    /// Flow: CFG scale w (default 0.3; 0 = conditional only, -1 = unconditional only).
    #[serde(default)]
    pub guidance: Option<f64>,
    /// `ema` (default) or `raw` weights.
    #[serde(default)]
    pub weights: Option<WeightSelection>,
    /// Flow: the released script's dropout-at-sampling quirk (default off).
    #[serde(default)]
    pub dropout_at_sampling: Option<bool>,
    /// Flow: skip the official 1/255 quantisation (default off).
    #[serde(default)]
    pub unquantised: Option<bool>,
    /// Maximum rows (ODE states, or baseline image × sample pairs) per network pass (default
    /// 64; changes only the float summation order, not the draws).
    #[serde(default)]
    pub max_batch: Option<usize>,
    /// Flow: the network's float type, `f32` (default), `bf16` or `f16`; the ODE state stays
    /// f32. Refused where the device cannot compute in it.
    #[serde(default)]
    pub precision: Option<Precision>,
}

/// `format:` of a real dataset: a layout name, or `auto` (detect only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct FormatChoice(pub Option<SourceFormat>);

impl std::str::FromStr for FormatChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "auto" {
            return Ok(Self(None));
        }
        s.parse::<SourceFormat>()
            .map(|f| Self(Some(f)))
            .map_err(|e| format!("unknown format {e} or auto"))
    }
}

impl<'de> Deserialize<'de> for FormatChoice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        fmseg_data::names::deserialize_parsed(d, "a dataset format or auto")
    }
}

impl From<FormatChoice> for String {
    fn from(f: FormatChoice) -> Self {
        f.0.map_or_else(|| "auto".into(), |f| f.name().into())
    }
}

/// `ablation:` — the cartesian product of `axes` applied to one method block; each grid point
/// replaces that block by a variant labelled with its values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AblationSpec {
    /// Label (or method id) of the block to vary (default: the first method).
    #[serde(default)]
    pub method: Option<String>,
    /// The axes.
    pub axes: Vec<AxisSpec>,
}

/// One ablation axis: a dotted field inside the method block and its values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AxisSpec {
    /// E.g. `sampling.guidance`, `training.cfg_drop_prob`, `sampling.solver`.
    pub field: String,
    /// The values, in order.
    pub values: Vec<serde_yaml::Value>,
}

/// `figures:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FigureSpec {
    /// Draw figures at all (default on).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Test images in the uncertainty figure (default 4).
    #[serde(default = "four")]
    pub uncertainty_images: usize,
    /// Test images in the sample grid (default 3).
    #[serde(default = "three")]
    pub grid_images: usize,
    /// Samples per method in the sample grid (default 6).
    #[serde(default = "six")]
    pub grid_samples: usize,
}

impl Default for FigureSpec {
    fn default() -> Self {
        Self {
            enabled: true,
            uncertainty_images: 4,
            grid_images: 3,
            grid_samples: 6,
        }
    }
}

fn default_seeds() -> Vec<u64> {
    vec![0]
}
fn default_counts() -> SampleCounts {
    SampleCounts::paper()
}
fn yes() -> bool {
    true
}
fn three() -> usize {
    3
}
fn four() -> usize {
    4
}
fn six() -> usize {
    6
}
fn test_start() -> u64 {
    10_000
}
fn validation_start() -> u64 {
    20_000
}
fn sixteen() -> usize {
    16
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn typed_fields_refuse_unknown_values_with_their_position() {
        let text = "datasets: []\nmethods: []\nsample_counts: [4, 1, 4, 2]\ndevice: cuda:1\n";
        let spec: RunSpec = serde_yaml::from_str(text).unwrap();
        assert_eq!(spec.sample_counts.as_slice(), &[1, 2, 4]);
        assert_eq!(spec.device, Some(DeviceChoice::Cuda(1)));
        for (bad, word) in [
            ("sample_counts: [0, 2]", "at least 1"),
            ("device: gpu", "expected auto, cpu"),
        ] {
            let text = format!("datasets: []\nmethods: []\n{bad}\n");
            let err = serde_yaml::from_str::<RunSpec>(&text)
                .unwrap_err()
                .to_string();
            assert!(err.contains(word) && err.contains("line 3"), "{err}");
        }
        let entry: Result<MethodEntry, _> = serde_yaml::from_str("{method: flwo, training: {}}");
        assert!(entry.unwrap_err().to_string().contains("flwo"));
        let s: Result<SamplingSpec, _> = serde_yaml::from_str("{solver: leapfrog}");
        assert!(s.unwrap_err().to_string().contains("leapfrog"));
        let d: DatasetEntry = serde_yaml::from_str("{id: a, path: x, format: mmis-h5}").unwrap();
        assert_eq!(d.format, Some(FormatChoice(Some(SourceFormat::MmisH5))));
        let d: Result<DatasetEntry, _> = serde_yaml::from_str("{id: a, path: x, format: bogus}");
        assert!(
            d.unwrap_err()
                .to_string()
                .contains("unknown format 'bogus'")
        );
    }
}
