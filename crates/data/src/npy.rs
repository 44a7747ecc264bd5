//! Reading and writing numpy `.npy` arrays (npyz), the interchange format of `fmseg evaluate`,
//! `fmseg data synth` and the official MMIS slice folders. Reads accept C and Fortran order and
//! the dtypes f4, f8, u1, b1, i1, i2, i4, i8, u2, u4, u8 (any byte order); writes are atomic.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
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
    /// Reads a `.npy` file. The magic, version and header are checked before the body is read,
    /// and the body must be exactly the size the header announces, so a small or endless file
    /// (`/dev/zero`) costs no more memory than its header justifies.
    pub fn read(path: &Path) -> Result<Self, DataError> {
        let (file, size) = open_regular(path)?;
        Self::read_from(std::io::BufReader::new(file), size, path)
    }

    /// Reads a `.npy` image held in memory; `name` stands for the file in error messages. The
    /// same checks as [`NpyArray::read`] apply (the fuzz target's entry point).
    pub fn from_bytes(name: &Path, bytes: &[u8]) -> Result<Self, DataError> {
        Self::read_from(std::io::Cursor::new(bytes), bytes.len() as u64, name)
    }

    /// Reads a `.npy` stream of `size` bytes: the preamble and header are checked first, then the
    /// body is read only when it is exactly the size the header announces.
    fn read_from<R: Read + Seek>(mut reader: R, size: u64, path: &Path) -> Result<Self, DataError> {
        let bad = |m: String| DataError::invalid(path, m);
        let data_offset = check_preamble(&mut reader, size, path)?;
        let npy =
            npyz::NpyFile::new(reader).map_err(|e| bad(format!("not a valid .npy file: {e}")))?;
        let shape = npy
            .shape()
            .iter()
            .map(|&d| usize::try_from(d).ok())
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| bad(format!("shape {:?} does not fit this machine", npy.shape())))?;
        let bytes = element_count(&shape)
            .and_then(|count| count.checked_mul(npy.dtype().num_bytes().unwrap_or(0)))
            .ok_or_else(|| {
                bad(format!(
                    "shape {shape:?} has more elements than this machine can address"
                ))
            })?;
        if data_offset.checked_add(bytes as u64) != Some(size) {
            return Err(bad(format!(
                "the header announces {bytes} bytes of data for shape {shape:?}, the file holds {}",
                size.saturating_sub(data_offset)
            )));
        }
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

    /// Number of elements (the shape was checked not to overflow when it was read).
    pub fn len(&self) -> usize {
        element_count(&self.shape).unwrap_or(usize::MAX)
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

/// The product of the dimensions, `None` on overflow.
pub fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
}

/// Opens `path`, refused unless it is a regular file (not `/dev/zero`, a pipe or a folder);
/// returns the file and its size.
fn open_regular(path: &Path) -> Result<(File, u64), DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let meta = file.metadata().map_err(|e| DataError::io(path, e))?;
    if !meta.is_file() {
        return Err(DataError::invalid(path, "not a regular file"));
    }
    Ok((file, meta.len()))
}

/// Reads only the preamble of a `.npy` stream of `size` bytes: the magic, the version, the header
/// length and the header's shape (checked not to overflow before the npy parser multiplies it
/// out). Returns the offset of the body, with the stream rewound to its start.
fn check_preamble<R: Read + Seek>(file: &mut R, size: u64, path: &Path) -> Result<u64, DataError> {
    let bad = |m: String| DataError::invalid(path, m);
    let mut preamble = [0u8; 12];
    let mut got = 0;
    while got < preamble.len() {
        match file.read(&mut preamble[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(DataError::io(path, e)),
        }
    }
    if got < 10 || &preamble[..6] != b"\x93NUMPY" {
        return Err(bad(
            "not a valid .npy file: it does not start with the NUMPY magic".into(),
        ));
    }
    let (header, fixed) = match preamble[6] {
        1 => (
            u64::from(u16::from_le_bytes([preamble[8], preamble[9]])),
            10,
        ),
        2 | 3 if got == 12 => (
            u64::from(u32::from_le_bytes([
                preamble[8],
                preamble[9],
                preamble[10],
                preamble[11],
            ])),
            12,
        ),
        v => return Err(bad(format!("not a valid .npy file: format version {v}"))),
    };
    let offset = fixed + header;
    if offset > size {
        return Err(bad(format!(
            "not a valid .npy file: a {header}-byte header in a {size}-byte file"
        )));
    }
    // The shape is checked here, before the npy parser multiplies it out.
    file.seek(SeekFrom::Start(fixed))
        .map_err(|e| DataError::io(path, e))?;
    let mut text = Vec::new();
    file.by_ref()
        .take(header)
        .read_to_end(&mut text)
        .map_err(|e| DataError::io(path, e))?;
    let depth = nesting_depth(&text);
    if depth > MAX_HEADER_NESTING {
        return Err(bad(format!(
            "not a valid .npy file: its header nests brackets {depth} deep (at most \
             {MAX_HEADER_NESTING} for a dict of descr, fortran_order and shape)"
        )));
    }
    if let Some(shape) = header_shape(&String::from_utf8_lossy(&text))
        && shape
            .iter()
            .try_fold(1u64, |n, &d| n.checked_mul(d))
            .and_then(|n| usize::try_from(n).ok())
            .is_none()
    {
        return Err(bad(format!(
            "shape {shape:?} has more elements than this machine can address"
        )));
    }
    file.seek(SeekFrom::Start(0))
        .map_err(|e| DataError::io(path, e))?;
    Ok(offset)
}

/// The deepest bracket nesting a header may have: the dict, a structured dtype's list of field
/// tuples and a sub-array shape inside one. The npy parser backtracks exponentially in the depth
/// (a 200-byte header of 40 `[` took longer than 10 s), so deeper headers are refused first.
const MAX_HEADER_NESTING: usize = 4;

/// The deepest nesting of `(`, `[` and `{` in a header (quotes are not tracked, so a bracket inside
/// a string counts too, which only makes the limit stricter for names that no dtype uses).
fn nesting_depth(header: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for &b in header {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// The dimensions of the header dict's `'shape': (...)` tuple, when it reads as one.
fn header_shape(header: &str) -> Option<Vec<u64>> {
    let after = &header[header.find("'shape'")? + "'shape'".len()..];
    let open = after.find('(')?;
    let close = after[open..].find(')')? + open;
    after[open + 1..close]
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.trim_end_matches('L').parse::<u64>().ok())
        .collect()
}

fn widen<T: Into<i64>>(v: Vec<T>) -> Vec<i64> {
    v.into_iter().map(Into::into).collect()
}

fn write<T: npyz::Serialize + npyz::AutoSerialize + Copy>(
    path: &Path,
    shape: &[usize],
    data: &[T],
) -> Result<(), DataError> {
    if element_count(shape) != Some(data.len()) {
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
    fn header_shape_is_read_before_the_parser() {
        let h = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }";
        assert_eq!(header_shape(h), Some(vec![2, 3, 4]));
        assert_eq!(
            header_shape("{'shape': (7,), 'descr': '|u1'}"),
            Some(vec![7])
        );
        assert_eq!(header_shape("{'shape': (), }"), Some(vec![]));
        assert_eq!(header_shape("{'descr': '<f4'}"), None);
        assert_eq!(element_count(&[usize::MAX, 2]), None);
        assert_eq!(element_count(&[]), Some(1));
    }

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
    fn bytes_in_memory_read_as_the_file_does() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        write_f32(&p, &[2, 2], &[0.5, 1.0, 1.5, 2.0]).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        let name = Path::new("mem.npy");
        assert_eq!(
            NpyArray::from_bytes(name, &bytes).unwrap(),
            NpyArray::read(&p).unwrap()
        );
        for cut in [0, 5, 11, bytes.len() - 1] {
            let msg = NpyArray::from_bytes(name, &bytes[..cut])
                .unwrap_err()
                .to_string();
            assert!(msg.contains("mem.npy"), "{cut}: {msg}");
        }
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904, 4, 4), }";
        let mut forged = b"\x93NUMPY\x01\x00".to_vec();
        forged.extend_from_slice(&(header.len() as u16).to_le_bytes());
        forged.extend_from_slice(header.as_bytes());
        let msg = NpyArray::from_bytes(name, &forged).unwrap_err().to_string();
        assert!(msg.contains("more elements than this machine"), "{msg}");
        // found by fuzzing: 40 nested '[' made the npy parser backtrack for minutes
        let header = format!("{{{}'descr': '<f4', 'shape': (1,), }}", "[".repeat(40));
        let mut deep = b"\x93NUMPY\x01\x00".to_vec();
        deep.extend_from_slice(&(header.len() as u16).to_le_bytes());
        deep.extend_from_slice(header.as_bytes());
        deep.extend_from_slice(&[0; 4]);
        let msg = NpyArray::from_bytes(name, &deep).unwrap_err().to_string();
        assert!(msg.contains("nests brackets 42 deep"), "{msg}");
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
