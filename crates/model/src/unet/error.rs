//! Typed errors of the U-Net: configuration problems and weight-file problems.
//!
//! Every weight error names the offending key and the source (file path or a caller-chosen
//! label) so that a mismatch against an official checkpoint can be located directly.

use std::path::PathBuf;

/// A [`UNetConfig`](super::UNetConfig) that cannot be parsed or built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The JSON form does not parse (unknown key, wrong type, missing required key).
    #[error("invalid U-Net config JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A value the official code accepts but this implementation does not support.
    #[error("unsupported U-Net config `{field}` = {value}: {reason}")]
    Unsupported {
        /// Constructor argument name.
        field: &'static str,
        /// The rejected value, as written.
        value: String,
        /// What is supported instead.
        reason: &'static str,
    },
    /// A value that makes no network.
    #[error("invalid U-Net config `{field}` = {value}: {reason}")]
    Invalid {
        /// Constructor argument name.
        field: &'static str,
        /// The rejected value, as written.
        value: String,
        /// Why it is rejected.
        reason: String,
    },
    /// A GroupNorm(32) would see a channel count that 32 does not divide.
    #[error("GroupNorm `{layer}` has {channels} channels, not divisible by {groups} groups")]
    GroupNorm {
        /// Official key prefix of the norm layer.
        layer: String,
        /// Its channel count.
        channels: usize,
        /// The fixed group count (32).
        groups: usize,
    },
}

/// A problem while reading, matching or writing official-named weights.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// The file could not be read or written.
    #[error("cannot access weight file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The safetensors container is malformed.
    #[error("malformed safetensors file {source_name}: {source}")]
    SafeTensors {
        /// The file.
        source_name: String,
        /// The parser error.
        source: safetensors::SafeTensorError,
    },
    /// A tensor has a dtype that is not a float type.
    #[error(
        "tensor `{key}` in {source_name} has unsupported dtype {dtype} (need F16/BF16/F32/F64)"
    )]
    Dtype {
        /// Official key.
        key: String,
        /// The file.
        source_name: String,
        /// The stored dtype.
        dtype: String,
    },
    /// The network expects a key that the source does not provide.
    #[error("missing tensor `{key}` in {source_name}")]
    Missing {
        /// Official key.
        key: String,
        /// The file.
        source_name: String,
    },
    /// The source provides a key that no parameter of the network consumes.
    #[error("unexpected tensor `{key}` in {source_name} (not a parameter of this U-Net config)")]
    Unexpected {
        /// Official key.
        key: String,
        /// The file.
        source_name: String,
    },
    /// The source provides the same key twice.
    #[error("duplicate tensor `{key}` in {source_name}")]
    Duplicate {
        /// Official key.
        key: String,
        /// The file.
        source_name: String,
    },
    /// The stored shape differs from the parameter's (PyTorch-layout) shape.
    #[error("tensor `{key}` in {source_name} has shape {found:?}, expected {expected:?}")]
    Shape {
        /// Official key.
        key: String,
        /// The file.
        source_name: String,
        /// PyTorch-layout shape the network needs.
        expected: Vec<usize>,
        /// Shape in the source.
        found: Vec<usize>,
    },
    /// The element count does not match the declared shape.
    #[error("tensor `{key}` in {source_name} declares shape {shape:?} but holds {len} values")]
    Length {
        /// Official key.
        key: String,
        /// The file.
        source_name: String,
        /// Declared shape.
        shape: Vec<usize>,
        /// Number of values supplied.
        len: usize,
    },
    /// A parameter could not be read back from the device.
    #[error("cannot read parameter `{key}` back from the device: {reason}")]
    Readback {
        /// Official key.
        key: String,
        /// The backend's message.
        reason: String,
    },
}
