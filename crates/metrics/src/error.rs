//! Typed errors of the metrics crate.

use thiserror::Error;

/// What can be wrong with the inputs of a metric computation.
#[derive(Debug, Error, PartialEq)]
pub enum MetricsError {
    /// A set that must hold at least one mask is empty.
    #[error("{what} must hold at least one mask")]
    EmptySet {
        /// `"samples"` or `"annotations"`.
        what: &'static str,
    },
    /// A buffer's length does not match the declared shape.
    #[error("{what}: buffer holds {len} values, shape {shape:?} needs {expected}")]
    ShapeMismatch {
        /// Which buffer.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The shape it was declared with.
        shape: Vec<usize>,
        /// The length that shape implies.
        expected: usize,
    },
    /// A soft sample value is NaN, infinite or outside [0, 1].
    #[error("samples: value {value} at flat index {index} is not a probability in [0, 1]")]
    NotAProbability {
        /// Flat index into the samples buffer.
        index: usize,
        /// The offending value.
        value: f32,
    },
    /// The image has no pixels.
    #[error("images must have at least one pixel (got {height}x{width})")]
    NoPixels {
        /// Height.
        height: usize,
        /// Width.
        width: usize,
    },
}
