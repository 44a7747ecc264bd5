//! Reading and writing numpy `.npy` arrays (npyz), the interchange format of `fmseg evaluate`,
//! `fmseg data synth` and the official MMIS slice folders. Reads accept C and Fortran order and
//! the dtypes f4, f8, u1, b1, i1, i2, i4, i8, u2, u4, u8 (any byte order); writes are atomic.

use std::path::Path;

use npyz::{Order, TypeChar, WriterBuilder};

use crate::atomic::write_atomic_with;
use crate::error::DataError;

/// The elements of an array, in C order.
#[derive(Debug, Clone, PartialEq)]
pub enum NpyData {
    /// float32.
    F32(Vec<f32>),
    /// float64.
    F64(Vec<f64>),
    /// uint8.
    U8(Vec<u8>),
    /// bool.
    Bool(Vec<bool>),
    /// Any other integer dtype, widened.
    Int(Vec<i64>),
}

/// An n-d array read from a `.npy` file.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// The shape.
    pub shape: Vec<usize>,
    /// The numpy type string, e.g. `<f4`.
    pub dtype: String,
    /// The elements in C order.
    pub data: NpyData,
}

fn fortran_to_c<T: Copy>(data: Vec<T>, shape: &[usize]) -> Vec<T> {
    if shape.len() < 2 {
        return data;
    }
    let mut out = Vec::with_capacity(data.len());
    let mut index = vec![0usize; shape.len()];
    for _ in 0..data.len() {
        // Fortran offset of the C-order multi-index.
        let mut offset = 0;
        let mut stride = 1;
        for (i, &dim) in index.iter().zip(shape) {
            offset += i * stride;
            stride *= dim;
        }
        out.push(data[offset]);
        for d in (0..shape.len()).rev() {
            index[d] += 1;
            if index[d] < shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
    out
}

impl NpyArray {
    /// Reads a `.npy` file.
    pub fn read(path: &Path) -> Result<Self, DataError> {
        let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
        let bad = |m: String| DataError::invalid(path, m);
        let npy = npyz::NpyFile::new(&bytes[..])
            .map_err(|e| bad(format!("not a valid .npy file: {e}")))?;
        let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
        let fortran = npy.order() == Order::Fortran;
        let npyz::DType::Plain(ty) = npy.dtype() else {
            return Err(bad(format!(
                "structured dtype {} is not supported",
                npy.dtype().descr()
            )));
        };
        let dtype = ty.to_string();
        let read_err = |e: std::io::Error| bad(format!("reading {dtype} data: {e}"));
        let data = match (ty.type_char(), ty.size_field()) {
            (TypeChar::Float, 4) => NpyData::F32(npy.into_vec().map_err(read_err)?),
            (TypeChar::Float, 8) => NpyData::F64(npy.into_vec().map_err(read_err)?),
            (TypeChar::Uint, 1) => NpyData::U8(npy.into_vec().map_err(read_err)?),
            (TypeChar::Bool, 1) => NpyData::Bool(npy.into_vec().map_err(read_err)?),
            (TypeChar::Int, 1) => NpyData::Int(widen::<i8>(npy.into_vec().map_err(read_err)?)),
            (TypeChar::Int, 2) => NpyData::Int(widen::<i16>(npy.into_vec().map_err(read_err)?)),
            (TypeChar::Int, 4) => NpyData::Int(widen::<i32>(npy.into_vec().map_err(read_err)?)),
            (TypeChar::Int, 8) => NpyData::Int(npy.into_vec().map_err(read_err)?),
            (TypeChar::Uint, 2) => NpyData::Int(widen::<u16>(npy.into_vec().map_err(read_err)?)),
            (TypeChar::Uint, 4) => NpyData::Int(widen::<u32>(npy.into_vec().map_err(read_err)?)),
            _ => return Err(bad(format!("dtype {dtype} is not supported"))),
        };
        let data = if fortran {
            match data {
                NpyData::F32(v) => NpyData::F32(fortran_to_c(v, &shape)),
                NpyData::F64(v) => NpyData::F64(fortran_to_c(v, &shape)),
                NpyData::U8(v) => NpyData::U8(fortran_to_c(v, &shape)),
                NpyData::Bool(v) => NpyData::Bool(fortran_to_c(v, &shape)),
                NpyData::Int(v) => NpyData::Int(fortran_to_c(v, &shape)),
            }
        } else {
            data
        };
        Ok(Self { shape, dtype, data })
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements as f64 (every dtype converts exactly except i64 beyond 2^53).
    pub fn to_f64(&self) -> Vec<f64> {
        match &self.data {
            NpyData::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            NpyData::F64(v) => v.clone(),
            NpyData::U8(v) => v.iter().map(|&x| f64::from(x)).collect(),
            NpyData::Bool(v) => v.iter().map(|&x| f64::from(u8::from(x))).collect(),
            NpyData::Int(v) => v.iter().map(|&x| x as f64).collect(),
        }
    }
}

fn widen<T: Into<i64>>(v: Vec<T>) -> Vec<i64> {
    v.into_iter().map(Into::into).collect()
}

fn write<T: npyz::Serialize + npyz::AutoSerialize + Copy>(
    path: &Path,
    shape: &[usize],
    data: &[T],
) -> Result<(), DataError> {
    let expected: usize = shape.iter().product();
    if expected != data.len() {
        return Err(DataError::invalid(
            path,
            format!("{} values do not fill shape {shape:?}", data.len()),
        ));
    }
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    write_atomic_with(path, |w| {
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&shape)
            .writer(w)
            .begin_nd()?;
        writer.extend(data.iter().copied())?;
        writer.finish()
    })
}

/// Writes a float32 array atomically.
pub fn write_f32(path: &Path, shape: &[usize], data: &[f32]) -> Result<(), DataError> {
    write(path, shape, data)
}

/// Writes a uint8 array atomically.
pub fn write_u8(path: &Path, shape: &[usize], data: &[u8]) -> Result<(), DataError> {
    write(path, shape, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_f32_and_u8() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        write_f32(&p, &[2, 3], &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        let a = NpyArray::read(&p).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.data, NpyData::F32(vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]));
        write_u8(&p, &[3], &[1, 0, 1]).unwrap();
        assert_eq!(NpyArray::read(&p).unwrap().data, NpyData::U8(vec![1, 0, 1]));
    }

    #[test]
    fn fortran_order_is_transposed() {
        // (2, 3) array [[0,1,2],[3,4,5]] stored column-major: 0 3 1 4 2 5
        let v = fortran_to_c(vec![0, 3, 1, 4, 2, 5], &[2, 3]);
        assert_eq!(v, vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("junk.npy");
        std::fs::write(&p, b"not numpy").unwrap();
        let msg = NpyArray::read(&p).unwrap_err().to_string();
        assert!(
            msg.contains("junk.npy") && msg.contains("not a valid .npy"),
            "{msg}"
        );
        let missing = NpyArray::read(&dir.path().join("nope.npy"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("nope.npy"), "{missing}");
    }
}
