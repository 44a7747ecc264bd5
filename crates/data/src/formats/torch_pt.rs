//! PyTorch `torch.save` files (`.pt`, zip format): state dicts of tensors as [`NdArray`]s.
//!
//! Reference behaviour (torch `serialization.py`, zip format since torch 1.6): the archive holds
//! `<name>/data.pkl` (a pickle whose tensors are `_rebuild_tensor_v2` over persistent-id
//! storages, decoded by the safe reader in [`super::pickle`]), `<name>/byteorder`
//! (`little`) and one stored record `<name>/data/<key>` per storage. Loading is what
//! `torch.load(f, weights_only=True)` accepts for a plain state dict; nothing is executed.

mod stored_zip;

use std::path::{Path, PathBuf};

use thiserror::Error;

use super::pickle::{self, NdArray, PickleError, PyValue, TorchTensor};
pub use stored_zip::Record;

/// Why a `.pt` file could not be read.
#[derive(Debug, Error)]
pub enum TorchPtError {
    /// Reading the file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The zip container is malformed or compressed.
    #[error("zip: {0}")]
    Zip(String),
    /// `data.pkl` is not an acceptable pickle.
    #[error("data.pkl: {0}")]
    Pickle(#[from] PickleError),
    /// The archive or the pickle does not have the expected layout.
    #[error("{0}")]
    Layout(String),
}

/// An opened archive: the decoded `data.pkl` value plus access to the storage records.
pub struct PtArchive<'a> {
    data: &'a [u8],
    prefix: String,
    records: Vec<Record>,
    /// The decoded `data.pkl`.
    pub value: PyValue,
}

impl<'a> PtArchive<'a> {
    /// Opens an archive held in memory.
    pub fn new(data: &'a [u8]) -> Result<Self, TorchPtError> {
        let records = stored_zip::records(data).map_err(TorchPtError::Zip)?;
        let pkl = records
            .iter()
            .find(|r| r.name == "data.pkl" || r.name.ends_with("/data.pkl"))
            .ok_or_else(|| TorchPtError::Layout("archive has no data.pkl record".into()))?;
        let prefix = pkl.name.trim_end_matches("data.pkl").to_string();
        let value = pickle::from_bytes(&data[pkl.range.clone()])?;
        let archive = Self {
            data,
            prefix,
            records,
            value,
        };
        if let Some(order) = archive.record("byteorder")
            && order != b"little"
        {
            let o = String::from_utf8_lossy(order);
            return Err(TorchPtError::Layout(format!(
                "byteorder '{o}' is not supported"
            )));
        }
        Ok(archive)
    }

    /// The bytes of record `<prefix>/<name>`.
    pub fn record(&self, name: &str) -> Option<&'a [u8]> {
        let full = format!("{}{name}", self.prefix);
        self.records
            .iter()
            .find(|r| r.name == full)
            .map(|r| &self.data[r.range.clone()])
    }

    /// Every record of the archive.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Reads a tensor's elements from its storage record.
    pub fn tensor(&self, t: &TorchTensor) -> Result<NdArray, TorchPtError> {
        let key = &t.storage.key;
        let bytes = self
            .record(&format!("data/{key}"))
            .ok_or_else(|| TorchPtError::Layout(format!("storage record data/{key} is missing")))?;
        Ok(t.materialize(bytes)?)
    }

    /// The top-level dict as `(name, array)` pairs in file order; every value must be a tensor.
    pub fn state_dict(&self) -> Result<Vec<(String, NdArray)>, TorchPtError> {
        let entries = self.value.as_dict().ok_or_else(|| {
            TorchPtError::Layout(format!(
                "data.pkl holds a {}, not a dict",
                self.value.type_name()
            ))
        })?;
        entries
            .iter()
            .map(|(k, v)| {
                let name = k
                    .as_str()
                    .ok_or_else(|| TorchPtError::Layout("non-str key".into()))?;
                match v {
                    PyValue::Tensor(t) => Ok((name.to_string(), self.tensor(t)?)),
                    other => Err(TorchPtError::Layout(format!(
                        "'{name}' holds a {}, not a tensor",
                        other.type_name()
                    ))),
                }
            })
            .collect()
    }
}

/// Reads a state-dict `.pt` file: `(parameter name, array)` in file order.
pub fn read_state_dict(path: &Path) -> Result<Vec<(String, NdArray)>, TorchPtError> {
    let data = std::fs::read(path).map_err(|source| TorchPtError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    PtArchive::new(&data)?.state_dict()
}
