//! Format detection, loading and summaries for `fmseg data inspect` / `convert`.
//!
//! Detection: a file is a pickle (Knegt or official layout, told apart by the reader) when it
//! starts with the pickle PROTO opcode `0x80` or is named `.pkl`/`.pickle`, an MMIS HDF5 case
//! when it starts with the HDF5 signature or is named `.h5`/`.hdf5`. A folder is an fmseg cache
//! (`index.json`), a `fmseg data synth` output (`images.npy` + `annotations.npy`), a folder of
//! MMIS `.h5` cases, an official MMIS npy slice folder, or else a CIMD JPEG folder. The summary
//! reports the statistics the paper's data section discusses (empty-rater fractions, per-rater
//! foreground sizes) plus every [`crate::integrity`] problem.

use std::path::Path;

use serde::Serialize;
use thiserror::Error;

use crate::cache::{Cache, CacheError, INDEX_FILE};
use crate::error::DataError;
use crate::formats::mmis_h5::list_h5_files;
use crate::formats::mmis_npy::case_dirs;
use crate::formats::{
    CimdError, LidcPickleError, MmisH5Error, MmisNpyError, RawDataset, RawSample, SourceFormat,
    read_cimd_dir, read_lidc_pickle, read_mmis_h5, read_mmis_h5_dir, read_mmis_npy_dir,
};
use crate::integrity::{Problem, check_dataset};
use crate::npy::{NpyArray, NpyData};

/// Errors while detecting or loading a dataset.
#[derive(Debug, Error)]
pub enum InspectError {
    /// The path does not exist or is not a known layout.
    #[error("{path}: {message}")]
    Unknown {
        /// The path.
        path: String,
        /// Why.
        message: String,
    },
    /// Pickle reader error.
    #[error(transparent)]
    Pickle(#[from] LidcPickleError),
    /// CIMD reader error.
    #[error(transparent)]
    Cimd(#[from] CimdError),
    /// MMIS HDF5 reader error.
    #[error(transparent)]
    MmisH5(#[from] MmisH5Error),
    /// MMIS npy reader error.
    #[error(transparent)]
    MmisNpy(#[from] MmisNpyError),
    /// Cache reader error.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// Array file error.
    #[error(transparent)]
    Data(#[from] DataError),
}

/// Short lowercase name of a layout, as printed by `inspect` ([`SourceFormat::name`]).
pub fn format_name(f: SourceFormat) -> &'static str {
    f.name()
}

fn file_magic(path: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut buf = vec![0u8; 8];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut buf))
        .unwrap_or(0);
    buf.truncate(n);
    buf
}

/// The files written last into an array folder: `oracle.json` by `fmseg data synth`,
/// `fingerprint.json` by `fmseg run` (its `data/<id>/`). A folder with neither is incomplete.
pub const ARRAY_FOLDER_MARKERS: [&str; 2] = ["oracle.json", "fingerprint.json"];

/// Reads a `fmseg data synth` folder (`images.npy` (N, C, H, W), `annotations.npy` (N, M, H, W)),
/// refused when it is incomplete (no [`ARRAY_FOLDER_MARKERS`] file: the writer was interrupted).
pub fn read_synth_dir(dir: &Path) -> Result<RawDataset, InspectError> {
    if !ARRAY_FOLDER_MARKERS.iter().any(|m| dir.join(m).is_file()) {
        return Err(InspectError::Unknown {
            path: dir.display().to_string(),
            message: "incomplete array folder: images.npy and annotations.npy are there but \
                      not oracle.json, which fmseg data synth writes last (re-run it)"
                .into(),
        });
    }
    let ipath = dir.join("images.npy");
    let apath = dir.join("annotations.npy");
    let images = NpyArray::read(&ipath)?;
    let ann = NpyArray::read(&apath)?;
    let bad = |p: &Path, m: String| InspectError::Data(DataError::invalid(p, m));
    let [n, c, h, w] = images.shape[..] else {
        return Err(bad(
            &ipath,
            format!("shape {:?}, expected (N, C, H, W)", images.shape),
        ));
    };
    let [an, m, ah, aw] = ann.shape[..] else {
        return Err(bad(
            &apath,
            format!("shape {:?}, expected (N, M, H, W)", ann.shape),
        ));
    };
    if (an, ah, aw) != (n, h, w) {
        return Err(bad(
            &apath,
            format!(
                "shape {:?} does not match images {:?}",
                ann.shape, images.shape
            ),
        ));
    }
    let img: Vec<f32> = images.to_f64().into_iter().map(|v| v as f32).collect();
    let masks: Vec<u8> = match &ann.data {
        NpyData::U8(v) => v.clone(),
        _ => ann
            .to_f64()
            .into_iter()
            .map(|v| u8::from(v > 0.5))
            .collect(),
    };
    let (isz, plane) = (c * h * w, h * w);
    let samples = (0..n)
        .map(|i| RawSample {
            id: i.to_string(),
            group: None,
            image: img[i * isz..(i + 1) * isz].to_vec(),
            channels: c,
            height: h,
            width: w,
            masks: (0..m)
                .map(|r| masks[(i * m + r) * plane..(i * m + r + 1) * plane].to_vec())
                .collect(),
        })
        .collect();
    Ok(RawDataset {
        source: dir.display().to_string(),
        format: SourceFormat::FmsegSynth,
        image_dtype: None,
        mask_dtype: None,
        samples,
    })
}

/// Detects the layout of `path` and reads it.
pub fn load_any(path: &Path) -> Result<RawDataset, InspectError> {
    let unknown = |message: &str| InspectError::Unknown {
        path: path.display().to_string(),
        message: message.into(),
    };
    if path.is_file() {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let magic = file_magic(path);
        if magic.starts_with(b"\x89HDF\r\n\x1a\n") || matches!(ext.as_str(), "h5" | "hdf5") {
            return Ok(read_mmis_h5(path)?);
        }
        if magic.first() == Some(&0x80) || matches!(ext.as_str(), "pkl" | "pickle") {
            return Ok(read_lidc_pickle(path)?);
        }
        return Err(unknown("not a pickle or HDF5 file"));
    }
    if !path.is_dir() {
        return Err(unknown("no such file or folder"));
    }
    if path.join(INDEX_FILE).is_file() {
        return Ok(Cache::open(path)?.to_dataset()?);
    }
    if path.join("images.npy").is_file() && path.join("annotations.npy").is_file() {
        return read_synth_dir(path);
    }
    if !list_h5_files(path)?.is_empty() {
        return Ok(read_mmis_h5_dir(path)?);
    }
    if !case_dirs(path)?.is_empty() {
        return Ok(read_mmis_npy_dir(path)?);
    }
    let ds = read_cimd_dir(path)?;
    if ds.is_empty() {
        return Err(unknown("no known dataset layout found in this folder"));
    }
    Ok(ds)
}

/// Foreground statistics of one rater (pixel counts over the samples that have this rater).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RaterForeground {
    /// Rater index.
    pub rater: usize,
    /// Mean foreground pixel count.
    pub mean: f64,
    /// Smallest count.
    pub min: usize,
    /// Largest count.
    pub max: usize,
    /// Samples whose mask for this rater is empty.
    pub empty: usize,
}

/// What `fmseg data inspect` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Layout name ([`format_name`]).
    pub format: String,
    /// The file or folder.
    pub source: String,
    /// Number of images (samples).
    pub images: usize,
    /// Raters per image (`None` if it varies).
    pub raters: Option<usize>,
    /// Image channels (`None` if it varies).
    pub channels: Option<usize>,
    /// Height (`None` if it varies).
    pub height: Option<usize>,
    /// Width (`None` if it varies).
    pub width: Option<usize>,
    /// Distinct groups (e.g. LIDC series or MMIS cases), when the source has groups.
    pub groups: usize,
    /// Fraction of images with at least one empty rater.
    pub empty_rater_fraction: f64,
    /// Fraction of images whose raters are all empty.
    pub all_empty_fraction: f64,
    /// Smallest and largest image value (finite values only).
    pub image_range: Option<(f32, f32)>,
    /// Per-rater foreground statistics.
    pub raters_foreground: Vec<RaterForeground>,
    /// Every integrity problem.
    pub problems: Vec<Problem>,
}

/// Summarises a dataset.
pub fn summarize(ds: &RawDataset) -> Summary {
    let n = ds.samples.len();
    let frac = |k: usize| if n == 0 { 0.0 } else { k as f64 / n as f64 };
    let counts: Vec<Vec<usize>> = ds
        .samples
        .iter()
        .map(RawSample::foreground_counts)
        .collect();
    let any_empty = counts.iter().filter(|c| c.contains(&0)).count();
    let all_empty = counts.iter().filter(|c| c.iter().all(|&v| v == 0)).count();
    let max_raters = counts.iter().map(Vec::len).max().unwrap_or(0);
    let raters_foreground = (0..max_raters)
        .map(|r| {
            let v: Vec<usize> = counts.iter().filter_map(|c| c.get(r).copied()).collect();
            RaterForeground {
                rater: r,
                mean: v.iter().sum::<usize>() as f64 / v.len().max(1) as f64,
                min: v.iter().copied().min().unwrap_or(0),
                max: v.iter().copied().max().unwrap_or(0),
                empty: v.iter().filter(|&&x| x == 0).count(),
            }
        })
        .collect();
    let range = ds
        .samples
        .iter()
        .flat_map(|s| s.image.iter().copied())
        .filter(|v| v.is_finite())
        .fold(None, |acc: Option<(f32, f32)>, v| {
            Some(acc.map_or((v, v), |(a, b)| (a.min(v), b.max(v))))
        });
    let mut groups: Vec<&str> = ds
        .samples
        .iter()
        .filter_map(|s| s.group.as_deref())
        .collect();
    groups.sort_unstable();
    groups.dedup();
    let shape = ds.shape();
    Summary {
        format: format_name(ds.format).into(),
        source: ds.source.clone(),
        images: n,
        raters: ds.num_raters(),
        channels: shape.map(|s| s.0),
        height: shape.map(|s| s.1),
        width: shape.map(|s| s.2),
        groups: groups.len(),
        empty_rater_fraction: frac(any_empty),
        all_empty_fraction: frac(all_empty),
        image_range: range,
        raters_foreground,
        problems: check_dataset(ds),
    }
}

/// Detects, loads and summarises `path`.
pub fn inspect(path: &Path) -> Result<Summary, InspectError> {
    load_any(path).map(|ds| summarize(&ds))
}
