//! numpy element types and byte orders as they appear in pickled dtypes, plus the decoded
//! element buffer [`ArrayData`].
//!
//! Reference behaviour: numpy `dtype.__reduce__` writes `numpy.dtype(code, align, copy)` with a
//! code such as `f4` and puts the byte order (`<`, `>`, `|`) into the BUILD state.

use std::fmt;

/// Element types the reader decodes (numpy type codes `b1 u1 i1 u2 i2 u4 i4 u8 i8 f2 f4 f8`;
/// `Bf16` only comes from torch storages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum DType {
    Bool,
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F16,
    Bf16,
    F32,
    F64,
}

impl DType {
    /// Bytes per element.
    pub fn itemsize(self) -> usize {
        match self {
            Self::Bool | Self::U8 | Self::I8 => 1,
            Self::U16 | Self::I16 | Self::F16 | Self::Bf16 => 2,
            Self::U32 | Self::I32 | Self::F32 => 4,
            Self::U64 | Self::I64 | Self::F64 => 8,
        }
    }

    /// numpy's type code without byte order, e.g. `"f4"` (`"bf16"` for bfloat16).
    pub fn numpy_code(self) -> &'static str {
        match self {
            Self::Bool => "b1",
            Self::U8 => "u1",
            Self::I8 => "i1",
            Self::U16 => "u2",
            Self::I16 => "i2",
            Self::U32 => "u4",
            Self::I32 => "i4",
            Self::U64 => "u8",
            Self::I64 => "i8",
            Self::F16 => "f2",
            Self::Bf16 => "bf16",
            Self::F32 => "f4",
            Self::F64 => "f8",
        }
    }

    /// Parses a numpy type code such as `"f4"`, `"<i8"` or `"|u1"`; a leading byte-order
    /// character is returned separately. `None` for unsupported codes (`O8`, `U5`, `V16`, ...).
    pub(crate) fn parse_numpy(code: &str) -> Option<(Self, Option<ByteOrder>)> {
        let (order, body) = match code.chars().next() {
            Some(c @ ('<' | '>' | '|' | '=')) => (ByteOrder::from_char(c), &code[1..]),
            _ => (None, code),
        };
        let t = [
            Self::Bool,
            Self::U8,
            Self::I8,
            Self::U16,
            Self::I16,
            Self::U32,
            Self::I32,
            Self::U64,
            Self::I64,
            Self::F16,
            Self::F32,
            Self::F64,
        ]
        .into_iter()
        .find(|d| d.numpy_code() == body)?;
        Some((t, order))
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.numpy_code())
    }
}

/// Byte order of the raw buffer (numpy's `<`, `>`, `|`; `=` is read as little endian).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    /// `<` (and `=`; numpy always writes an explicit order into pickles).
    Little,
    /// `>`: values are byte-swapped on decode.
    Big,
    /// `|`: single-byte types.
    NotApplicable,
}

impl ByteOrder {
    pub(crate) fn from_char(c: char) -> Option<Self> {
        match c {
            '<' | '=' => Some(Self::Little),
            '>' => Some(Self::Big),
            '|' => Some(Self::NotApplicable),
            _ => None,
        }
    }
}

/// Decoded elements, native values, C order.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum ArrayData {
    Bool(Vec<bool>),
    U8(Vec<u8>),
    I8(Vec<i8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    U32(Vec<u32>),
    I32(Vec<i32>),
    U64(Vec<u64>),
    I64(Vec<i64>),
    /// IEEE half precision, raw bits (see [`f16_to_f32`]).
    F16(Vec<u16>),
    /// bfloat16, raw bits (upper half of an f32).
    Bf16(Vec<u16>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// Converts IEEE 754 half-precision bits to `f32` (exact).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let man = u32::from(h & 0x3ff);
    match exp {
        0 => {
            // zero or subnormal: man * 2^-24
            let v = man as f32 * (1.0 / 16_777_216.0);
            if sign != 0 { -v } else { v }
        }
        31 => f32::from_bits(sign | 0x7f80_0000 | (man << 13)),
        _ => f32::from_bits(sign | ((exp + 112) << 23) | (man << 13)),
    }
}
