//! Plain multi-rater samples, the common output of every reader in [`crate::formats`].
//!
//! Conventions (shared by the pickle and JPEG readers, documented once here):
//! - `image` is `channels x height x width`, C order, `f32`. 8-bit sources (`u1` arrays, JPEG)
//!   are divided by 255, as CIMD's loader does; float sources are passed through unchanged
//!   (Knegt's LIDC pickle already holds [0, 1]). Other integer types are cast unchanged.
//!   Per-image normalisation (the official loader's min-max) is left to preprocessing.
//! - `masks` holds one `height x width` binary mask per rater, values 0/1: a stored value
//!   counts as foreground when it is `> 0.5` (booleans: `true`; JPEG: `> 127`).

use super::pickle::{ArrayData, DType, NdArray};

/// One image with all its raters' masks.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSample {
    /// Sample id: the pickle key, the list index, or the folder path relative to the root.
    pub id: String,
    /// Grouping key (LIDC `series_uid`), when the source has one.
    pub group: Option<String>,
    /// Image, `channels * height * width` values, C order.
    pub image: Vec<f32>,
    /// Number of image channels.
    pub channels: usize,
    /// Image height.
    pub height: usize,
    /// Image width.
    pub width: usize,
    /// One binary (0/1) mask of `height * width` values per rater.
    pub masks: Vec<Vec<u8>>,
}

impl RawSample {
    /// Number of raters.
    pub fn num_raters(&self) -> usize {
        self.masks.len()
    }

    /// Foreground pixel count of each rater's mask.
    pub fn foreground_counts(&self) -> Vec<usize> {
        self.masks
            .iter()
            .map(|m| m.iter().filter(|&&v| v != 0).count())
            .collect()
    }

    /// Whether some rater marked nothing.
    pub fn has_empty_rater(&self) -> bool {
        self.foreground_counts().contains(&0)
    }
}

/// Which on-disk layout a dataset came from (serde and [`std::str::FromStr`] use the kebab-case
/// names that `fmseg data inspect` prints).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceFormat {
    /// Knegt's `data_lidc.pickle` layout: `{key: {image, masks, series_uid, ...}}`
    /// (also QUBIQ brain-growth from MedicalMatting).
    KnegtPickle,
    /// The official repo's `Train.pickle` / `Val.pickle`: `{images: [...], masks: [[...]]}`.
    OfficialPickle,
    /// CIMD folders of `image_<k>.jpg` + `label<d>_.jpg`.
    CimdJpeg,
    /// MMIS 2024 per-case HDF5 (`t1`, `t1c`, `t2`, `label_a1..a4`), one sample per slice.
    MmisH5,
    /// The official repo's MMIS slice folders `<case>/image_<i>.npy` + `label_<i>.npy`.
    MmisNpy,
    /// An fmseg npy cache written by `fmseg data convert`.
    FmsegCache,
    /// A `fmseg data synth` folder (`images.npy` + `annotations.npy`).
    FmsegSynth,
}

impl SourceFormat {
    /// Every layout, in documentation order.
    pub const ALL: [SourceFormat; 7] = [
        Self::KnegtPickle,
        Self::OfficialPickle,
        Self::CimdJpeg,
        Self::MmisH5,
        Self::MmisNpy,
        Self::FmsegCache,
        Self::FmsegSynth,
    ];

    /// The kebab-case name (`knegt-pickle`, `mmis-h5`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::KnegtPickle => "knegt-pickle",
            Self::OfficialPickle => "official-pickle",
            Self::CimdJpeg => "cimd-jpeg",
            Self::MmisH5 => "mmis-h5",
            Self::MmisNpy => "mmis-npy",
            Self::FmsegCache => "fmseg-cache",
            Self::FmsegSynth => "fmseg-synth",
        }
    }
}

crate::closed_names!(SourceFormat, SourceFormat::name);

/// A whole dataset read from one file or folder.
#[derive(Debug, Clone, PartialEq)]
pub struct RawDataset {
    /// File or folder name, as used in error messages.
    pub source: String,
    /// The layout it was read from.
    pub format: SourceFormat,
    /// Stored element type of the first image (`U8` for JPEG), `None` when empty.
    pub image_dtype: Option<DType>,
    /// Stored element type of the first mask, `None` when empty.
    pub mask_dtype: Option<DType>,
    /// The samples, in file order (pickle insertion order, list order, or sorted folder order).
    pub samples: Vec<RawSample>,
}

impl RawDataset {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The rater count, if every sample has the same one.
    pub fn num_raters(&self) -> Option<usize> {
        uniform(self.samples.iter().map(RawSample::num_raters))
    }

    /// `(channels, height, width)`, if every sample has the same one.
    pub fn shape(&self) -> Option<(usize, usize, usize)> {
        uniform(self.samples.iter().map(|s| (s.channels, s.height, s.width)))
    }

    /// Each sample's group key, in sample order.
    pub fn groups(&self) -> Vec<Option<&str>> {
        self.samples.iter().map(|s| s.group.as_deref()).collect()
    }

    /// Looks a sample up by id.
    pub fn sample(&self, id: &str) -> Option<&RawSample> {
        self.samples.iter().find(|s| s.id == id)
    }
}

fn uniform<T: PartialEq>(mut it: impl Iterator<Item = T>) -> Option<T> {
    let first = it.next()?;
    it.all(|x| x == first).then_some(first)
}

/// A stored mask as 0/1 bytes: `value > 0.5 -> 1`, else 0 (NaN -> 0; booleans as is).
pub fn binarize(m: &NdArray) -> Vec<u8> {
    match m.data() {
        ArrayData::U8(v) => v.iter().map(|&x| u8::from(x > 0)).collect(),
        ArrayData::Bool(v) => v.iter().map(|&x| u8::from(x)).collect(),
        ArrayData::F32(v) => v.iter().map(|&x| u8::from(x > 0.5)).collect(),
        _ => m
            .to_f64_vec()
            .into_iter()
            .map(|x| u8::from(x > 0.5))
            .collect(),
    }
}
