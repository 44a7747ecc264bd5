//! The npy cache: round trip, sharding, atomic index, corrupt caches, and the real shared
//! samples (skipped when `shared/` is absent).
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use fmseg_data::cache::{Cache, source_sha256, write_cache};
use fmseg_data::formats::{RawDataset, RawSample, SourceFormat, read_cimd_dir, read_lidc_pickle};
use fmseg_data::inspect::{load_any, summarize};
use fmseg_data::preprocess::{PreprocessConfig, preprocess_dataset};

fn shared() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/real-samples");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipping: {} is absent", p.display());
        None
    }
}

fn synthetic(n: usize) -> RawDataset {
    let samples = (0..n)
        .map(|i| RawSample {
            id: format!("s{i}"),
            group: Some(format!("g{}", i / 2)),
            image: (0..2 * 12).map(|v| (v + i) as f32).collect(),
            channels: 2,
            height: 3,
            width: 4,
            masks: (0..3)
                .map(|r| (0..12).map(|p| u8::from((p + r + i) % 4 == 0)).collect())
                .collect(),
        })
        .collect();
    RawDataset {
        source: "mem".into(),
        format: SourceFormat::MmisH5,
        image_dtype: None,
        mask_dtype: None,
        samples,
    }
}

#[test]
fn round_trip_with_shards() {
    let dir = tempfile::tempdir().unwrap();
    let ds = synthetic(7);
    let index = write_cache(
        &ds,
        dir.path(),
        3,
        Some("abc".into()),
        serde_json::json!({"k": 1}),
    )
    .unwrap();
    assert_eq!(
        index.shards.iter().map(|s| s.count).collect::<Vec<_>>(),
        [3, 3, 1]
    );
    for f in ["images_0000.npy", "masks_0002.npy", "index.json"] {
        assert!(dir.path().join(f).is_file(), "{f}");
    }
    let cache = Cache::open(dir.path()).unwrap();
    assert_eq!(cache.len(), 7);
    let back = cache.to_dataset().unwrap();
    assert_eq!(back.format, SourceFormat::FmsegCache);
    assert_eq!(back.samples, ds.samples);
    assert_eq!(load_any(dir.path()).unwrap().samples, ds.samples);
    // No temporary files remain.
    assert!(
        std::fs::read_dir(dir.path()).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tmp"))
    );
}

#[test]
fn refuses_mixed_shapes_and_detects_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let mut ds = synthetic(2);
    ds.samples[1].height = 2;
    assert!(write_cache(&ds, dir.path(), 8, None, serde_json::Value::Null).is_err());
    write_cache(&synthetic(2), dir.path(), 8, None, serde_json::Value::Null).unwrap();
    std::fs::write(dir.path().join("masks_0000.npy"), b"garbage").unwrap();
    assert!(Cache::open(dir.path()).unwrap().to_dataset().is_err());
    std::fs::write(dir.path().join("index.json"), b"{").unwrap();
    assert!(Cache::open(dir.path()).is_err());
}

#[test]
fn real_brain_growth_pickle_to_cache() {
    let Some(root) = shared() else { return };
    let path = root.join("qubiq-brain-growth-pickle/brain_growth_alpha.pkl");
    let ds = read_lidc_pickle(&path).unwrap();
    let (ds, report) = preprocess_dataset(
        ds,
        &PreprocessConfig {
            size: Some(64),
            ..PreprocessConfig::default()
        },
    );
    assert_eq!(report.kept, 39);
    let dir = tempfile::tempdir().unwrap();
    let sha = source_sha256(&path).unwrap();
    write_cache(&ds, dir.path(), 16, Some(sha), serde_json::Value::Null).unwrap();
    let back = Cache::open(dir.path()).unwrap();
    assert_eq!(back.index().shards.len(), 3);
    assert_eq!((back.index().raters, back.index().height), (7, 64));
    let s = summarize(&back.to_dataset().unwrap());
    assert_eq!((s.images, s.raters, s.channels), (39, Some(7), Some(1)));
    assert!(s.problems.is_empty(), "{:?}", s.problems);
}

#[test]
fn real_cimd_folder_summary_and_cache() {
    let Some(root) = shared() else { return };
    let path = root.join("lidc-cimd-jpeg");
    let s = summarize(&load_any(&path).unwrap());
    assert_eq!(
        (s.format.as_str(), s.images, s.raters),
        ("cimd-jpeg", 28, Some(4))
    );
    assert!((s.empty_rater_fraction - 7.0 / 28.0).abs() < 1e-12);
    let ds = read_cimd_dir(&path).unwrap();
    let drop = PreprocessConfig {
        keep_empty: false,
        crop: Some(64),
        ..PreprocessConfig::default()
    };
    let (ds, report) = preprocess_dataset(ds, &drop);
    assert_eq!(report.total, 28);
    assert_eq!(report.kept + report.dropped_all_empty, 28);
    let dir = tempfile::tempdir().unwrap();
    write_cache(&ds, dir.path(), 100, None, serde_json::Value::Null).unwrap();
    assert_eq!(
        Cache::open(dir.path())
            .unwrap()
            .to_dataset()
            .unwrap()
            .samples,
        ds.samples
    );
}
