//! [`PyValue`]: the plain value tree a pickle decodes to, with navigation helpers.
//!
//! Mirrors the Python objects a numpy/torch data pickle holds: `None`, `bool`, `int`, `float`,
//! `str`, `bytes`, `list`, `tuple`, `dict` (insertion order kept, as in Python 3.7+), numpy
//! arrays and torch tensor references. Python 2 `str` (BINSTRING) decodes as latin-1 text, like
//! `pickle.load(f, encoding="latin1")`.

use super::array::NdArray;
use super::torch::{StorageRef, TorchTensor};

/// One decoded Python value.
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    /// `None`.
    None,
    /// `bool`.
    Bool(bool),
    /// `int` (must fit in 64 bits).
    Int(i64),
    /// `float`.
    Float(f64),
    /// `str`.
    Str(String),
    /// `bytes` or `bytearray`.
    Bytes(Vec<u8>),
    /// `list` (also sets would land here if they were supported).
    List(Vec<PyValue>),
    /// `tuple`.
    Tuple(Vec<PyValue>),
    /// `dict` / `collections.OrderedDict`, in insertion order.
    Dict(Vec<(PyValue, PyValue)>),
    /// A numpy array.
    NdArray(NdArray),
    /// A torch tensor whose data lives in a separate storage record (see [`super::torch`]).
    Tensor(TorchTensor),
    /// A bare torch storage reference.
    Storage(StorageRef),
    /// A bare numpy dtype object, e.g. `"<f4"`.
    Dtype(String),
    /// A whitelisted class or function object, e.g. `"numpy.ndarray"`.
    Global(String),
}

impl PyValue {
    /// Python-ish type name for error messages (`"dict"`, `"ndarray"`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::None => "None",
            Self::Bool(_) => "bool",
            Self::Int(_) => "int",
            Self::Float(_) => "float",
            Self::Str(_) => "str",
            Self::Bytes(_) => "bytes",
            Self::List(_) => "list",
            Self::Tuple(_) => "tuple",
            Self::Dict(_) => "dict",
            Self::NdArray(_) => "ndarray",
            Self::Tensor(_) => "torch.Tensor",
            Self::Storage(_) => "torch storage",
            Self::Dtype(_) => "numpy.dtype",
            Self::Global(_) => "global",
        }
    }

    /// The value under string key `key`, if `self` is a dict holding it.
    pub fn get(&self, key: &str) -> Option<&PyValue> {
        self.as_dict()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// Removes and returns the value under string key `key` (moves arrays out without copying).
    pub fn remove(&mut self, key: &str) -> Option<PyValue> {
        match self {
            Self::Dict(d) => {
                let i = d.iter().position(|(k, _)| k.as_str() == Some(key))?;
                Some(d.remove(i).1)
            }
            _ => None,
        }
    }

    /// Dict entries in insertion order.
    pub fn as_dict(&self) -> Option<&[(PyValue, PyValue)]> {
        match self {
            Self::Dict(d) => Some(d),
            _ => None,
        }
    }

    /// Items of a list or tuple.
    pub fn as_list(&self) -> Option<&[PyValue]> {
        match self {
            Self::List(v) | Self::Tuple(v) => Some(v),
            _ => None,
        }
    }

    /// The array, if this is one.
    pub fn as_array(&self) -> Option<&NdArray> {
        match self {
            Self::NdArray(a) => Some(a),
            _ => None,
        }
    }

    /// The text, if this is a `str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an `int` or `bool` (Python treats `True` as 1).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Self::Int(i) => Some(*i),
            Self::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    /// The number as `f64`, if this is a `float`, `int` or `bool`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Float(f) => Some(*f),
            other => other.as_int().map(|i| i as f64),
        }
    }

    /// Owned dict entries.
    pub fn into_dict(self) -> Option<Vec<(PyValue, PyValue)>> {
        match self {
            Self::Dict(d) => Some(d),
            _ => None,
        }
    }

    /// Owned items of a list or tuple.
    pub fn into_list(self) -> Option<Vec<PyValue>> {
        match self {
            Self::List(v) | Self::Tuple(v) => Some(v),
            _ => None,
        }
    }

    /// The owned array, if this is one.
    pub fn into_array(self) -> Option<NdArray> {
        match self {
            Self::NdArray(a) => Some(a),
            _ => None,
        }
    }
}
