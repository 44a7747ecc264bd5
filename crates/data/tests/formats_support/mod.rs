//! Shared helpers of the `formats_*` integration tests: a small pickle writer that emits the
//! numpy patterns of protocols 2-5, and bit-exact comparison helpers.
#![allow(dead_code)]

pub mod arr;
pub mod writer;

use std::path::PathBuf;

use fmseg_data::formats::pickle::{ArrayData, PyValue};

#[allow(unused_imports)]
pub use writer::{Arr, Opts, Val, dumps};

/// `../shared` next to the workspace, or `None` (with a SKIP message) when absent.
pub fn shared_dir() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("SKIP: {} is absent", p.display());
        None
    }
}

/// A file below `../shared`, or `None` (with a SKIP message) when absent.
pub fn shared_file(rel: &str) -> Option<PathBuf> {
    let p = shared_dir()?.join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("SKIP: {} is absent", p.display());
        None
    }
}

/// The committed fixture folder.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Little-endian bytes of decoded elements (bit-exact, NaN-safe comparison).
pub fn le_bytes(d: &ArrayData) -> Vec<u8> {
    match d {
        ArrayData::Bool(v) => v.iter().map(|&b| u8::from(b)).collect(),
        ArrayData::U8(v) => v.clone(),
        ArrayData::I8(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ArrayData::U16(v) | ArrayData::F16(v) | ArrayData::Bf16(v) => {
            v.iter().flat_map(|x| x.to_le_bytes()).collect()
        }
        ArrayData::I16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ArrayData::U32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ArrayData::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ArrayData::U64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ArrayData::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ArrayData::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ArrayData::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    }
}

/// Asserts that a decoded value matches what the writer was given, arrays bit for bit.
pub fn assert_matches(actual: &PyValue, expected: &Val) {
    match (actual, expected) {
        (PyValue::None, Val::None) => {}
        (PyValue::Bool(a), Val::Bool(b)) => assert_eq!(a, b),
        (PyValue::Int(a), Val::Int(b)) => assert_eq!(a, b),
        (PyValue::Float(a), Val::Float(b)) => assert_eq!(a.to_bits(), b.to_bits()),
        (PyValue::Str(a), Val::Str(b)) => assert_eq!(a, b),
        (PyValue::Bytes(a), Val::Bytes(b)) => assert_eq!(a, b),
        (PyValue::List(a), Val::List(b)) | (PyValue::Tuple(a), Val::Tuple(b)) => {
            assert_eq!(a.len(), b.len());
            a.iter().zip(b).for_each(|(x, y)| assert_matches(x, y));
        }
        (PyValue::Dict(a), Val::Dict(b)) => {
            assert_eq!(a.len(), b.len());
            for ((ka, va), (kb, vb)) in a.iter().zip(b) {
                assert_matches(ka, kb);
                assert_matches(va, vb);
            }
        }
        (PyValue::NdArray(a), Val::Array(b)) => {
            assert_eq!(a.dtype().numpy_code(), b.code, "dtype");
            assert_eq!(a.shape(), &b.shape[..], "shape");
            assert_eq!(
                le_bytes(a.data()),
                b.le_c,
                "elements of {} {:?}",
                b.code,
                b.shape
            );
        }
        (a, b) => panic!("decoded {a:?} but wrote {b:?}"),
    }
}
