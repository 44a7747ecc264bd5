//! CIMD-style folders: one folder per sample holding `image_<k>.jpg` and `label<d>_.jpg`.
//!
//! Reference behaviour (aimansnigdha/Ambiguous-Medical-Image-Segmentation-using-Diffusion-Models
//! `guided_diffusion/lidcloader.py`, see `shared/docs/data-formats.md` §1b): the folder tree is
//! walked recursively; in each folder a file is identified by the text before its first `_`
//! (`image`, `label0`, `label1`, ...); every `label<d>` sibling is one rater, ordered by `d`.
//! 8-bit greyscale (colour files are reduced to luma); image values are divided by 255,
//! masks are foreground where the pixel is `> 127` (JPEG edges are lossy).
//! Samples come out in natural path order (`training/2` before `training/10`); the id is the
//! folder path relative to the root.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::pickle::DType;
use super::raw::{RawDataset, RawSample, SourceFormat};

/// Deepest folder nesting that is walked (guards against symlink loops).
const MAX_DEPTH: usize = 32;

/// Why a CIMD folder tree could not be read.
#[derive(Debug, Error)]
pub enum CimdError {
    /// Listing a folder or reading a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The folder or file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is not a decodable image.
    #[error("{}: {source}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// The decoder's error.
        source: image::ImageError,
    },
    /// A sample folder is inconsistent (missing or duplicate files, differing sizes).
    #[error("sample '{sample}': {detail}")]
    Sample {
        /// Folder path relative to the root.
        sample: String,
        /// What is wrong.
        detail: String,
    },
    /// The walk went deeper than 32 folders (guards against symlink loops).
    #[error("{}: folders nest deeper than {MAX_DEPTH} levels", path.display())]
    TooDeep {
        /// The folder where the walk stopped.
        path: PathBuf,
    },
}

/// Reads every sample folder below `root`.
pub fn read_cimd_dir(root: &Path) -> Result<RawDataset, CimdError> {
    let mut dirs = Vec::new();
    walk(root, 0, &mut dirs)?;
    let mut samples = Vec::new();
    for dir in dirs {
        let rel = dir.strip_prefix(root).unwrap_or(&dir);
        let id = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if let Some(s) = read_sample(&dir, id)? {
            samples.push(s);
        }
    }
    samples.sort_by(|a, b| natural(&a.id, &b.id));
    let source = root.file_name().map_or_else(
        || root.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let dtype = (!samples.is_empty()).then_some(DType::U8);
    Ok(RawDataset {
        source,
        format: SourceFormat::CimdJpeg,
        image_dtype: dtype,
        mask_dtype: dtype,
        samples,
    })
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CimdError + '_ {
    move |source| CimdError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), CimdError> {
    if depth > MAX_DEPTH {
        return Err(CimdError::TooDeep {
            path: dir.to_path_buf(),
        });
    }
    out.push(dir.to_path_buf());
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        if path.is_dir() {
            walk(&path, depth + 1, out)?;
        }
    }
    Ok(())
}

/// What a file is, from the text before its first `_`.
enum Role {
    Image,
    Label(u32),
}

fn role(path: &Path) -> Option<Role> {
    let name = path.file_name()?.to_str()?;
    let prefix = name.split('_').next()?;
    let prefix = if name.contains('_') {
        prefix
    } else {
        prefix.split('.').next()?
    };
    match prefix {
        "image" => Some(Role::Image),
        p => p.strip_prefix("label")?.parse().ok().map(Role::Label),
    }
}

fn read_sample(dir: &Path, id: String) -> Result<Option<RawSample>, CimdError> {
    let bad = |detail: String| CimdError::Sample {
        sample: id.clone(),
        detail,
    };
    let mut image = None;
    let mut labels: Vec<(u32, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        if !path.is_file() {
            continue;
        }
        match role(&path) {
            Some(Role::Image) if image.is_some() => {
                return Err(bad("more than one image_* file".into()));
            }
            Some(Role::Image) => image = Some(path),
            Some(Role::Label(d)) if labels.iter().any(|(e, _)| *e == d) => {
                return Err(bad(format!("more than one label{d}_* file")));
            }
            Some(Role::Label(d)) => labels.push((d, path)),
            None => {}
        }
    }
    let image = match (image, labels.is_empty()) {
        (None, true) => return Ok(None),
        (None, false) => return Err(bad("label files but no image_* file".into())),
        (Some(_), true) => return Err(bad("image but no label<d>_* files".into())),
        (Some(p), false) => p,
    };
    labels.sort_by_key(|(d, _)| *d);
    let (width, height, pixels) = grey(&image)?;
    let mut masks = Vec::with_capacity(labels.len());
    for (d, path) in &labels {
        let (w, h, m) = grey(path)?;
        if (w, h) != (width, height) {
            return Err(bad(format!(
                "label{d} is {w}x{h}, image is {width}x{height}"
            )));
        }
        masks.push(m.into_iter().map(|v| u8::from(v > 127)).collect());
    }
    let image = pixels.into_iter().map(|v| f32::from(v) / 255.0).collect();
    Ok(Some(RawSample {
        id,
        group: None,
        image,
        channels: 1,
        height: height as usize,
        width: width as usize,
        masks,
    }))
}

/// Decoded bytes an image file may take per byte of file (plus [`DECODE_FLOOR`]): a header that
/// announces a huge picture in a small file is refused before its pixels are allocated.
const DECODE_PER_FILE_BYTE: u64 = 256;

/// Decoded bytes any image file may take.
const DECODE_FLOOR: u64 = 64 << 20;

/// Decodes to 8-bit greyscale: `(width, height, pixels)`; the decoder may allocate at most
/// `DECODE_PER_FILE_BYTE` × the file size + `DECODE_FLOOR`.
fn grey(path: &Path) -> Result<(u32, u32, Vec<u8>), CimdError> {
    let decode = |source| CimdError::Decode {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path)
        .map_err(|e| decode(image::ImageError::IoError(e)))?
        .len();
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(
        size.saturating_mul(DECODE_PER_FILE_BYTE)
            .saturating_add(DECODE_FLOOR),
    );
    let mut reader = image::ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| decode(image::ImageError::IoError(e)))?;
    reader.limits(limits);
    let img = reader.decode().map_err(decode)?;
    let l = img.into_luma8();
    Ok((l.width(), l.height(), l.into_raw()))
}

/// Path order with numeric components compared as numbers.
fn natural(a: &str, b: &str) -> Ordering {
    let key = |s: &str| -> Vec<(u8, u64, String)> {
        s.split('/')
            .map(|c| match c.parse::<u64>() {
                Ok(n) => (0, n, String::new()),
                Err(_) => (1, 0, c.to_string()),
            })
            .collect()
    };
    key(a).cmp(&key(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CRC-32 (IEEE) of PNG chunks.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn a_small_file_announcing_a_huge_picture_is_refused_before_decoding() {
        let dir = tempfile::tempdir().unwrap();
        // a PNG of 20000 × 20000 greyscale pixels (400 MB, under image's own 512 MiB default) whose data is 8 bytes long
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend_from_slice(&20_000u32.to_be_bytes());
        ihdr.extend_from_slice(&20_000u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
        let idat = b"IDAT\x78\x9c\x63\x00\x00\x00\x01\x00".to_vec();
        for chunk in [ihdr, idat, b"IEND".to_vec()] {
            png.extend_from_slice(&(chunk.len() as u32 - 4).to_be_bytes());
            png.extend_from_slice(&chunk);
            png.extend_from_slice(&crc32(&chunk).to_be_bytes());
        }
        let path = dir.path().join("huge.png");
        std::fs::write(&path, &png).unwrap();
        let err = grey(&path).unwrap_err().to_string();
        assert!(err.contains("huge.png") && err.contains("limit"), "{err}");

        let small = dir.path().join("small.png");
        image::GrayImage::from_raw(3, 2, vec![0, 50, 100, 150, 200, 250])
            .unwrap()
            .save(&small)
            .unwrap();
        assert_eq!(
            grey(&small).unwrap(),
            (3, 2, vec![0, 50, 100, 150, 200, 250])
        );
    }
}
