//! Decoded numpy arrays ([`NdArray`]) and the raw-buffer decoder.
//!
//! Reference behaviour: numpy's `ndarray.__setstate__((version, shape, dtype, is_fortran, raw))`
//! and `numpy.frombuffer(raw, dtype).reshape(shape, order=order)`: `raw` holds exactly
//! `prod(shape) * itemsize` bytes in the dtype's byte order, Fortran order when flagged.
//! Decoded arrays hold native values in C (row-major) order.

use std::sync::Arc;

use super::dtype::{ArrayData, ByteOrder, DType, f16_to_f32};

/// A decoded n-dimensional array: shape plus C-order elements. The elements are shared: an array
/// the pickle refers to several times (through its memo) is held once, and cloning an `NdArray`
/// does not copy them.
#[derive(Debug, Clone, PartialEq)]
pub struct NdArray {
    shape: Vec<usize>,
    data: Arc<ArrayData>,
}

macro_rules! per_type {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            ArrayData::Bool($v) => $body,
            ArrayData::U8($v) => $body,
            ArrayData::I8($v) => $body,
            ArrayData::U16($v) => $body,
            ArrayData::I16($v) => $body,
            ArrayData::U32($v) => $body,
            ArrayData::I32($v) => $body,
            ArrayData::U64($v) => $body,
            ArrayData::I64($v) => $body,
            ArrayData::F16($v) => $body,
            ArrayData::Bf16($v) => $body,
            ArrayData::F32($v) => $body,
            ArrayData::F64($v) => $body,
        }
    };
}

impl NdArray {
    /// An array from a shape and C-order data; `None` when the element count differs.
    pub fn new(shape: Vec<usize>, data: ArrayData) -> Option<Self> {
        let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))?;
        let len = per_type!(&data, v => v.len());
        (n == len).then_some(Self {
            shape,
            data: Arc::new(data),
        })
    }

    /// Element type.
    pub fn dtype(&self) -> DType {
        match self.data.as_ref() {
            ArrayData::Bool(_) => DType::Bool,
            ArrayData::U8(_) => DType::U8,
            ArrayData::I8(_) => DType::I8,
            ArrayData::U16(_) => DType::U16,
            ArrayData::I16(_) => DType::I16,
            ArrayData::U32(_) => DType::U32,
            ArrayData::I32(_) => DType::I32,
            ArrayData::U64(_) => DType::U64,
            ArrayData::I64(_) => DType::I64,
            ArrayData::F16(_) => DType::F16,
            ArrayData::Bf16(_) => DType::Bf16,
            ArrayData::F32(_) => DType::F32,
            ArrayData::F64(_) => DType::F64,
        }
    }

    /// Shape (numpy order: slowest axis first).
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        per_type!(self.data.as_ref(), v => v.len())
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The typed C-order elements.
    pub fn data(&self) -> &ArrayData {
        &self.data
    }

    /// Gives up the array, keeping its typed elements (copied only when the elements are
    /// still shared with another `NdArray`).
    pub fn into_data(self) -> ArrayData {
        Arc::try_unwrap(self.data).unwrap_or_else(|shared| (*shared).clone())
    }

    /// `f32` elements without conversion, if the dtype is `f4`.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match self.data.as_ref() {
            ArrayData::F32(v) => Some(v),
            _ => None,
        }
    }

    /// `u8` elements without conversion, if the dtype is `u1`.
    pub fn as_u8(&self) -> Option<&[u8]> {
        match self.data.as_ref() {
            ArrayData::U8(v) => Some(v),
            _ => None,
        }
    }

    /// All elements converted to `f64` (booleans as 0/1; 64-bit integers may round).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        match self.data.as_ref() {
            ArrayData::Bool(v) => v.iter().map(|&b| f64::from(u8::from(b))).collect(),
            ArrayData::U64(v) => v.iter().map(|&x| x as f64).collect(),
            ArrayData::I64(v) => v.iter().map(|&x| x as f64).collect(),
            ArrayData::F16(v) => v.iter().map(|&x| f64::from(f16_to_f32(x))).collect(),
            ArrayData::Bf16(v) => v.iter().map(|&x| f64::from(bf16_to_f32(x))).collect(),
            ArrayData::U8(v) => v.iter().map(|&x| f64::from(x)).collect(),
            ArrayData::I8(v) => v.iter().map(|&x| f64::from(x)).collect(),
            ArrayData::U16(v) => v.iter().map(|&x| f64::from(x)).collect(),
            ArrayData::I16(v) => v.iter().map(|&x| f64::from(x)).collect(),
            ArrayData::U32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            ArrayData::I32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            ArrayData::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            ArrayData::F64(v) => v.clone(),
        }
    }

    /// All elements converted to `f32` (as numpy's `astype(np.float32)`).
    pub fn to_f32_vec(&self) -> Vec<f32> {
        match self.data.as_ref() {
            ArrayData::F32(v) => v.clone(),
            ArrayData::F16(v) => v.iter().map(|&x| f16_to_f32(x)).collect(),
            ArrayData::Bf16(v) => v.iter().map(|&x| bf16_to_f32(x)).collect(),
            ArrayData::F64(v) => v.iter().map(|&x| x as f32).collect(),
            _ => self.to_f64_vec().into_iter().map(|x| x as f32).collect(),
        }
    }
}

/// Converts bfloat16 bits to `f32` (exact).
pub fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits(u32::from(h) << 16)
}

/// Decodes `raw` into an array; `Err` carries a human-readable reason.
pub(crate) fn decode(
    dtype: DType,
    order: ByteOrder,
    shape: &[usize],
    raw: &[u8],
    fortran: bool,
) -> Result<NdArray, String> {
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| format!("shape {shape:?} overflows"))?;
    let expected = count
        .checked_mul(dtype.itemsize())
        .ok_or_else(|| format!("shape {shape:?} overflows"))?;
    if raw.len() != expected {
        return Err(format!(
            "dtype {dtype} shape {shape:?} needs {expected} bytes, buffer holds {}",
            raw.len()
        ));
    }
    let big = order == ByteOrder::Big;
    macro_rules! num {
        ($t:ty, $variant:ident) => {{
            const N: usize = std::mem::size_of::<$t>();
            let v: Vec<$t> = raw
                .chunks_exact(N)
                .map(|c| {
                    let mut b = [0u8; N];
                    b.copy_from_slice(c);
                    if big {
                        <$t>::from_be_bytes(b)
                    } else {
                        <$t>::from_le_bytes(b)
                    }
                })
                .collect();
            ArrayData::$variant(reorder(v, shape, fortran))
        }};
    }
    let data = match dtype {
        DType::Bool => ArrayData::Bool(reorder(
            raw.iter().map(|&b| b != 0).collect(),
            shape,
            fortran,
        )),
        DType::U8 => ArrayData::U8(reorder(raw.to_vec(), shape, fortran)),
        DType::I8 => num!(i8, I8),
        DType::U16 => num!(u16, U16),
        DType::I16 => num!(i16, I16),
        DType::U32 => num!(u32, U32),
        DType::I32 => num!(i32, I32),
        DType::U64 => num!(u64, U64),
        DType::I64 => num!(i64, I64),
        DType::F16 => num!(u16, F16),
        DType::Bf16 => num!(u16, Bf16),
        DType::F32 => num!(f32, F32),
        DType::F64 => num!(f64, F64),
    };
    Ok(NdArray {
        shape: shape.to_vec(),
        data: Arc::new(data),
    })
}

/// Fortran-order elements → C order (identity for C order or fewer than two axes).
fn reorder<T: Copy>(v: Vec<T>, shape: &[usize], fortran: bool) -> Vec<T> {
    if !fortran || shape.iter().filter(|&&d| d > 1).count() < 2 {
        return v;
    }
    // Fortran strides: axis 0 is contiguous.
    let mut fstride = vec![1usize; shape.len()];
    for k in 1..shape.len() {
        fstride[k] = fstride[k - 1] * shape[k - 1];
    }
    let mut out = Vec::with_capacity(v.len());
    let mut idx = vec![0usize; shape.len()];
    let mut src = 0usize;
    for _ in 0..v.len() {
        out.push(v[src]);
        // advance the C-order multi-index (last axis fastest), tracking the Fortran offset
        for k in (0..shape.len()).rev() {
            idx[k] += 1;
            src += fstride[k];
            if idx[k] < shape[k] {
                break;
            }
            src -= fstride[k] * shape[k];
            idx[k] = 0;
        }
    }
    out
}
