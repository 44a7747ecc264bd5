//! Preprocessing: property tests for resize and crop invariants, and the pipeline's
//! keep/drop-empty counts.
#![allow(clippy::unwrap_used)]

use fmseg_data::formats::{RawDataset, RawSample, SourceFormat};
use fmseg_data::preprocess::{
    PreprocessConfig, crop_origin, crop_planes, hflip_sample, lesion_center, preprocess_dataset,
    resize_bilinear, resize_nearest,
};
use proptest::prelude::*;

fn sample(id: &str, h: usize, w: usize, masks: Vec<Vec<u8>>) -> RawSample {
    RawSample {
        id: id.into(),
        group: None,
        image: (0..h * w).map(|v| v as f32 * 2.0 + 3.0).collect(),
        channels: 1,
        height: h,
        width: w,
        masks,
    }
}

proptest! {
    #[test]
    fn resize_shapes_and_ranges(h in 1usize..20, w in 1usize..20, th in 1usize..30, tw in 1usize..30,
                                seed in any::<u64>()) {
        let img: Vec<f32> = (0..2 * h * w).map(|i| (((i as u64 * 2654435761) ^ seed) % 97) as f32).collect();
        let out = resize_bilinear(&img, 2, h, w, th, tw);
        prop_assert_eq!(out.len(), 2 * th * tw);
        let (lo, hi) = (0.0f32, 96.0f32);
        prop_assert!(out.iter().all(|&v| v >= lo - 1e-3 && v <= hi + 1e-3));
        let mask: Vec<u8> = (0..h * w).map(|i| u8::from((i as u64 ^ seed).is_multiple_of(3))).collect();
        let m = resize_nearest(&mask, h, w, th, tw);
        prop_assert_eq!(m.len(), th * tw);
        prop_assert!(m.iter().all(|&v| v <= 1));
        prop_assert!(m.iter().all(|v| mask.contains(v)));
    }

    #[test]
    fn crop_contains_lesion_centre(h in 1usize..24, w in 1usize..24, size in 1usize..32,
                                   ly in 0usize..24, lx in 0usize..24) {
        let (ly, lx) = (ly % h, lx % w);
        let mut m = vec![0u8; h * w];
        m[ly * w + lx] = 1;
        let masks = vec![m.clone(), vec![0; h * w]];
        let (cy, cx) = lesion_center(&masks, h, w).unwrap();
        prop_assert_eq!((cy, cx), (ly, lx));
        let (y0, x0) = crop_origin(&masks, h, w, size);
        let out = crop_planes(&m, 1, (h, w), (y0, x0), size);
        prop_assert_eq!(out.len(), size * size);
        // The window covers the centre and the lesion pixel survives the crop.
        prop_assert!(y0 <= cy as isize && (cy as isize) < y0 + size as isize);
        prop_assert!(x0 <= cx as isize && (cx as isize) < x0 + size as isize);
        prop_assert_eq!(out.iter().filter(|&&v| v == 1).count(), 1);
        // Inside the image when it fits; centred padding when it does not.
        if size <= h { prop_assert!(y0 >= 0 && y0 as usize + size <= h); } else { prop_assert!(y0 <= 0); }
    }
}

#[test]
fn empty_masks_crop_the_image_centre() {
    let s = sample("a", 10, 10, vec![vec![0; 100]]);
    assert_eq!(crop_origin(&s.masks, 10, 10, 4), (3, 3));
    let out = crop_planes(&s.image, 1, (10, 10), (-1, -1), 12);
    assert_eq!(out[0], 0.0);
    assert_eq!(out[13], s.image[0]);
}

#[test]
fn pipeline_counts_and_normalises() {
    let mut lesion = vec![0u8; 64];
    lesion[3 * 8 + 5] = 1;
    let samples = vec![
        sample("a", 8, 8, vec![lesion.clone(), vec![0; 64]]),
        sample("b", 8, 8, vec![vec![0; 64], vec![0; 64]]),
    ];
    let ds = RawDataset {
        source: "mem".into(),
        format: SourceFormat::MmisNpy,
        image_dtype: None,
        mask_dtype: None,
        samples,
    };
    let cfg = PreprocessConfig {
        crop: Some(4),
        size: Some(16),
        ..PreprocessConfig::default()
    };
    let (kept, report) = preprocess_dataset(ds.clone(), &cfg);
    assert_eq!(
        (
            report.total,
            report.kept,
            report.kept_all_empty,
            report.dropped_all_empty
        ),
        (2, 2, 1, 0)
    );
    let s = &kept.samples[0];
    assert_eq!((s.height, s.width, s.masks[0].len()), (16, 16, 256));
    assert!(s.image.iter().all(|v| (0.0..=1.0).contains(v)));
    assert_eq!(s.masks[0].iter().filter(|&&v| v == 1).count(), 16); // one pixel -> 4x4 block
    let drop = PreprocessConfig {
        keep_empty: false,
        ..PreprocessConfig::default()
    };
    let (dropped, report) = preprocess_dataset(ds, &drop);
    assert_eq!((dropped.len(), report.dropped_all_empty), (1, 1));
    let mut f = dropped.samples[0].clone();
    hflip_sample(&mut f);
    assert_eq!(f.masks[0][3 * 8 + 2], 1);
    assert_eq!(f.image[0], 7.0 / 63.0);
}
