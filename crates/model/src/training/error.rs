//! Typed errors of the training loop.

use std::path::PathBuf;

use thiserror::Error;

/// Why training stopped.
#[derive(Debug, Error)]
pub enum TrainError {
    /// A training setting is out of range (names the field).
    #[error("invalid training setting `{field}`: {message}")]
    Config {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The loss became NaN or infinite; the last good checkpoint (if any) is kept.
    #[error(
        "non-finite loss {value} at step {step}; stopped (last good checkpoint: {})",
        last_checkpoint.as_ref().map_or_else(|| "none".to_string(), |p| p.display().to_string())
    )]
    NonFinite {
        /// The 1-based step whose loss was not finite.
        step: u64,
        /// The loss value.
        value: f32,
        /// The newest checkpoint folder written before.
        last_checkpoint: Option<PathBuf>,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A checkpoint is missing or inconsistent.
    #[error("checkpoint {}: {message}", path.display())]
    Checkpoint {
        /// The checkpoint folder or file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// `--resume` cannot continue the run in `dir`: its configuration differs, or its checkpoint
    /// cannot be read back.
    #[error("cannot resume {}: {message}", dir.display())]
    Resume {
        /// The run's output folder.
        dir: PathBuf,
        /// Why.
        message: String,
    },
    /// The training data cannot feed the run.
    #[error(transparent)]
    Dataset(#[from] crate::dataset::DatasetError),
    /// The model could not be built, exported or loaded.
    #[error("model: {0}")]
    Model(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl TrainError {
    /// Wraps a model-side error.
    pub fn model(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Model(Box::new(error))
    }

    /// Wraps an I/O error with its path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// A checkpoint problem.
    pub fn checkpoint(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        Self::Checkpoint {
            path: path.into(),
            message: message.to_string(),
        }
    }
}
