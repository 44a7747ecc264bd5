//! MMIS 2024 task 1 (NPC-170) per-case HDF5 files, read with the pure-Rust `hdf5-pure` crate.
//!
//! Reference behaviour (huynhspm/Data-Uncertainty `datasets/preprocess/mmis.py`, D-Persona's
//! loader; `shared/docs/data-formats.md` §1c): each file holds the root datasets `t1`, `t1c`,
//! `t2` (images) and `label_a1` .. `label_a4` (raters). A dataset is either 2-D `(H, W)` (the
//! per-slice release) or 3-D `(D, H, W)` with the slice axis first (the per-volume release); the
//! official preprocess writes every slice, empty ones included, with the three images stacked
//! as channels. Shapes and dtypes are read from the file, never assumed; any integer or float
//! dtype is accepted. Images follow [`crate::formats::raw`]: `u8` is divided by 255, other types
//! are cast to `f32`; a mask pixel is foreground when `> 0.5`.

use std::path::Path;

use thiserror::Error;

use super::pickle::DType;
use super::raw::{RawDataset, RawSample, SourceFormat};

/// The image datasets, in channel order.
pub const MMIS_IMAGE_KEYS: [&str; 3] = ["t1", "t1c", "t2"];

/// Errors of the MMIS HDF5 reader; each names the file and, where it applies, the dataset.
#[derive(Debug, Error)]
pub enum MmisH5Error {
    /// The file or folder could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The cause.
        source: std::io::Error,
    },
    /// `hdf5-pure` rejected the file or a dataset.
    #[error("{file}: HDF5 error{}: {message}", dataset.as_ref().map(|d| format!(" in `{d}`")).unwrap_or_default())]
    Hdf5 {
        /// The file.
        file: String,
        /// The dataset, if the error is about one.
        dataset: Option<String>,
        /// The library's message.
        message: String,
    },
    /// The layout is not the MMIS one (missing dataset, bad rank, shapes that differ, bad dtype).
    #[error("{file}: {message}")]
    Layout {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
}

fn to_dtype(d: &hdf5_pure::DType) -> Option<DType> {
    use hdf5_pure::DType as H;
    Some(match d {
        H::F32 => DType::F32,
        H::F64 => DType::F64,
        H::I8 => DType::I8,
        H::I16 => DType::I16,
        H::I32 => DType::I32,
        H::I64 => DType::I64,
        H::U8 => DType::U8,
        H::U16 => DType::U16,
        H::U32 => DType::U32,
        H::U64 => DType::U64,
        _ => return None,
    })
}

/// One dataset read whole: `(slices, height, width)`, dtype, values widened to `f64`.
struct Plane {
    dims: (usize, usize, usize),
    two_d: bool,
    dtype: DType,
    values: Vec<f64>,
}

/// Bytes a dataset may decode to, given the file size: deflate expands at most ~1032x, so a
/// larger claim is hostile (found by fuzzing: a forged shape or chunk shape made `hdf5-pure`
/// allocate exabytes and abort the process).
fn decode_budget(file_len: usize) -> u128 {
    (file_len as u128) * 1100 + (1 << 24)
}

fn read_plane(
    file: &str,
    h5: &hdf5_pure::File,
    key: &str,
    file_len: usize,
) -> Result<Plane, MmisH5Error> {
    let err = |e: hdf5_pure::Error| MmisH5Error::Hdf5 {
        file: file.to_string(),
        dataset: Some(key.to_string()),
        message: e.to_string(),
    };
    let layout = |message: String| MmisH5Error::Layout {
        file: file.to_string(),
        message,
    };
    let ds = h5.dataset(key).map_err(err)?;
    let shape = ds.shape().map_err(err)?;
    let h5_dtype = ds.dtype().map_err(err)?;
    let dtype = to_dtype(&h5_dtype)
        .ok_or_else(|| layout(format!("`{key}` has unsupported dtype {h5_dtype}")))?;
    let dim = |v: u64| usize::try_from(v).map_err(|_| layout(format!("`{key}`: huge dimension")));
    let dims = match shape.as_slice() {
        [h, w] => (1, dim(*h)?, dim(*w)?),
        [d, h, w] => (dim(*d)?, dim(*h)?, dim(*w)?),
        _ => {
            return Err(layout(format!(
                "`{key}` has shape {shape:?}; expected (H, W) or (D, H, W)"
            )));
        }
    };
    let budget = decode_budget(file_len);
    let bytes_of = |dims: &[u64]| {
        dims.iter()
            .fold(8u128, |acc, &d| acc.saturating_mul(u128::from(d)))
    };
    let chunk = ds.chunk_shape().map_err(err)?.unwrap_or_default();
    if bytes_of(&shape) > budget || bytes_of(&chunk) > budget {
        return Err(layout(format!(
            "`{key}`: shape {shape:?} / chunk {chunk:?} is implausibly large for a {file_len}-byte file"
        )));
    }
    let values = ds.read_f64().map_err(err)?;
    let expected = dims
        .0
        .checked_mul(dims.1)
        .and_then(|x| x.checked_mul(dims.2));
    if expected != Some(values.len()) {
        return Err(layout(format!(
            "`{key}`: {} values for shape {shape:?}",
            values.len()
        )));
    }
    Ok(Plane {
        dims,
        two_d: shape.len() == 2,
        dtype,
        values,
    })
}

/// Reads one MMIS case from HDF5 bytes; `file` names it in errors and ids (its stem is the group).
pub fn mmis_from_h5_bytes(file: &str, bytes: Vec<u8>) -> Result<RawDataset, MmisH5Error> {
    let file_len = bytes.len();
    let h5 = hdf5_pure::File::from_bytes(bytes).map_err(|e| MmisH5Error::Hdf5 {
        file: file.to_string(),
        dataset: None,
        message: e.to_string(),
    })?;
    let names = h5.root().datasets().map_err(|e| MmisH5Error::Hdf5 {
        file: file.to_string(),
        dataset: None,
        message: e.to_string(),
    })?;
    let layout = |message: String| MmisH5Error::Layout {
        file: file.to_string(),
        message,
    };
    let mut label_keys: Vec<(u32, &String)> = names
        .iter()
        .filter_map(|n| Some((n.strip_prefix("label_a")?.parse().ok()?, n)))
        .collect();
    label_keys.sort();
    if label_keys.is_empty() {
        return Err(layout(format!("no `label_a<k>` dataset (found {names:?})")));
    }
    let mut images = Vec::new();
    for key in MMIS_IMAGE_KEYS {
        if !names.iter().any(|n| n == key) {
            return Err(layout(format!(
                "missing image dataset `{key}` (found {names:?})"
            )));
        }
        images.push(read_plane(file, &h5, key, file_len)?);
    }
    let labels = label_keys
        .iter()
        .map(|(_, k)| read_plane(file, &h5, k, file_len))
        .collect::<Result<Vec<_>, _>>()?;
    let dims = images[0].dims;
    if let Some(bad) = images
        .iter()
        .chain(&labels)
        .find(|p| p.dims != dims || p.two_d != images[0].two_d)
    {
        return Err(layout(format!(
            "datasets differ in shape: {:?} vs {:?}",
            dims, bad.dims
        )));
    }
    let (depth, h, w) = dims;
    let plane = h * w;
    let stem = Path::new(file)
        .file_stem()
        .map_or_else(|| file.to_string(), |s| s.to_string_lossy().into_owned());
    let mut samples = Vec::with_capacity(depth);
    for z in 0..depth {
        let range = z * plane..(z + 1) * plane;
        let mut image = Vec::with_capacity(3 * plane);
        for p in &images {
            let scale = if p.dtype == DType::U8 { 255.0 } else { 1.0 };
            image.extend(p.values[range.clone()].iter().map(|&v| (v / scale) as f32));
        }
        let masks = labels
            .iter()
            .map(|p| {
                p.values[range.clone()]
                    .iter()
                    .map(|&v| u8::from(v > 0.5))
                    .collect()
            })
            .collect();
        let id = if images[0].two_d {
            stem.clone()
        } else {
            format!("{stem}/{z}")
        };
        samples.push(RawSample {
            id,
            group: Some(stem.clone()),
            image,
            channels: 3,
            height: h,
            width: w,
            masks,
        });
    }
    Ok(RawDataset {
        source: file.to_string(),
        format: SourceFormat::MmisH5,
        image_dtype: Some(images[0].dtype),
        mask_dtype: Some(labels[0].dtype),
        samples,
    })
}

/// Reads one MMIS `.h5` case file.
pub fn read_mmis_h5(path: &Path) -> Result<RawDataset, MmisH5Error> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| MmisH5Error::Io {
        file: file.clone(),
        source,
    })?;
    mmis_from_h5_bytes(&file, bytes)
}

/// The `.h5` files directly inside `dir`, sorted by name.
pub fn list_h5_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, MmisH5Error> {
    let io = |source| MmisH5Error::Io {
        file: dir.display().to_string(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let p = entry.map_err(io)?.path();
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or_default();
        if p.is_file() && matches!(ext, "h5" | "hdf5") {
            files.push(p);
        }
    }
    files.sort();
    Ok(files)
}

/// Reads every `.h5` case in a folder (sorted by file name) into one dataset.
pub fn read_mmis_h5_dir(dir: &Path) -> Result<RawDataset, MmisH5Error> {
    let mut out = RawDataset {
        source: dir.display().to_string(),
        format: SourceFormat::MmisH5,
        image_dtype: None,
        mask_dtype: None,
        samples: Vec::new(),
    };
    for f in list_h5_files(dir)? {
        let ds = read_mmis_h5(&f)?;
        out.image_dtype = out.image_dtype.or(ds.image_dtype);
        out.mask_dtype = out.mask_dtype.or(ds.mask_dtype);
        out.samples.extend(ds.samples);
    }
    Ok(out)
}
