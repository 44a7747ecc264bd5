//! The YAML training spec of the flow model (`fmseg train --experiment FILE.yaml`).
//!
//! The file-facing structs ([`ExperimentSpec`] and its blocks) reject unknown keys
//! (`deny_unknown_fields`) and give every optional key an explicit default (the official values
//! of paper-and-baselines §1.3 where the paper fixes one). [`ExperimentSpec::resolve`] checks
//! every value, naming the file and the dotted field, and produces the resolved [`Experiment`]
//! (synthetic data config, [`FlowMatching`] objective, [`TrainConfig`]); burn configs are never
//! deserialised from YAML directly.
//!
//! ```yaml
//! dataset: { preset: tiny, size: 32, raters: 4, seed: 0, train_count: 64 }
//! model: { preset: cpu-small, model_channels: 32, channel_mult: [1, 2], num_res_blocks: 1 }
//! training: { steps: 40, batch_size: 8, cfg_drop: per-batch, checkpoint_every: 20 }
//! ```

mod model;
mod spec;

use std::path::{Path, PathBuf};

use fmseg_data::synth::SynthConfig;
use thiserror::Error;

pub use spec::{
    DataShape, DatasetSpec, ExperimentSpec, ModelSpec, TrainingSpec, UNetPreset, resolve_flow,
    resolve_training,
};

use crate::flow::FlowMatching;
use crate::training::TrainConfig;

/// Why an experiment file was rejected.
#[derive(Debug, Error)]
pub enum ExperimentError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The YAML does not match the spec (syntax, unknown key, wrong type); the message names
    /// the key and position.
    #[error("{}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A value is out of range.
    #[error("{}: field `{field}`: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The dotted field name, e.g. `training.batch_size`.
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// A resolved, validated training experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    /// The synthetic dataset the training items come from.
    pub dataset: SynthConfig,
    /// First training item index.
    pub train_start: u64,
    /// Number of training items.
    pub train_count: usize,
    /// The flow-matching objective (network + CFG drop).
    pub objective: FlowMatching,
    /// The loop settings.
    pub training: TrainConfig,
    /// The output folder the file asks for, if any.
    pub out: Option<PathBuf>,
}

impl Experiment {
    /// Reads, parses and resolves an experiment file.
    pub fn load(path: &Path) -> Result<Self, ExperimentError> {
        let text = std::fs::read_to_string(path).map_err(|source| ExperimentError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_yaml_str(&text, path)
    }

    /// Parses and resolves YAML text; `path` names the file in errors.
    pub fn from_yaml_str(text: &str, path: &Path) -> Result<Self, ExperimentError> {
        parse_yaml::<ExperimentSpec>(text, path)?.resolve(path)
    }

    /// The fields this experiment adds to the run's `config.json`.
    pub fn metadata(&self) -> serde_json::Value {
        synthetic_metadata(&self.dataset, self.train_start, self.train_count)
    }
}

/// Parses YAML text into a spec struct (syntax, unknown keys and wrong types become
/// [`ExperimentError::Parse`] naming `path`, with the parser's line and column).
pub fn parse_yaml<T: serde::de::DeserializeOwned>(
    text: &str,
    path: &Path,
) -> Result<T, ExperimentError> {
    serde_yaml::from_str(text).map_err(|e| ExperimentError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// The `config.json` fields of a training run on items `start..start + count` of a synthetic
/// dataset (shared by the flow and baseline specs).
pub fn synthetic_metadata(dataset: &SynthConfig, start: u64, count: usize) -> serde_json::Value {
    serde_json::json!({
        "dataset": {
            "synthetic": dataset,
            "train_start": start,
            "train_count": count,
        }
    })
}
