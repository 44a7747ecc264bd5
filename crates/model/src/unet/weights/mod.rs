//! Official-named weights: key mapping, strict loading, safetensors read/write.

mod file;
mod keys;
mod named;
mod slot;

pub use file::{read_safetensors, write_safetensors};
pub use named::NamedTensor;
