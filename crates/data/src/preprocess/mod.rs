//! Sample preprocessing for training and caching, following the official loaders
//! (huynhspm/Data-Uncertainty `datasets/lidc.py`, `datasets/mmis.py`): per-image min-max
//! normalisation (joint over channels), resize to a target size (bilinear images, nearest
//! masks), plus fmseg's optional lesion-centred crop and the choice to keep or drop slices
//! whose raters all marked nothing (the official MMIS preprocess keeps them all).
//!
//! Order: normalise -> crop (at native resolution) -> resize. Flips are a training-time
//! augmentation ([`hflip_sample`]).

pub mod crop;
pub mod normalize;
pub mod resize;

use crate::formats::{RawDataset, RawSample};

pub use crop::{crop_origin, crop_planes, hflip_planes, lesion_center, window_start};
pub use normalize::min_max_normalize;
pub use resize::{resize_bilinear, resize_nearest};

/// What [`preprocess_dataset`] does; the default is the official loader's (normalise, keep all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreprocessConfig {
    /// Per-image min-max normalisation to [0, 1].
    pub normalize: bool,
    /// Square crop side centred on the lesion (before resizing), if any.
    pub crop: Option<usize>,
    /// Square target side to resize to, if any.
    pub size: Option<usize>,
    /// Keep samples whose raters are all empty.
    pub keep_empty: bool,
}

impl Default for PreprocessConfig {
    fn default() -> Self {
        Self {
            normalize: true,
            crop: None,
            size: None,
            keep_empty: true,
        }
    }
}

/// Counts from [`preprocess_dataset`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct PreprocessReport {
    /// Samples read.
    pub total: usize,
    /// Samples written.
    pub kept: usize,
    /// Samples dropped because every rater was empty.
    pub dropped_all_empty: usize,
    /// Samples kept although every rater was empty.
    pub kept_all_empty: usize,
}

/// The first non-finite image pixel of `ds`, if any.
pub fn first_non_finite(ds: &RawDataset) -> Option<NonFinite<'_>> {
    ds.samples.iter().enumerate().find_map(|(sample, s)| {
        let pixel = s.image.iter().position(|v| !v.is_finite())?;
        Some(NonFinite {
            sample,
            id: &s.id,
            pixel,
            value: s.image[pixel],
        })
    })
}

/// A non-finite pixel of a dataset (normalisation would silently turn it into 0).
#[derive(Debug, Clone, PartialEq)]
pub struct NonFinite<'a> {
    /// Sample index.
    pub sample: usize,
    /// Sample id.
    pub id: &'a str,
    /// Flat index into the sample's (C, H, W) image.
    pub pixel: usize,
    /// The value (NaN or ±inf).
    pub value: f32,
}

impl std::fmt::Display for NonFinite<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "sample {} ('{}') has pixel {} = {} (images must be finite)",
            self.sample, self.id, self.pixel, self.value
        )
    }
}

/// Bytes the preprocessed samples take (float32 images, u8 masks) at the size `cfg` gives them
/// (`size`, else `crop`, else their own), in `u128` so that no request overflows.
pub fn preprocessed_bytes(ds: &RawDataset, cfg: &PreprocessConfig) -> u128 {
    ds.samples
        .iter()
        .map(|s| {
            let (h, w) = match cfg.size.or(cfg.crop) {
                Some(side) => (side as u128, side as u128),
                None => (s.height as u128, s.width as u128),
            };
            h * w * (4 * s.channels as u128 + s.masks.len() as u128)
        })
        .sum()
}

/// Whether every rater of a sample marked nothing (also true with no raters).
pub fn all_raters_empty(s: &RawSample) -> bool {
    s.masks.iter().all(|m| m.iter().all(|&v| v == 0))
}

/// Applies normalisation, crop and resize to one sample.
pub fn preprocess_sample(mut s: RawSample, cfg: &PreprocessConfig) -> RawSample {
    if cfg.normalize {
        min_max_normalize(&mut s.image);
    }
    if let Some(size) = cfg.crop {
        let hw = (s.height, s.width);
        let origin = crop_origin(&s.masks, s.height, s.width, size);
        s.image = crop_planes(&s.image, s.channels, hw, origin, size);
        s.masks = s
            .masks
            .iter()
            .map(|m| crop_planes(m, 1, hw, origin, size))
            .collect();
        (s.height, s.width) = (size, size);
    }
    if let Some(t) = cfg.size
        && (s.height, s.width) != (t, t)
    {
        s.image = resize_bilinear(&s.image, s.channels, s.height, s.width, t, t);
        s.masks = s
            .masks
            .iter()
            .map(|m| resize_nearest(m, s.height, s.width, t, t))
            .collect();
        (s.height, s.width) = (t, t);
    }
    s
}

/// Mirrors a sample's image and masks left-right.
pub fn hflip_sample(s: &mut RawSample) {
    hflip_planes(&mut s.image, s.width);
    for m in &mut s.masks {
        hflip_planes(m, s.width);
    }
}

/// Preprocesses every sample, dropping all-empty ones unless `cfg.keep_empty`.
pub fn preprocess_dataset(
    ds: RawDataset,
    cfg: &PreprocessConfig,
) -> (RawDataset, PreprocessReport) {
    let mut report = PreprocessReport {
        total: ds.samples.len(),
        ..PreprocessReport::default()
    };
    let RawDataset {
        source,
        format,
        image_dtype,
        mask_dtype,
        samples,
    } = ds;
    let mut out = Vec::with_capacity(samples.len());
    for s in samples {
        if all_raters_empty(&s) {
            if !cfg.keep_empty {
                report.dropped_all_empty += 1;
                continue;
            }
            report.kept_all_empty += 1;
        }
        out.push(preprocess_sample(s, cfg));
    }
    report.kept = out.len();
    let ds = RawDataset {
        source,
        format,
        image_dtype,
        mask_dtype,
        samples: out,
    };
    (ds, report)
}
