//! Typed errors of the data crate (synthetic data and array files). Errors about a file name the
//! file and, where it applies, the field or index.

use std::path::PathBuf;

use thiserror::Error;

/// What can go wrong while generating, reading or writing data.
#[derive(Debug, Error)]
pub enum DataError {
    /// A configuration value is out of range.
    #[error("invalid value for `{field}`: {message}")]
    InvalidConfig {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// An I/O error on a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file's content is not what it must be.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong (names the field or index).
        message: String,
    },
}

impl DataError {
    /// The field error of an [`DataError::InvalidConfig`] (other variants become an error on the
    /// block itself, field `""`).
    pub fn into_field_error(self) -> crate::FieldError {
        match self {
            Self::InvalidConfig { field, message } => crate::FieldError::new(field, message),
            other => crate::FieldError::new("", other.to_string()),
        }
    }

    /// Wraps an I/O error with its path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// A content error on a file.
    pub fn invalid(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }
}
