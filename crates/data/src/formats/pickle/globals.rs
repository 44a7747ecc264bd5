//! The whitelist of globals and what REDUCE and BUILD do with them.
//!
//! Reference behaviour (numpy `ndarray.__reduce_ex__`, `dtype.__reduce__`, CPython `pickle`):
//! - protocols 2-4: `_reconstruct(ndarray, (0,), b'b')` then BUILD
//!   `(version, shape, dtype, is_fortran, raw)`;
//! - protocol 5: `_frombuffer(buffer, dtype, shape, order)`;
//! - `numpy.dtype(code, align, copy)` then BUILD `(3, byteorder, subarray, names, fields, ...)`;
//! - protocol 2 bytes: `_codecs.encode(latin1_text, 'latin1')`, empty bytes: `bytes()`;
//! - torch state dicts: `collections.OrderedDict()`, `torch._utils._rebuild_tensor_v2`.
//!
//! Anything else is refused when GLOBAL/STACK_GLOBAL names it; no Python code is ever run.

use super::arena::{Arena, Blob, Dict, Id, Obj};
use super::array::decode;
use super::dtype::{ByteOrder, DType};
use super::error::PickleError;
use super::torch;

/// A whitelisted global.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Global {
    Reconstruct { np2: bool },
    FromBuffer { np2: bool },
    NdArrayClass,
    DtypeClass,
    CodecsEncode,
    BytesClass,
    OrderedDict,
    RebuildTensorV2,
    RebuildParameter,
    Storage(DType),
}

impl Global {
    /// Looks `module.name` up in the whitelist.
    pub(crate) fn resolve(module: &str, name: &str) -> Option<Self> {
        Some(match (module, name) {
            ("numpy.core.multiarray", "_reconstruct") => Self::Reconstruct { np2: false },
            ("numpy._core.multiarray", "_reconstruct") => Self::Reconstruct { np2: true },
            ("numpy.core.numeric", "_frombuffer") => Self::FromBuffer { np2: false },
            ("numpy._core.numeric", "_frombuffer") => Self::FromBuffer { np2: true },
            ("numpy", "ndarray") => Self::NdArrayClass,
            ("numpy", "dtype") => Self::DtypeClass,
            ("_codecs", "encode") => Self::CodecsEncode,
            ("__builtin__" | "builtins", "bytes") => Self::BytesClass,
            ("collections", "OrderedDict") => Self::OrderedDict,
            ("torch._utils", "_rebuild_tensor_v2") => Self::RebuildTensorV2,
            ("torch._utils", "_rebuild_parameter") => Self::RebuildParameter,
            ("torch", storage) => Self::Storage(torch::storage_dtype(storage)?),
            _ => return None,
        })
    }

    /// `module.name` of the global.
    pub(crate) fn qualname(self) -> String {
        let core = |np2: bool| if np2 { "numpy._core" } else { "numpy.core" };
        match self {
            Self::Reconstruct { np2 } => format!("{}.multiarray._reconstruct", core(np2)),
            Self::FromBuffer { np2 } => format!("{}.numeric._frombuffer", core(np2)),
            Self::NdArrayClass => "numpy.ndarray".into(),
            Self::DtypeClass => "numpy.dtype".into(),
            Self::CodecsEncode => "_codecs.encode".into(),
            Self::BytesClass => "builtins.bytes".into(),
            Self::OrderedDict => "collections.OrderedDict".into(),
            Self::RebuildTensorV2 => "torch._utils._rebuild_tensor_v2".into(),
            Self::RebuildParameter => "torch._utils._rebuild_parameter".into(),
            Self::Storage(d) => format!("torch.{}", torch::storage_name(d)),
        }
    }
}

fn invalid(offset: u64, opcode: &'static str, detail: String) -> PickleError {
    PickleError::Invalid {
        offset,
        opcode,
        detail,
    }
}

/// Items of a tuple object (REDUCE arguments, BUILD states).
pub(crate) fn tuple_items(a: &Arena, id: Id) -> Option<Vec<Id>> {
    match a.get(id) {
        Obj::Tuple(v) => Some(v.clone()),
        _ => None,
    }
}

/// A shape tuple of non-negative ints.
pub(crate) fn shape_of(a: &Arena, id: Id) -> Option<Vec<usize>> {
    let items = tuple_items(a, id).or_else(|| match a.get(id) {
        Obj::List(v) => Some(v.clone()),
        _ => None,
    })?;
    items
        .into_iter()
        .map(|i| match a.get(i) {
            Obj::Int(n) => usize::try_from(*n).ok(),
            _ => None,
        })
        .collect()
}

/// Raw bytes of a bytes / bytearray / Python-2 str object.
fn bytes_of<'s>(a: &'s Arena, id: Id) -> Option<&'s [u8]> {
    match a.get(id) {
        Obj::Bytes(b) | Obj::Str8(b) => Some(a.blob(b)),
        _ => None,
    }
}

/// The element type and byte order of a dtype object.
fn dtype_of(a: &Arena, id: Id, offset: u64) -> Result<(DType, ByteOrder), PickleError> {
    let bad = |detail: String| PickleError::BadArray { offset, detail };
    let Obj::Dtype { code, order } = a.get(id) else {
        return Err(bad(format!(
            "expected a numpy.dtype, found {}",
            a.type_name(id)
        )));
    };
    let (dt, prefix) =
        DType::parse_numpy(code).ok_or_else(|| bad(format!("unsupported dtype '{code}'")))?;
    let order = ByteOrder::from_char(*order)
        .or(prefix)
        .ok_or_else(|| bad(format!("unknown byte order '{order}'")))?;
    Ok((dt, order))
}

/// Applies a whitelisted callable to its argument tuple (REDUCE).
pub(crate) fn reduce(a: &Arena, g: Global, args: Id, offset: u64) -> Result<Obj, PickleError> {
    let items = tuple_items(a, args).ok_or_else(|| {
        invalid(
            offset,
            "REDUCE",
            format!("arguments are a {}", a.type_name(args)),
        )
    })?;
    let wrong = || {
        invalid(
            offset,
            "REDUCE",
            format!("unexpected arguments for {}", g.qualname()),
        )
    };
    match g {
        Global::Reconstruct { .. } => match items.first().map(|&c| a.get(c)) {
            Some(Obj::Global(Global::NdArrayClass)) => Ok(Obj::ArrayStub),
            _ => Err(wrong()),
        },
        Global::DtypeClass => {
            let code = items.first().and_then(|&c| a.text(c)).ok_or_else(wrong)?;
            let flags_ok = items[1..]
                .iter()
                .all(|&c| matches!(a.get(c), Obj::Int(_) | Obj::Bool(_)));
            if !flags_ok || items.len() > 3 {
                return Err(wrong());
            }
            Ok(Obj::Dtype { code, order: '|' })
        }
        Global::FromBuffer { .. } => {
            let [buf, dt, shape, ord] = items[..] else {
                return Err(wrong());
            };
            let raw = bytes_of(a, buf).ok_or_else(wrong)?;
            let (dtype, order) = dtype_of(a, dt, offset)?;
            let shape = shape_of(a, shape).ok_or_else(wrong)?;
            let fortran = match a.text(ord).as_deref() {
                Some("C") => false,
                Some("F") => true,
                _ => return Err(wrong()),
            };
            decode(dtype, order, &shape, raw, fortran)
                .map(Obj::Array)
                .map_err(|detail| PickleError::BadArray { offset, detail })
        }
        Global::CodecsEncode => {
            let text = items.first().and_then(|&c| a.text(c)).ok_or_else(wrong)?;
            let enc = match items.get(1) {
                Some(&c) => a
                    .text(c)
                    .ok_or_else(wrong)?
                    .to_ascii_lowercase()
                    .replace('_', "-"),
                None => "utf-8".into(),
            };
            let bytes = match enc.as_str() {
                "latin1" | "latin-1" | "iso-8859-1" | "l1" => text
                    .chars()
                    .map(|c| u8::try_from(u32::from(c)).ok())
                    .collect::<Option<Vec<u8>>>()
                    .ok_or_else(|| invalid(offset, "REDUCE", "non-latin-1 text".into()))?,
                "utf-8" | "utf8" => text.into_bytes(),
                other => {
                    return Err(invalid(
                        offset,
                        "REDUCE",
                        format!("unsupported codec '{other}'"),
                    ));
                }
            };
            Ok(Obj::Bytes(Blob::Owned(bytes)))
        }
        Global::BytesClass if items.is_empty() => Ok(Obj::Bytes(Blob::Owned(Vec::new()))),
        Global::OrderedDict if items.is_empty() => Ok(Obj::Dict(Dict::default())),
        Global::RebuildTensorV2 => torch::rebuild_tensor(a, &items, offset).map(Obj::Tensor),
        Global::RebuildParameter => match items.first().map(|&c| a.get(c)) {
            Some(Obj::Tensor(t)) => Ok(Obj::Tensor(t.clone())),
            _ => Err(wrong()),
        },
        _ => Err(wrong()),
    }
}

/// Applies a BUILD state to the object `target` (mutated in place).
pub(crate) fn build(a: &mut Arena, target: Id, state: Id, offset: u64) -> Result<(), PickleError> {
    let bad_state = |a: &Arena| {
        invalid(
            offset,
            "BUILD",
            format!("unexpected state for a {}", a.type_name(target)),
        )
    };
    match a.get(target) {
        Obj::ArrayStub => {
            let items = tuple_items(a, state).ok_or_else(|| bad_state(a))?;
            // (version, shape, dtype, is_fortran, raw) or the version-less 4-tuple
            let rest = match items.len() {
                5 => &items[1..],
                4 => &items[..],
                _ => return Err(bad_state(a)),
            };
            let shape = shape_of(a, rest[0]).ok_or_else(|| bad_state(a))?;
            let (dtype, order) = dtype_of(a, rest[1], offset)?;
            let fortran = match a.get(rest[2]) {
                Obj::Bool(b) => *b,
                Obj::Int(i) => *i != 0,
                _ => return Err(bad_state(a)),
            };
            let raw = bytes_of(a, rest[3]).ok_or_else(|| PickleError::BadArray {
                offset,
                detail: format!(
                    "data has type {} (object arrays are not supported)",
                    a.type_name(rest[3])
                ),
            })?;
            let arr = decode(dtype, order, &shape, raw, fortran)
                .map_err(|detail| PickleError::BadArray { offset, detail })?;
            a.objs[target] = Obj::Array(arr);
            Ok(())
        }
        Obj::Dtype { .. } => {
            let items = tuple_items(a, state).ok_or_else(|| bad_state(a))?;
            let order = items
                .get(1)
                .and_then(|&c| a.text(c))
                .ok_or_else(|| bad_state(a))?;
            // subarray, names and fields must be None: only plain scalar dtypes are read
            if items
                .iter()
                .skip(2)
                .take(3)
                .any(|&c| !matches!(a.get(c), Obj::None))
            {
                return Err(PickleError::BadArray {
                    offset,
                    detail: "structured or sub-array dtypes are not supported".into(),
                });
            }
            let c = order
                .chars()
                .next()
                .filter(|_| order.len() == 1)
                .ok_or_else(|| bad_state(a))?;
            if let Obj::Dtype { order, .. } = &mut a.objs[target] {
                *order = c;
            }
            Ok(())
        }
        // OrderedDict instance attributes (torch's `_metadata`): accepted and ignored.
        Obj::Dict(_) => Ok(()),
        _ => Err(bad_state(a)),
    }
}
