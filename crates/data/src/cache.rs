//! The fmseg fast cache written by `fmseg data convert`: fixed-shape npy shards plus an index.
//!
//! Layout of a cache folder: `images_XXXX.npy` (f32, `(n, C, H, W)`), `masks_XXXX.npy` (u8,
//! `(n, M, H, W)`) and `index.json` ([`CacheIndex`]: ids, groups, shapes, shard list, source
//! and its sha256). Every file is written atomically and the index last, so a folder with an
//! index is complete. Reading uses plain reads, shard by shard (memory maps would need
//! `unsafe`, which the workspace forbids); mask values are returned as stored.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::atomic::write_atomic;
use crate::contained::{contained, plain_relative};
use crate::error::DataError;
use crate::formats::{RawDataset, RawSample, SourceFormat};
use crate::npy::{NpyArray, NpyData, write_f32, write_u8};

/// Value of [`CacheIndex::format`].
pub const CACHE_FORMAT: &str = "fmseg-cache";
/// The index file name.
pub const INDEX_FILE: &str = "index.json";

/// Errors of the cache writer and reader.
#[derive(Debug, Error)]
pub enum CacheError {
    /// Reading or writing a file failed, or a shard is malformed.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The samples cannot be cached (shapes or rater counts differ, nothing to write).
    #[error("cannot cache {source_name}: {message}")]
    Unsupported {
        /// The dataset's source.
        source_name: String,
        /// Why.
        message: String,
    },
    /// `index.json` is missing, unparsable or inconsistent with the shards.
    #[error("{}: {message}", path.display())]
    Index {
        /// The index or shard file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// One shard's files and sample count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shard {
    /// Image file name.
    pub images: String,
    /// Mask file name.
    pub masks: String,
    /// Samples in the shard.
    pub count: usize,
}

/// The content of `index.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheIndex {
    /// Always [`CACHE_FORMAT`].
    pub format: String,
    /// Layout version (1).
    pub version: u32,
    /// The source file or folder.
    pub source: String,
    /// The source's layout (`KnegtPickle`, `CimdJpeg`, ...).
    pub source_format: String,
    /// sha256 of the source (a file's bytes, or a folder's sorted relative paths and bytes).
    pub source_sha256: Option<String>,
    /// Image channels.
    pub channels: usize,
    /// Height.
    pub height: usize,
    /// Width.
    pub width: usize,
    /// Raters per sample.
    pub raters: usize,
    /// Sample ids, in order.
    pub ids: Vec<String>,
    /// Sample groups, in order.
    pub groups: Vec<Option<String>>,
    /// The shards, in order.
    pub shards: Vec<Shard>,
    /// Free-form provenance (preprocessing settings and counts).
    #[serde(default)]
    pub notes: serde_json::Value,
}

impl CacheIndex {
    /// Parses and checks the bytes of `index.json` (`path` names it in errors): the format tag,
    /// sample counts that add up (without overflow) to the ids and groups, and shard names that
    /// are plain relative paths. Whether the names lead out through links is checked by
    /// [`Cache::open`], which sees the folder.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self, CacheError> {
        let bad = |message: String| CacheError::Index {
            path: path.to_path_buf(),
            message,
        };
        let index: CacheIndex = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        if index.format != CACHE_FORMAT {
            return Err(bad(format!(
                "unknown cache format `{}` (expected `{CACHE_FORMAT}`)",
                index.format
            )));
        }
        let total = index
            .shards
            .iter()
            .try_fold(0usize, |n, s| n.checked_add(s.count));
        if total != Some(index.ids.len()) || index.groups.len() != index.ids.len() {
            return Err(bad(format!(
                "{} ids, {} groups, {} samples in shards",
                index.ids.len(),
                index.groups.len(),
                total.map_or_else(|| "more".to_string(), |t| t.to_string())
            )));
        }
        for (k, shard) in index.shards.iter().enumerate() {
            for (field, name) in [("images", &shard.images), ("masks", &shard.masks)] {
                plain_relative(name).map_err(|e| bad(format!("shards[{k}].{field}: {e}")))?;
            }
        }
        Ok(index)
    }
}

/// sha256 of a file, or of a folder (sorted relative paths and contents, recursively).
pub fn source_sha256(path: &Path) -> Result<String, DataError> {
    let mut hasher = Sha256::new();
    let mut files = Vec::new();
    collect_files(path, path, &mut files)?;
    files.sort();
    for (rel, full) in files {
        hasher.update(rel.as_bytes());
        hasher.update([0]);
        let bytes = std::fs::read(&full).map_err(|e| DataError::io(&full, e))?;
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn collect_files(root: &Path, p: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), DataError> {
    if p.is_dir() {
        for e in std::fs::read_dir(p).map_err(|e| DataError::io(p, e))? {
            let e = e.map_err(|e| DataError::io(p, e))?;
            collect_files(root, &e.path(), out)?;
        }
    } else {
        let rel = p
            .strip_prefix(root)
            .unwrap_or(p)
            .to_string_lossy()
            .replace('\\', "/");
        out.push((rel, p.to_path_buf()));
    }
    Ok(())
}

/// Writes `ds` as a cache in `dir` with at most `shard_size` samples per shard.
pub fn write_cache(
    ds: &RawDataset,
    dir: &Path,
    shard_size: usize,
    source_sha256: Option<String>,
    notes: serde_json::Value,
) -> Result<CacheIndex, CacheError> {
    let unsupported = |message: String| CacheError::Unsupported {
        source_name: ds.source.clone(),
        message,
    };
    if ds.is_empty() {
        return Err(unsupported("no samples".into()));
    }
    let (c, h, w) = ds
        .shape()
        .ok_or_else(|| unsupported("shapes differ (resize first)".into()))?;
    let m = ds
        .num_raters()
        .ok_or_else(|| unsupported("rater counts differ".into()))?;
    let mut shards = Vec::new();
    for (k, chunk) in ds.samples.chunks(shard_size.max(1)).enumerate() {
        let images: Vec<f32> = chunk.iter().flat_map(|s| s.image.iter().copied()).collect();
        let masks: Vec<u8> = chunk
            .iter()
            .flat_map(|s| s.masks.iter().flatten().copied())
            .collect();
        let n = chunk.len();
        let shard = Shard {
            images: format!("images_{k:04}.npy"),
            masks: format!("masks_{k:04}.npy"),
            count: n,
        };
        if images.len() != n * c * h * w || masks.len() != n * m * h * w {
            return Err(unsupported(format!(
                "buffer sizes of shard {k} disagree with the shape"
            )));
        }
        write_f32(&dir.join(&shard.images), &[n, c, h, w], &images)?;
        write_u8(&dir.join(&shard.masks), &[n, m, h, w], &masks)?;
        shards.push(shard);
    }
    let index = CacheIndex {
        format: CACHE_FORMAT.into(),
        version: 1,
        source: ds.source.clone(),
        source_format: format!("{:?}", ds.format),
        source_sha256,
        channels: c,
        height: h,
        width: w,
        raters: m,
        ids: ds.samples.iter().map(|s| s.id.clone()).collect(),
        groups: ds.samples.iter().map(|s| s.group.clone()).collect(),
        shards,
        notes,
    };
    let path = dir.join(INDEX_FILE);
    let json = serde_json::to_vec_pretty(&index).map_err(|e| CacheError::Index {
        path: path.clone(),
        message: e.to_string(),
    })?;
    write_atomic(&path, &json)?;
    Ok(index)
}

/// An opened cache; samples are read shard by shard on demand.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    index: CacheIndex,
}

impl Cache {
    /// Opens `dir/index.json` and checks it is consistent.
    pub fn open(dir: &Path) -> Result<Self, CacheError> {
        let path = dir.join(INDEX_FILE);
        let bad = |message: String| CacheError::Index {
            path: path.clone(),
            message,
        };
        let bytes = std::fs::read(&path).map_err(|e| DataError::io(&path, e))?;
        let index = CacheIndex::parse(&path, &bytes)?;
        for (k, shard) in index.shards.iter().enumerate() {
            for (field, name) in [("images", &shard.images), ("masks", &shard.masks)] {
                contained(dir, name).map_err(|e| bad(format!("shards[{k}].{field}: {e}")))?;
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            index,
        })
    }

    /// The index.
    pub fn index(&self) -> &CacheIndex {
        &self.index
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.index.ids.len()
    }

    /// Whether the cache holds no samples.
    pub fn is_empty(&self) -> bool {
        self.index.ids.is_empty()
    }

    /// Reads shard `k` (its samples, in order).
    pub fn shard(&self, k: usize) -> Result<Vec<RawSample>, CacheError> {
        let ix = &self.index;
        let shard = ix.shards.get(k).ok_or_else(|| CacheError::Index {
            path: self.dir.join(INDEX_FILE),
            message: format!("no shard {k}"),
        })?;
        let first: usize = ix.shards[..k].iter().map(|s| s.count).sum();
        let (n, c, h, w, m) = (shard.count, ix.channels, ix.height, ix.width, ix.raters);
        // the names were checked by `open`; checked again in case a link changed since
        let inside = |name: &str| {
            contained(&self.dir, name).map_err(|e| CacheError::Index {
                path: self.dir.join(INDEX_FILE),
                message: format!("shard {k}: {e}"),
            })
        };
        let ipath = inside(&shard.images)?;
        let mpath = inside(&shard.masks)?;
        let images = NpyArray::read(&ipath)?;
        let masks = NpyArray::read(&mpath)?;
        let mismatch = |p: &Path, got: &[usize], want: [usize; 4]| CacheError::Index {
            path: p.to_path_buf(),
            message: format!("shape {got:?}, index says {want:?}"),
        };
        if images.shape != [n, c, h, w] {
            return Err(mismatch(&ipath, &images.shape, [n, c, h, w]));
        }
        if masks.shape != [n, m, h, w] {
            return Err(mismatch(&mpath, &masks.shape, [n, m, h, w]));
        }
        let img = match images.data {
            NpyData::F32(v) => v,
            other => NpyArray {
                shape: images.shape,
                dtype: images.dtype,
                data: other,
            }
            .to_f64()
            .into_iter()
            .map(|v| v as f32)
            .collect(),
        };
        let msk: Vec<u8> = match masks.data {
            NpyData::U8(v) => v,
            _ => {
                return Err(CacheError::Index {
                    path: mpath,
                    message: "masks must be u8".into(),
                });
            }
        };
        let (isz, plane) = (c * h * w, h * w);
        Ok((0..n)
            .map(|i| RawSample {
                id: ix.ids[first + i].clone(),
                group: ix.groups[first + i].clone(),
                image: img[i * isz..(i + 1) * isz].to_vec(),
                channels: c,
                height: h,
                width: w,
                masks: (0..m)
                    .map(|r| msk[(i * m + r) * plane..(i * m + r + 1) * plane].to_vec())
                    .collect(),
            })
            .collect())
    }

    /// Iterates over all samples, reading one shard at a time.
    pub fn samples(&self) -> impl Iterator<Item = Result<RawSample, CacheError>> + '_ {
        (0..self.index.shards.len()).flat_map(move |k| match self.shard(k) {
            Ok(v) => v.into_iter().map(Ok).collect::<Vec<_>>(),
            Err(e) => vec![Err(e)],
        })
    }

    /// Reads the whole cache as a dataset.
    pub fn to_dataset(&self) -> Result<RawDataset, CacheError> {
        Ok(RawDataset {
            source: self.dir.display().to_string(),
            format: SourceFormat::FmsegCache,
            image_dtype: None,
            mask_dtype: None,
            samples: self.samples().collect::<Result<_, _>>()?,
        })
    }
}
