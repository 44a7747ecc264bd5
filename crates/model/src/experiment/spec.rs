//! The file-facing `model:` / `training:` structs and their validation.

use fmseg_data::FieldError;
use serde::{Deserialize, Serialize};

use crate::flow::{CfgDropMode, FlowMatching};
use crate::training::TrainConfig;
use crate::unet::UNetConfig;

/// Named network presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UNetPreset {
    /// [`UNetConfig::cpu_small`].
    CpuSmall,
    /// [`UNetConfig::lidc_condition`].
    LidcCondition,
    /// [`UNetConfig::mmis_condition`].
    MmisCondition,
}

/// `model:` — either `preset:` (with optional overrides) or a full `unet:` block with the
/// official constructor names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// A named network; its image channels follow the dataset.
    #[serde(default)]
    pub preset: Option<UNetPreset>,
    /// Every constructor argument of the official `UNetModel`.
    #[serde(default)]
    pub unet: Option<UNetConfig>,
    /// Override of the preset's `model_channels`.
    #[serde(default)]
    pub model_channels: Option<usize>,
    /// Override of the preset's `channel_mult`.
    #[serde(default)]
    pub channel_mult: Option<Vec<usize>>,
    /// Override of the preset's `num_res_blocks`.
    #[serde(default)]
    pub num_res_blocks: Option<usize>,
    /// Override of the preset's `attention_resolutions`.
    #[serde(default)]
    pub attention_resolutions: Option<Vec<usize>>,
    /// Override of the preset's `dropout`.
    #[serde(default)]
    pub dropout: Option<f64>,
}

/// `training:` — loop settings; defaults are the official values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingSpec {
    /// Optimizer steps.
    pub steps: u64,
    /// Batch size (default 24).
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Learning rate (default 1e-4).
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// AdamW betas (default [0.9, 0.95]).
    #[serde(default = "default_betas")]
    pub betas: [f64; 2],
    /// AdamW epsilon (default 1e-8).
    #[serde(default = "default_eps")]
    pub epsilon: f64,
    /// Weight decay (default 0.01).
    #[serde(default = "default_wd")]
    pub weight_decay: f64,
    /// EMA on/off (default on).
    #[serde(default = "default_true")]
    pub ema: bool,
    /// EMA maximum decay (default 0.999).
    #[serde(default = "default_ema_decay")]
    pub ema_decay: f64,
    /// Condition drop probability (default 0.5).
    #[serde(default = "default_drop")]
    pub cfg_drop_prob: f64,
    /// `per-batch` (default, official) or `per-sample`.
    #[serde(default = "default_drop_mode")]
    pub cfg_drop: CfgDropMode,
    /// Horizontal flip (default on).
    #[serde(default = "default_true")]
    pub flip: bool,
    /// Seed (default 0).
    #[serde(default)]
    pub seed: u64,
    /// Checkpoint period in steps (default 500; 0 = only at the end).
    #[serde(default = "default_ckpt")]
    pub checkpoint_every: u64,
    /// Log period in steps (default 10; 0 = silent).
    #[serde(default = "default_log")]
    pub log_every: u64,
}

impl TrainingSpec {
    /// The training-loop settings this block resolves to (validated by the caller).
    pub fn train_config(&self) -> TrainConfig {
        TrainConfig {
            steps: self.steps,
            batch_size: self.batch_size,
            lr: self.lr,
            betas: self.betas,
            epsilon: self.epsilon,
            weight_decay: self.weight_decay,
            ema_decay: self.ema.then_some(self.ema_decay),
            flip: self.flip,
            seed: self.seed,
            checkpoint_every: self.checkpoint_every,
            log_every: self.log_every,
        }
    }
}

fn default_batch() -> usize {
    24
}
fn default_lr() -> f64 {
    1e-4
}
fn default_betas() -> [f64; 2] {
    [0.9, 0.95]
}
fn default_eps() -> f64 {
    1e-8
}
fn default_wd() -> f64 {
    0.01
}
fn default_true() -> bool {
    true
}
fn default_ema_decay() -> f64 {
    0.999
}
fn default_drop() -> f64 {
    0.5
}
fn default_drop_mode() -> CfgDropMode {
    CfgDropMode::PerBatch
}
fn default_ckpt() -> u64 {
    500
}
fn default_log() -> u64 {
    10
}

/// What the `model:` / `training:` blocks must fit: the training set's image channels, image
/// side and number of items (any dataset, synthetic or real).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataShape {
    /// Image channels C.
    pub channels: usize,
    /// Image side (H = W).
    pub size: usize,
    /// Training items.
    pub train_count: usize,
}

/// Checks `training:` against the data and resolves it (errors name `training.<field>`).
pub fn resolve_training(
    training: &TrainingSpec,
    data: DataShape,
) -> Result<TrainConfig, FieldError> {
    if data.train_count < training.batch_size.max(1) {
        let msg = format!(
            "{} training items cannot fill one batch of {}",
            data.train_count, training.batch_size
        );
        return Err(FieldError::new("training.batch_size", msg));
    }
    let config = training.train_config();
    config.validate().map_err(|e| match e {
        crate::training::TrainError::Config { field, message } => {
            FieldError::new(field, message).within("training")
        }
        other => FieldError::new("training", other.to_string()),
    })?;
    Ok(config)
}

/// The flow model's `model:` and `training:` blocks resolved for `data`: the objective (network
/// and CFG condition drop, paper §1.1) and the loop settings. Errors name the field relative to
/// the method block (`model.channel_mult`, `training.cfg_drop_prob`).
pub fn resolve_flow(
    model: &ModelSpec,
    training: &TrainingSpec,
    data: DataShape,
) -> Result<(FlowMatching, TrainConfig), FieldError> {
    if !(0.0..=1.0).contains(&training.cfg_drop_prob) {
        return Err(FieldError::new(
            "training.cfg_drop_prob",
            format!("{} is outside [0, 1]", training.cfg_drop_prob),
        ));
    }
    let unet = model.resolve(data.channels, data.size)?;
    let config = resolve_training(training, data)?;
    Ok((
        FlowMatching {
            unet,
            cfg_drop_prob: training.cfg_drop_prob,
            cfg_drop: training.cfg_drop,
        },
        config,
    ))
}
