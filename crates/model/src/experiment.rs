//! The method blocks of an experiment file (`experiments/*.yaml`, read by `fmseg run` and
//! `fmseg train` alike) as far as the flow model and the shared training loop are concerned:
//! the file-facing `model:` ([`ModelSpec`]) and `training:` ([`TrainingSpec`]) blocks, which
//! reject unknown keys (`deny_unknown_fields`) and give every optional key an explicit default
//! (the official values of paper-and-baselines §1.3 where the paper fixes one), and their
//! resolution against the data ([`resolve_flow`], [`resolve_training`]) into the
//! [`FlowMatching`](crate::flow::FlowMatching) objective and the [`TrainConfig`]; burn configs
//! are never deserialised from YAML directly. Resolution errors are [`FieldError`]s naming the
//! field relative to the method block; the runner prefixes `methods[i]` and turns them into the
//! one experiment error, [`ExperimentError`], with file and line.
//!
//! ```yaml
//! model: { preset: cpu-small, model_channels: 32, channel_mult: [1, 2], num_res_blocks: 1 }
//! training: { steps: 40, batch_size: 8, cfg_drop: per-batch, checkpoint_every: 20 }
//! ```

mod model;
mod spec;

use std::path::{Path, PathBuf};

use fmseg_data::FieldError;
use thiserror::Error;

pub use spec::{DataShape, ModelSpec, TrainingSpec, UNetPreset, resolve_flow, resolve_training};

/// Why an experiment file was rejected (the one error of every experiment reader).
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
    /// the key and its line and column.
    #[error("{}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A value is out of range or inconsistent.
    #[error("{}{}: field `{field}`: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the field, when it could be located.
        line: Option<usize>,
        /// The dotted field, e.g. `methods[1].training.batch_size`.
        field: String,
        /// What is wrong.
        message: String,
    },
}

impl ExperimentError {
    /// A field error of the file `path` at `line`.
    pub fn invalid(path: &Path, line: Option<usize>, error: FieldError) -> Self {
        Self::Invalid {
            path: path.to_path_buf(),
            line,
            field: error.field,
            message: error.message,
        }
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
