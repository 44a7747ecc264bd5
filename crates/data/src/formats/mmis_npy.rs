//! The official repo's MMIS slice folders (huynhspm/Data-Uncertainty
//! `datasets/preprocess/mmis.py` output, read by `datasets/mmis.py`; `data-formats.md` §1c).
//!
//! Layout: `<root>/<case>/image_<i>.npy` of shape `(H, W, 3)` (t1, t1c, t2 on the last axis)
//! and `label_<i>.npy` of shape `(H, W, R)` (R = 4 raters on the last axis), dtypes as in the
//! source HDF5. A root that itself holds `image_<i>.npy` files is read as one case. Cases are
//! sorted by name, slices by the number `i`; ids are `<case>/<i>`, the group is the case.
//! Conversion to [`RawSample`] moves the channel axis first; `u1` images are divided by 255,
//! others cast to `f32`; a label value is foreground when `> 0.5` (the loader casts to uint8).

use std::path::{Path, PathBuf};

use thiserror::Error;

use super::raw::{RawDataset, RawSample, SourceFormat};
use crate::error::DataError;
use crate::npy::{NpyArray, NpyData};

/// Errors of the MMIS npy reader.
#[derive(Debug, Error)]
pub enum MmisNpyError {
    /// A folder could not be listed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// An array file could not be read.
    #[error(transparent)]
    Npy(#[from] DataError),
    /// The folder or an array does not have the MMIS layout.
    #[error("{}: {message}", path.display())]
    Layout {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// `(i, image path)` for every `image_<i>.npy` in `dir`, sorted by `i`.
pub fn slice_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>, MmisNpyError> {
    let io = |source| MmisNpyError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let p = entry.map_err(io)?.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if let Some(i) = name
            .strip_prefix("image_")
            .and_then(|r| r.strip_suffix(".npy"))
            .and_then(|n| n.parse().ok())
        {
            out.push((i, p));
        }
    }
    out.sort();
    Ok(out)
}

/// The case folders under `root` (sub-folders holding `image_<i>.npy`), or `root` itself.
pub fn case_dirs(root: &Path) -> Result<Vec<PathBuf>, MmisNpyError> {
    if !slice_files(root)?.is_empty() {
        return Ok(vec![root.to_path_buf()]);
    }
    let io = |source| MmisNpyError::Io {
        path: root.to_path_buf(),
        source,
    };
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(root).map_err(io)? {
        let p = entry.map_err(io)?.path();
        if p.is_dir() && !slice_files(&p)?.is_empty() {
            dirs.push(p);
        }
    }
    dirs.sort();
    Ok(dirs)
}

fn hwc(path: &Path, a: &NpyArray, what: &str) -> Result<(usize, usize, usize), MmisNpyError> {
    match a.shape.as_slice() {
        [h, w, c] => Ok((*h, *w, *c)),
        s => Err(MmisNpyError::Layout {
            path: path.to_path_buf(),
            message: format!("{what} has shape {s:?}; expected (H, W, C)"),
        }),
    }
}

/// Converts one `(H, W, 3)` image and `(H, W, R)` label pair to a sample.
pub fn slice_sample(
    id: String,
    group: Option<String>,
    image: &NpyArray,
    label: &NpyArray,
    files: (&Path, &Path),
) -> Result<RawSample, MmisNpyError> {
    let (h, w, c) = hwc(files.0, image, "image")?;
    let (lh, lw, raters) = hwc(files.1, label, "label")?;
    if (lh, lw) != (h, w) {
        return Err(MmisNpyError::Layout {
            path: files.1.to_path_buf(),
            message: format!("label is {lh}x{lw} but the image is {h}x{w}"),
        });
    }
    let scale = if matches!(image.data, NpyData::U8(_)) {
        255.0
    } else {
        1.0
    };
    let px = image.to_f64();
    let lab = label.to_f64();
    let mut img = vec![0.0f32; c * h * w];
    for (p, chunk) in px.chunks_exact(c.max(1)).enumerate().take(h * w) {
        for (ch, &v) in chunk.iter().enumerate() {
            img[ch * h * w + p] = (v / scale) as f32;
        }
    }
    let mut masks = vec![vec![0u8; h * w]; raters];
    for (p, chunk) in lab.chunks_exact(raters.max(1)).enumerate().take(h * w) {
        for (r, &v) in chunk.iter().enumerate() {
            masks[r][p] = u8::from(v > 0.5);
        }
    }
    Ok(RawSample {
        id,
        group,
        image: img,
        channels: c,
        height: h,
        width: w,
        masks,
    })
}

/// Reads an official MMIS npy folder (all cases, all slices).
pub fn read_mmis_npy_dir(root: &Path) -> Result<RawDataset, MmisNpyError> {
    let mut ds = RawDataset {
        source: root.display().to_string(),
        format: SourceFormat::MmisNpy,
        image_dtype: None,
        mask_dtype: None,
        samples: Vec::new(),
    };
    for dir in case_dirs(root)? {
        let case = dir
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        for (i, image_path) in slice_files(&dir)? {
            let label_path = dir.join(format!("label_{i}.npy"));
            if !label_path.is_file() {
                return Err(MmisNpyError::Layout {
                    path: image_path,
                    message: format!("no matching label_{i}.npy"),
                });
            }
            let image = NpyArray::read(&image_path)?;
            let label = NpyArray::read(&label_path)?;
            let files = (image_path.as_path(), label_path.as_path());
            let s = slice_sample(
                format!("{case}/{i}"),
                Some(case.clone()),
                &image,
                &label,
                files,
            )?;
            ds.samples.push(s);
        }
    }
    Ok(ds)
}
