//! The one "invalid field" error of the workspace: a dotted field and what is wrong with its
//! value. Every validator (synthetic data, U-Net, training loop, baselines) reports through it, and
//! an enclosing block prefixes its own path with [`FieldError::within`], so an experiment file
//! names `methods[1].training.batch_size` without hand-written mappers at each level.

use thiserror::Error;

/// A configuration value that is out of range or inconsistent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("field `{field}`: {message}")]
pub struct FieldError {
    /// Dotted path of the field, relative to the block that was checked (may be empty for the
    /// block itself).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl FieldError {
    /// An error on `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error seen from the enclosing block `prefix` (`training` + `lr` →
    /// `training.lr`; an index prefix such as `methods[0]` joins the same way).
    #[must_use]
    pub fn within(mut self, prefix: &str) -> Self {
        self.field = match (prefix.is_empty(), self.field.is_empty()) {
            (true, _) => self.field,
            (false, true) => prefix.to_string(),
            (false, false) => format!("{prefix}.{}", self.field),
        };
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_join_with_dots() {
        let e = FieldError::new("lr", "must be positive").within("training");
        assert_eq!(e.field, "training.lr");
        let e = e.within("methods[2]");
        assert_eq!(
            e.to_string(),
            "field `methods[2].training.lr`: must be positive"
        );
        assert_eq!(FieldError::new("", "x").within("model").field, "model");
        assert_eq!(FieldError::new("a", "x").within("").field, "a");
    }
}
