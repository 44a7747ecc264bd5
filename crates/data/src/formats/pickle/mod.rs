//! A safe reader for Python pickles that hold numpy arrays (and PyTorch state dicts).
//!
//! Reference behaviour: CPython's `pickle` unpickler for protocols 2-5, restricted to plain
//! containers and a whitelist of numpy/torch reconstructors (`numpy.core`/`numpy._core`
//! `multiarray._reconstruct` and `numeric._frombuffer`, `numpy.ndarray`, `numpy.dtype`,
//! `_codecs.encode`, `builtins.bytes`, `collections.OrderedDict`,
//! `torch._utils._rebuild_tensor_v2` / `_rebuild_parameter`, `torch.<Type>Storage`): any other
//! global is refused with [`PickleError::ForbiddenGlobal`] naming it and its byte offset, and nothing is
//! ever executed. Malformed input of any kind gives a [`PickleError`], never a panic; lengths
//! are checked against the remaining input before anything is allocated. Offsets are 64-bit,
//! so files past 2 GiB (Knegt's `data_lidc.pickle`) are fine.
//!
//! ```
//! use fmseg_data::formats::pickle::{self, PyValue};
//! // pickle.dumps({'a': 1}, protocol=2)
//! let v = pickle::from_bytes(b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s.").unwrap();
//! assert_eq!(v.get("a"), Some(&PyValue::Int(1)));
//! ```

mod arena;
mod array;
mod cursor;
mod dtype;
mod error;
mod globals;
mod opcode;
pub mod torch;
mod value;
mod vm;

use std::path::{Path, PathBuf};

pub use array::{NdArray, bf16_to_f32};
pub use dtype::{ArrayData, ByteOrder, DType, f16_to_f32};
pub use error::PickleError;
pub use torch::{StorageRef, TorchTensor};
pub use value::PyValue;

/// Decodes a pickle held in memory.
pub fn from_bytes(data: &[u8]) -> Result<PyValue, PickleError> {
    vm::run(data)
}

/// A pickle file could not be read or decoded.
#[derive(Debug, thiserror::Error)]
pub enum PickleFileError {
    /// Reading the file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes are not an acceptable pickle.
    #[error("{}: {source}", path.display())]
    Pickle {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: PickleError,
    },
}

/// Reads a whole file into memory and decodes it.
pub fn from_file(path: &Path) -> Result<PyValue, PickleFileError> {
    let data = std::fs::read(path).map_err(|source| PickleFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    from_bytes(&data).map_err(|source| PickleFileError::Pickle {
        path: path.to_path_buf(),
        source,
    })
}
