//! The object arena of the pickle VM and its conversion into a [`PyValue`] tree.
//!
//! Reference behaviour: CPython's unpickler shares objects by reference (the memo and the stack
//! hold the same object), and BUILD mutates an object in place. Here every object lives once in
//! the arena and everything else holds its index, which gives exactly that sharing. Byte payloads
//! stay slices of the input until something needs them.

use std::collections::HashMap;
use std::ops::Range;

use super::array::NdArray;
use super::error::PickleError;
use super::globals::Global;
use super::torch::{StorageRef, TorchTensor};
use super::value::PyValue;

/// Index of an object in the arena.
pub(crate) type Id = usize;

/// Deepest nesting the conversion to [`PyValue`] (and dict-key hashing) accepts.
pub(crate) const MAX_DEPTH: usize = 256;

/// The decoded tree may take this many bytes per input byte (plus [`BUDGET_FLOOR`]): a tree
/// node costs `size_of::<PyValue>()`, a string or byte string its length, and an array or tensor
/// nothing more (its elements are decoded once and shared).
pub(crate) const BUDGET_PER_INPUT_BYTE: u64 = 64;

/// The budget every pickle gets whatever its length (a small pickle's tree may be larger than 64
/// times its bytes).
pub(crate) const BUDGET_FLOOR: u64 = 64 << 20;

/// Bytes either borrowed from the input or produced by a decoder (`_codecs.encode`).
pub(crate) enum Blob {
    Input(Range<usize>),
    Owned(Vec<u8>),
}

/// A `dict` with insertion order and a hash index over its keys.
#[derive(Default)]
pub(crate) struct Dict {
    pub(crate) entries: Vec<(Id, Id)>,
    index: HashMap<Key, usize>,
}

/// Hashable image of a dict key; `True == 1 == 1.0` as in Python.
#[derive(PartialEq, Eq, Hash)]
enum Key {
    None,
    Int(i64),
    Float(u64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Key>),
}

/// One object in the arena.
pub(crate) enum Obj {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// Python 2 `str` (SHORT_BINSTRING/BINSTRING): bytes, read as latin-1 text or raw bytes.
    Str8(Blob),
    Bytes(Blob),
    List(Vec<Id>),
    Tuple(Vec<Id>),
    Dict(Dict),
    Global(Global),
    /// Result of `_reconstruct(ndarray, (0,), b'b')`, waiting for its BUILD state.
    ArrayStub,
    /// `numpy.dtype(code, align, copy)`; BUILD sets the byte order.
    Dtype {
        code: String,
        order: char,
    },
    Array(NdArray),
    Storage(StorageRef),
    Tensor(TorchTensor),
    /// Placeholder left where an array was moved out during conversion.
    Moved,
}

/// Arena + the input the blobs point into.
pub(crate) struct Arena<'a> {
    pub(crate) input: &'a [u8],
    pub(crate) objs: Vec<Obj>,
}

impl<'a> Arena<'a> {
    pub(crate) fn push(&mut self, o: Obj) -> Id {
        self.objs.push(o);
        self.objs.len() - 1
    }

    pub(crate) fn get(&self, id: Id) -> &Obj {
        &self.objs[id]
    }

    pub(crate) fn blob<'s>(&'s self, b: &'s Blob) -> &'s [u8] {
        match b {
            Blob::Input(r) => &self.input[r.clone()],
            Blob::Owned(v) => v,
        }
    }

    /// Text of a `str` or Python-2 `str` (latin-1), for names, codes and keys.
    pub(crate) fn text(&self, id: Id) -> Option<String> {
        match self.get(id) {
            Obj::Str(s) => Some(s.clone()),
            Obj::Str8(b) => Some(self.blob(b).iter().map(|&c| char::from(c)).collect()),
            _ => None,
        }
    }

    /// Python-ish type name of an arena object, for error messages.
    pub(crate) fn type_name(&self, id: Id) -> &'static str {
        match self.get(id) {
            Obj::None => "None",
            Obj::Bool(_) => "bool",
            Obj::Int(_) => "int",
            Obj::Float(_) => "float",
            Obj::Str(_) | Obj::Str8(_) => "str",
            Obj::Bytes(_) => "bytes",
            Obj::List(_) => "list",
            Obj::Tuple(_) => "tuple",
            Obj::Dict(_) => "dict",
            Obj::Global(_) => "global",
            Obj::ArrayStub | Obj::Array(_) | Obj::Moved => "ndarray",
            Obj::Dtype { .. } => "numpy.dtype",
            Obj::Storage(_) => "torch storage",
            Obj::Tensor(_) => "torch.Tensor",
        }
    }

    fn key(&self, id: Id, depth: usize) -> Result<Key, String> {
        if depth > MAX_DEPTH {
            return Err("dict key nests too deeply".into());
        }
        Ok(match self.get(id) {
            Obj::None => Key::None,
            Obj::Bool(b) => Key::Int(i64::from(*b)),
            Obj::Int(i) => Key::Int(*i),
            Obj::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Key::Int(*f as i64),
            Obj::Float(f) => Key::Float(f.to_bits()),
            Obj::Str(_) | Obj::Str8(_) => Key::Str(self.text(id).unwrap_or_default()),
            Obj::Bytes(b) => Key::Bytes(self.blob(b).to_vec()),
            Obj::Tuple(items) => Key::Tuple(
                items
                    .iter()
                    .map(|&i| self.key(i, depth + 1))
                    .collect::<Result<_, _>>()?,
            ),
            _ => {
                return Err(format!(
                    "unhashable dict key of type {}",
                    self.type_name(id)
                ));
            }
        })
    }

    /// `d[k] = v` with Python semantics (an existing equal key keeps its place).
    pub(crate) fn set_item(&mut self, dict: Id, k: Id, v: Id) -> Result<(), String> {
        let key = self.key(k, 0)?;
        let Obj::Dict(d) = &mut self.objs[dict] else {
            return Err(format!(
                "target has type {}, expected dict",
                self.type_name(dict)
            ));
        };
        match d.index.get(&key) {
            Some(&slot) => d.entries[slot].1 = v,
            None => {
                d.index.insert(key, d.entries.len());
                d.entries.push((k, v));
            }
        }
        Ok(())
    }

    /// Converts the object graph under `root` into an owned [`PyValue`] tree, moving arrays out
    /// of the arena when nothing else refers to them.
    /// The tree may take at most `BUDGET_PER_INPUT_BYTE` bytes per input byte plus
    /// `BUDGET_FLOOR` ([`PickleError::TooLarge`] beyond), since the memo's shared references are
    /// copied into it.
    pub(crate) fn into_value(mut self, root: Id) -> Result<PyValue, PickleError> {
        let refs = self.count_refs(root);
        let mut on_path = vec![false; self.objs.len()];
        let input = self.input.len() as u64;
        let limit = input
            .saturating_mul(BUDGET_PER_INPUT_BYTE)
            .saturating_add(BUDGET_FLOOR);
        let mut budget = Budget {
            left: limit,
            limit,
            input,
        };
        self.convert(root, 0, &refs, &mut on_path, &mut budget)
    }

    fn children(&self, id: Id) -> Vec<Id> {
        match self.get(id) {
            Obj::List(v) | Obj::Tuple(v) => v.clone(),
            Obj::Dict(d) => d.entries.iter().flat_map(|&(k, v)| [k, v]).collect(),
            _ => Vec::new(),
        }
    }

    fn count_refs(&self, root: Id) -> Vec<u32> {
        let mut refs = vec![0u32; self.objs.len()];
        let mut todo = vec![root];
        refs[root] = 1;
        while let Some(id) = todo.pop() {
            for c in self.children(id) {
                refs[c] = refs[c].saturating_add(1);
                if refs[c] == 1 {
                    todo.push(c);
                }
            }
        }
        refs
    }

    fn convert(
        &mut self,
        id: Id,
        depth: usize,
        refs: &[u32],
        on_path: &mut [bool],
        budget: &mut Budget,
    ) -> Result<PyValue, PickleError> {
        if depth > MAX_DEPTH {
            return Err(PickleError::TooDeep { limit: MAX_DEPTH });
        }
        if on_path[id] {
            return Err(PickleError::Cycle);
        }
        let payload = match &self.objs[id] {
            Obj::Str(s) => s.len(),
            // latin-1 text takes up to two bytes a character in UTF-8
            Obj::Str8(b) => 2 * self.blob(b).len(),
            Obj::Bytes(b) => self.blob(b).len(),
            Obj::List(v) | Obj::Tuple(v) => v.len() * std::mem::size_of::<PyValue>(),
            Obj::Dict(d) => d.entries.len() * std::mem::size_of::<(PyValue, PyValue)>(),
            _ => 0,
        };
        budget.spend(std::mem::size_of::<PyValue>() + payload)?;
        let mut conv = |this: &mut Self, c: Id| {
            on_path[id] = true;
            let r = this.convert(c, depth + 1, refs, on_path, budget);
            on_path[id] = false;
            r
        };
        Ok(match &self.objs[id] {
            Obj::None => PyValue::None,
            Obj::Bool(b) => PyValue::Bool(*b),
            Obj::Int(i) => PyValue::Int(*i),
            Obj::Float(f) => PyValue::Float(*f),
            Obj::Str(s) => PyValue::Str(s.clone()),
            Obj::Str8(_) => PyValue::Str(self.text(id).unwrap_or_default()),
            Obj::Bytes(b) => PyValue::Bytes(self.blob(b).to_vec()),
            Obj::List(v) | Obj::Tuple(v) => {
                let is_list = matches!(self.objs[id], Obj::List(_));
                let items = v.clone();
                let out = items
                    .into_iter()
                    .map(|c| conv(self, c))
                    .collect::<Result<_, _>>()?;
                if is_list {
                    PyValue::List(out)
                } else {
                    PyValue::Tuple(out)
                }
            }
            Obj::Dict(d) => {
                let entries = d.entries.clone();
                let mut out = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    out.push((conv(self, k)?, conv(self, v)?));
                }
                PyValue::Dict(out)
            }
            Obj::Global(g) => PyValue::Global(g.qualname()),
            Obj::Dtype { code, order } => PyValue::Dtype(format!("{order}{code}")),
            Obj::ArrayStub | Obj::Moved => return Err(PickleError::UnbuiltArray),
            // a clone shares the elements
            Obj::Array(a) if refs[id] > 1 => PyValue::NdArray(a.clone()),
            Obj::Array(_) => match std::mem::replace(&mut self.objs[id], Obj::Moved) {
                Obj::Array(a) => PyValue::NdArray(a),
                _ => return Err(PickleError::UnbuiltArray),
            },
            Obj::Storage(s) => PyValue::Storage(s.clone()),
            Obj::Tensor(t) => PyValue::Tensor(t.clone()),
        })
    }
}

/// What the conversion may still allocate.
struct Budget {
    left: u64,
    limit: u64,
    input: u64,
}

impl Budget {
    fn spend(&mut self, bytes: usize) -> Result<(), PickleError> {
        match self.left.checked_sub(bytes as u64) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => Err(PickleError::TooLarge {
                limit: self.limit,
                input: self.input,
            }),
        }
    }
}
