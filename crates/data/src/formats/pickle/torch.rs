//! PyTorch `state_dict` pickles: storage persistent ids and `_rebuild_tensor_v2`.
//!
//! Reference behaviour (torch `serialization.py`, zip format `data.pkl`): a tensor pickles as
//! `torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
//! backward_hooks[, metadata])`, where `storage` is a persistent id
//! `('storage', torch.<Type>Storage, key, location, numel)` naming the record `data/<key>` of the
//! archive. This module only describes the tensor; [`TorchTensor::materialize`] reads its
//! elements from the storage bytes (little endian, as torch's `byteorder` record says).

use super::arena::{Arena, Id, Obj};
use super::array::{NdArray, decode};
use super::dtype::{ByteOrder, DType};
use super::error::PickleError;
use super::globals::{Global, shape_of};

const STORAGES: [(&str, DType); 11] = [
    ("FloatStorage", DType::F32),
    ("DoubleStorage", DType::F64),
    ("HalfStorage", DType::F16),
    ("BFloat16Storage", DType::Bf16),
    ("LongStorage", DType::I64),
    ("IntStorage", DType::I32),
    ("ShortStorage", DType::I16),
    ("CharStorage", DType::I8),
    ("ByteStorage", DType::U8),
    ("BoolStorage", DType::Bool),
    ("UntypedStorage", DType::U8),
];

/// Element type of a `torch.<Name>Storage` class, if whitelisted.
pub(crate) fn storage_dtype(name: &str) -> Option<DType> {
    STORAGES.iter().find(|(n, _)| *n == name).map(|&(_, d)| d)
}

/// Class name of the storage type for `d` (inverse of [`storage_dtype`]).
pub(crate) fn storage_name(d: DType) -> &'static str {
    STORAGES
        .iter()
        .find(|(_, t)| *t == d)
        .map_or("UntypedStorage", |&(n, _)| n)
}

/// A storage record referenced by a persistent id.
#[derive(Debug, Clone, PartialEq)]
pub struct StorageRef {
    /// Record key: the bytes are `<archive>/data/<key>`.
    pub key: String,
    /// Element type.
    pub dtype: DType,
    /// Device string saved with it (`"cpu"`, `"cuda:0"`, ...).
    pub location: String,
    /// Number of elements in the storage.
    pub numel: u64,
}

/// A tensor view into a storage.
#[derive(Debug, Clone, PartialEq)]
pub struct TorchTensor {
    /// The storage holding the elements.
    pub storage: StorageRef,
    /// Offset (in elements) of the first element.
    pub offset: u64,
    /// Shape.
    pub shape: Vec<usize>,
    /// Strides in elements.
    pub stride: Vec<usize>,
    /// `requires_grad` flag.
    pub requires_grad: bool,
}

impl TorchTensor {
    /// Gathers the tensor's elements (C order) from the raw bytes of its storage record.
    pub fn materialize(&self, storage: &[u8]) -> Result<NdArray, PickleError> {
        let bad = |detail: String| PickleError::BadArray { offset: 0, detail };
        let item = self.storage.dtype.itemsize();
        if (storage.len() as u64) < self.storage.numel.saturating_mul(item as u64) {
            return Err(bad(format!(
                "storage '{}' holds {} bytes, {} elements of {} expected",
                self.storage.key,
                storage.len(),
                self.storage.numel,
                self.storage.dtype
            )));
        }
        if self.shape.len() != self.stride.len() {
            return Err(bad("size and stride have different lengths".into()));
        }
        let count = self
            .shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d as u64));
        let count = count.ok_or_else(|| bad("shape overflows".into()))?;
        if count > self.storage.numel {
            return Err(bad(format!("view of {count} elements exceeds its storage")));
        }
        let mut raw = Vec::with_capacity((count as usize).saturating_mul(item));
        if count > 0 {
            // Largest element index the view touches must lie inside the storage.
            let last = self
                .shape
                .iter()
                .zip(&self.stride)
                .try_fold(self.offset, |acc, (&d, &s)| {
                    acc.checked_add((d as u64 - 1).checked_mul(s as u64)?)
                });
            match last {
                Some(l) if l < self.storage.numel => {}
                _ => return Err(bad(format!("view exceeds storage '{}'", self.storage.key))),
            }
            let mut idx = vec![0usize; self.shape.len()];
            for _ in 0..count {
                let e: u64 = self.offset
                    + idx
                        .iter()
                        .zip(&self.stride)
                        .map(|(&i, &s)| (i * s) as u64)
                        .sum::<u64>();
                let at = e as usize * item;
                raw.extend_from_slice(&storage[at..at + item]);
                for k in (0..idx.len()).rev() {
                    idx[k] += 1;
                    if idx[k] < self.shape[k] {
                        break;
                    }
                    idx[k] = 0;
                }
            }
        }
        decode(
            self.storage.dtype,
            ByteOrder::Little,
            &self.shape,
            &raw,
            false,
        )
        .map_err(bad)
    }
}

fn invalid(offset: u64, opcode: &'static str, detail: &str) -> PickleError {
    PickleError::Invalid {
        offset,
        opcode,
        detail: detail.into(),
    }
}

/// Resolves a persistent id (BINPERSID/PERSID). Only torch storage ids are accepted.
pub(crate) fn persistent_load(a: &Arena, pid: Id, offset: u64) -> Result<Obj, PickleError> {
    let err = || {
        invalid(
            offset,
            "BINPERSID",
            "only torch ('storage', ...) persistent ids are read",
        )
    };
    let Obj::Tuple(items) = a.get(pid) else {
        return Err(err());
    };
    let [tag, ty, key, loc, numel] = items[..] else {
        return Err(err());
    };
    if a.text(tag).as_deref() != Some("storage") {
        return Err(err());
    }
    let Obj::Global(Global::Storage(dtype)) = a.get(ty) else {
        return Err(err());
    };
    let numel = match a.get(numel) {
        Obj::Int(n) => u64::try_from(*n).map_err(|_| err())?,
        _ => return Err(err()),
    };
    Ok(Obj::Storage(StorageRef {
        key: a.text(key).ok_or_else(err)?,
        dtype: *dtype,
        location: a.text(loc).ok_or_else(err)?,
        numel,
    }))
}

/// `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`.
pub(crate) fn rebuild_tensor(
    a: &Arena,
    items: &[Id],
    offset: u64,
) -> Result<TorchTensor, PickleError> {
    let err = || {
        invalid(
            offset,
            "REDUCE",
            "unexpected arguments for _rebuild_tensor_v2",
        )
    };
    if !(6..=7).contains(&items.len()) {
        return Err(err());
    }
    let Obj::Storage(storage) = a.get(items[0]) else {
        return Err(err());
    };
    let start = match a.get(items[1]) {
        Obj::Int(n) => u64::try_from(*n).map_err(|_| err())?,
        _ => return Err(err()),
    };
    let requires_grad = match a.get(items[4]) {
        Obj::Bool(b) => *b,
        _ => return Err(err()),
    };
    Ok(TorchTensor {
        storage: storage.clone(),
        offset: start,
        shape: shape_of(a, items[2]).ok_or_else(err)?,
        stride: shape_of(a, items[3]).ok_or_else(err)?,
        requires_grad,
    })
}
