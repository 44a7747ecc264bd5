//! Readers for the LIDC-style pickles: Knegt's `data_lidc.pickle`, the official repo's
//! `Train.pickle` / `Val.pickle`, and MedicalMatting's QUBIQ `brain_growth_alpha.pkl`.
//!
//! Reference behaviour (see `shared/docs/data-formats.md` §1a, §1a'):
//! - Knegt: `{key: {"image": 2-D array, "masks": [2-D array, ...], "series_uid": str}}`;
//!   extra keys (brain-growth's `alpha`) are ignored; keys are opaque ids.
//! - official (huynhspm/Data-Uncertainty `datasets/preprocess/lidc.py`):
//!   `{"images": [2-D array, ...], "masks": [[2-D array, ...], ...]}`, no ids, no uids.
//!
//! Images and masks follow the conventions of [`super::raw`]. Errors name the file, the
//! sample (key or index) and the field.

use std::fmt;
use std::path::Path;

use thiserror::Error;

use super::pickle::{self, PickleError, PyValue};
use super::raw::{RawDataset, RawSample, SourceFormat};

mod convert;

use convert::build;

/// A LIDC-style pickle could not be turned into samples.
#[derive(Debug, Error)]
pub enum LidcPickleError {
    /// Reading the file failed.
    #[error("{file}: {source}")]
    Io {
        /// File name.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes are not an acceptable pickle.
    #[error("{file}: {source}")]
    Pickle {
        /// File name.
        file: String,
        /// The decoder's error.
        source: PickleError,
    },
    /// The top-level object is neither layout.
    #[error("{file}: {detail}")]
    Layout {
        /// File name.
        file: String,
        /// What was found instead.
        detail: String,
    },
    /// One field of one sample is missing or malformed.
    #[error("{file}: sample {sample}: field {field}: {detail}")]
    Field {
        /// File name.
        file: String,
        /// The sample: `'key'` (Knegt) or list index (official).
        sample: String,
        /// The field path, e.g. `'masks'[3]`.
        field: String,
        /// What is wrong.
        detail: String,
    },
}

/// Reads a LIDC-style pickle file, detecting the layout.
pub fn read_lidc_pickle(path: &Path) -> Result<RawDataset, LidcPickleError> {
    let file = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let value = {
        let data = std::fs::read(path).map_err(|source| LidcPickleError::Io {
            file: file.clone(),
            source,
        })?;
        pickle::from_bytes(&data).map_err(|source| LidcPickleError::Pickle {
            file: file.clone(),
            source,
        })?
        // the file bytes are freed here, before the samples are built
    };
    lidc_from_value(&file, value)
}

/// Decodes a LIDC-style pickle held in memory; `file` names it in errors.
pub fn lidc_from_bytes(file: &str, data: &[u8]) -> Result<RawDataset, LidcPickleError> {
    let value = pickle::from_bytes(data).map_err(|source| LidcPickleError::Pickle {
        file: file.into(),
        source,
    })?;
    lidc_from_value(file, value)
}

/// Which LIDC layout a decoded pickle has, if any.
pub fn detect_layout(v: &PyValue) -> Option<SourceFormat> {
    let d = v.as_dict()?;
    // `{images: [..], masks: [..]}`; a Knegt dict holds dicts, never lists, as values
    let is_list = |k| v.get(k).and_then(PyValue::as_list).is_some();
    if is_list("images") && is_list("masks") {
        Some(SourceFormat::OfficialPickle)
    } else if d.iter().all(|(_, s)| s.as_dict().is_some()) {
        Some(SourceFormat::KnegtPickle)
    } else {
        None
    }
}

/// Converts a decoded pickle of either layout.
pub fn lidc_from_value(file: &str, value: PyValue) -> Result<RawDataset, LidcPickleError> {
    let layout = match (detect_layout(&value), value.as_dict()) {
        (Some(l), _) => l,
        // a dict whose values are not all dicts: let the Knegt path name the bad sample
        (None, Some(_)) => SourceFormat::KnegtPickle,
        (None, None) => {
            return Err(LidcPickleError::Layout {
                file: file.into(),
                detail: format!(
                    "top level has type {}, expected dict ({{key: {{image, masks, ...}}}} or \
                     {{images, masks}})",
                    value.type_name()
                ),
            });
        }
    };
    let mut ds = RawDataset {
        source: file.into(),
        format: layout,
        image_dtype: None,
        mask_dtype: None,
        samples: Vec::new(),
    };
    let entries = value.into_dict().unwrap_or_default();
    match layout {
        SourceFormat::OfficialPickle => official(file, entries, &mut ds)?,
        _ => knegt(file, entries, &mut ds)?,
    }
    Ok(ds)
}

enum SampleRef<'a> {
    Key(&'a str),
    Index(usize),
}

impl fmt::Display for SampleRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Key(k) => write!(f, "'{k}'"),
            Self::Index(i) => write!(f, "{i}"),
        }
    }
}

fn field_err(file: &str, s: &SampleRef, field: &str, detail: String) -> LidcPickleError {
    LidcPickleError::Field {
        file: file.into(),
        sample: s.to_string(),
        field: field.into(),
        detail,
    }
}

fn knegt(
    file: &str,
    entries: Vec<(PyValue, PyValue)>,
    ds: &mut RawDataset,
) -> Result<(), LidcPickleError> {
    for (key, mut sample) in entries {
        let id = match &key {
            PyValue::Str(s) => s.clone(),
            PyValue::Int(i) => i.to_string(),
            other => {
                return Err(LidcPickleError::Layout {
                    file: file.into(),
                    detail: format!("sample key has type {}, expected str", other.type_name()),
                });
            }
        };
        let s = SampleRef::Key(&id);
        if sample.as_dict().is_none() {
            let detail = format!("has type {}, expected dict", sample.type_name());
            return Err(LidcPickleError::Field {
                file: file.into(),
                sample: s.to_string(),
                field: "(value)".into(),
                detail,
            });
        }
        let group = match sample.remove("series_uid") {
            None => None,
            Some(PyValue::Str(u)) => Some(u),
            Some(o) => {
                return Err(field_err(
                    file,
                    &s,
                    "'series_uid'",
                    format!("has type {}, expected str", o.type_name()),
                ));
            }
        };
        let image = sample
            .remove("image")
            .ok_or_else(|| field_err(file, &s, "'image'", "missing".into()))?;
        let masks = sample
            .remove("masks")
            .ok_or_else(|| field_err(file, &s, "'masks'", "missing".into()))?;
        let raw = build(image, masks, ds, "'image'", "'masks'")
            .map_err(|(f, d)| field_err(file, &s, &f, d))?;
        ds.samples.push(RawSample { id, group, ..raw });
    }
    Ok(())
}

fn official(
    file: &str,
    mut entries: Vec<(PyValue, PyValue)>,
    ds: &mut RawDataset,
) -> Result<(), LidcPickleError> {
    let mut take = |k: &str| {
        let i = entries.iter().position(|(key, _)| key.as_str() == Some(k));
        i.and_then(|i| entries.swap_remove(i).1.into_list())
            .unwrap_or_default()
    };
    let (images, masks) = (take("images"), take("masks"));
    if images.len() != masks.len() {
        return Err(LidcPickleError::Layout {
            file: file.into(),
            detail: format!(
                "'images' has {} entries but 'masks' has {}",
                images.len(),
                masks.len()
            ),
        });
    }
    for (i, (image, m)) in images.into_iter().zip(masks).enumerate() {
        let (fi, fm) = (format!("'images'[{i}]"), format!("'masks'[{i}]"));
        let raw = build(image, m, ds, &fi, &fm)
            .map_err(|(f, d)| field_err(file, &SampleRef::Index(i), &f, d))?;
        ds.samples.push(RawSample {
            id: i.to_string(),
            ..raw
        });
    }
    Ok(())
}
