//! MMIS readers: HDF5 fixtures written by hdf5-pure (2-D/3-D, plain/deflate), golden files
//! written once by real h5py (`fixtures/h5/make_golden.py`), and official npy slice folders.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use fmseg_data::formats::mmis_h5::mmis_from_h5_bytes;
use fmseg_data::formats::pickle::DType;
use fmseg_data::formats::{
    MmisH5Error, SourceFormat, read_mmis_h5, read_mmis_h5_dir, read_mmis_npy_dir,
};
use fmseg_data::npy::{write_f32, write_u8};
use hdf5_pure::FileBuilder;

const D: usize = 3;
const H: usize = 6;
const W: usize = 5;

fn base(z: usize, y: usize, x: usize) -> f64 {
    (100 * z + 10 * y + x) as f64
}

fn label(k: usize, z: usize, y: usize, x: usize) -> u8 {
    u8::from(z != 1 && (y + x + k).is_multiple_of(3))
}

fn grid<T>(depth: usize, f: impl Fn(usize, usize, usize) -> T) -> Vec<T> {
    let mut v = Vec::new();
    for z in 0..depth {
        for y in 0..H {
            for x in 0..W {
                v.push(f(z, y, x));
            }
        }
    }
    v
}

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/h5")
        .join(name)
}

/// Checks every slice against the generating formulas (`t1c_offset`: 0.5 for float files).
fn check(ds: &fmseg_data::formats::RawDataset, depth: usize, z0: usize, t1c_offset: f32) {
    assert_eq!(ds.len(), depth);
    assert_eq!(ds.format, SourceFormat::MmisH5);
    for (i, s) in ds.samples.iter().enumerate() {
        let z = z0 + i;
        assert_eq!((s.channels, s.height, s.width), (3, H, W));
        assert_eq!(s.num_raters(), 4);
        let p = H * W;
        for y in 0..H {
            for x in 0..W {
                let b = base(z, y, x) as f32;
                assert_eq!(s.image[y * W + x], b);
                assert_eq!(s.image[p + y * W + x], b + t1c_offset);
                assert_eq!(s.image[2 * p + y * W + x], -b);
                for k in 0..4 {
                    assert_eq!(s.masks[k][y * W + x], label(k + 1, z, y, x), "z{z} k{k}");
                }
            }
        }
    }
}

fn build(depth: usize, deflate: bool) -> Vec<u8> {
    let shape: Vec<u64> = if depth == 0 {
        vec![H as u64, W as u64]
    } else {
        vec![depth as u64, H as u64, W as u64]
    };
    let d = depth.max(1);
    let mut fb = FileBuilder::new();
    let imgs = [("t1", 0.0, 1.0), ("t1c", 0.5, 1.0), ("t2", 0.0, -1.0)];
    for (key, off, sign) in imgs {
        let data: Vec<f32> = grid(d, |z, y, x| (sign * base(z, y, x) + off) as f32);
        let ds = fb
            .create_dataset(key)
            .with_f32_data(&data)
            .with_shape(&shape);
        if deflate {
            ds.with_deflate(4);
        }
    }
    for k in 1..=4 {
        let data = grid(d, |z, y, x| label(k, z, y, x));
        let ds = fb
            .create_dataset(&format!("label_a{k}"))
            .with_u8_data(&data)
            .with_shape(&shape);
        if deflate {
            ds.with_deflate(4);
        }
    }
    fb.finish().unwrap()
}

#[test]
fn hdf5_pure_fixtures_2d_and_3d_with_and_without_deflate() {
    for deflate in [false, true] {
        let ds = mmis_from_h5_bytes("case7.h5", build(0, deflate)).unwrap();
        check(&ds, 1, 0, 0.5);
        assert_eq!(ds.samples[0].id, "case7");
        let ds = mmis_from_h5_bytes("case7.h5", build(D, deflate)).unwrap();
        check(&ds, D, 0, 0.5);
        assert_eq!(ds.samples[2].id, "case7/2");
        assert_eq!(ds.samples[2].group.as_deref(), Some("case7"));
        assert_eq!(ds.image_dtype, Some(DType::F32));
        assert_eq!(ds.mask_dtype, Some(DType::U8));
        assert!(
            ds.samples[1]
                .masks
                .iter()
                .all(|m| m.iter().all(|&v| v == 0))
        );
    }
}

#[test]
fn golden_h5py_files() {
    let ds = read_mmis_h5(&golden("mmis_2d_plain.h5")).unwrap();
    check(&ds, 1, 0, 0.5);
    let ds = read_mmis_h5(&golden("mmis_3d_gzip.h5")).unwrap();
    check(&ds, D, 0, 0.5);
    assert_eq!(ds.image_dtype, Some(DType::F64));
    let ds = read_mmis_h5(&golden("mmis_3d_int.h5")).unwrap();
    check(&ds, D, 0, 0.0);
    assert_eq!(
        (ds.image_dtype, ds.mask_dtype),
        (Some(DType::I16), Some(DType::F32))
    );
    let all = read_mmis_h5_dir(&golden("")).unwrap();
    assert_eq!(all.len(), 1 + 2 * D);
}

#[test]
fn layout_errors_name_the_problem() {
    let mut fb = FileBuilder::new();
    fb.create_dataset("t1")
        .with_f32_data(&[0.0; 30])
        .with_shape(&[6, 5]);
    fb.create_dataset("label_a1")
        .with_u8_data(&[0; 30])
        .with_shape(&[6, 5]);
    let err = mmis_from_h5_bytes("x.h5", fb.finish().unwrap()).unwrap_err();
    assert!(matches!(err, MmisH5Error::Layout { .. }));
    assert!(err.to_string().contains("t1c"), "{err}");

    let mut fb = FileBuilder::new();
    for k in ["t1", "t1c", "t2"] {
        fb.create_dataset(k)
            .with_f32_data(&[0.0; 30])
            .with_shape(&[6, 5]);
    }
    fb.create_dataset("label_a1")
        .with_u8_data(&[0; 20])
        .with_shape(&[4, 5]);
    let err = mmis_from_h5_bytes("x.h5", fb.finish().unwrap()).unwrap_err();
    assert!(err.to_string().contains("differ in shape"), "{err}");

    let err = mmis_from_h5_bytes("junk.h5", b"not an hdf5 file at all".to_vec()).unwrap_err();
    assert!(matches!(err, MmisH5Error::Hdf5 { .. }), "{err}");
}

#[test]
fn official_npy_slice_folders() {
    let dir = tempfile::tempdir().unwrap();
    for case in ["caseB", "caseA"] {
        for z in [0usize, 2, 10] {
            let img: Vec<f32> = grid(1, |_, y, x| base(z, y, x) as f32)
                .into_iter()
                .flat_map(|b| [b, b + 0.5, -b])
                .collect();
            let lab: Vec<u8> = grid(1, |_, y, x| (1..=4).map(move |k| label(k, z, y, x)))
                .into_iter()
                .flatten()
                .collect();
            write_f32(
                &dir.path().join(format!("{case}/image_{z}.npy")),
                &[H, W, 3],
                &img,
            )
            .unwrap();
            write_u8(
                &dir.path().join(format!("{case}/label_{z}.npy")),
                &[H, W, 4],
                &lab,
            )
            .unwrap();
        }
    }
    let ds = read_mmis_npy_dir(dir.path()).unwrap();
    assert_eq!(ds.format, SourceFormat::MmisNpy);
    let ids: Vec<&str> = ds.samples.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "caseA/0", "caseA/2", "caseA/10", "caseB/0", "caseB/2", "caseB/10"
        ]
    );
    for (s, z) in ds.samples.iter().zip([0, 2, 10, 0, 2, 10]) {
        let one = fmseg_data::formats::RawDataset {
            samples: vec![s.clone()],
            format: SourceFormat::MmisH5,
            ..ds.clone()
        };
        check(&one, 1, z, 0.5);
    }
    // A single case folder reads as one case; a missing label is an error naming the file.
    assert_eq!(
        read_mmis_npy_dir(&dir.path().join("caseA")).unwrap().len(),
        3
    );
    std::fs::remove_file(dir.path().join("caseB/label_2.npy")).unwrap();
    let err = read_mmis_npy_dir(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("image_2.npy") && err.contains("label_2"),
        "{err}"
    );
}

/// Regression (found by the mutation fuzzer): a forged dataspace claiming a gigantic shape made
/// `hdf5-pure` try to allocate exabytes and abort the process; it must be a typed error.
#[test]
fn forged_huge_shapes_are_errors_not_aborts() {
    let bytes = std::fs::read(golden("mmis_3d_gzip.h5")).unwrap();
    let mut dims = Vec::new();
    for v in [D as u64, H as u64, W as u64] {
        dims.extend_from_slice(&v.to_le_bytes());
    }
    let hits: Vec<usize> = bytes
        .windows(dims.len())
        .enumerate()
        .filter(|(_, w)| *w == dims)
        .map(|(i, _)| i)
        .collect();
    assert!(!hits.is_empty());
    let mut errors = 0;
    for (k, &at) in hits.iter().enumerate() {
        for huge in [u64::MAX / 3, 1 << 40] {
            let mut forged = bytes.clone();
            forged[at..at + 8].copy_from_slice(&huge.to_le_bytes());
            // A hit may be the max-dims field, which the reader rightly ignores.
            match mmis_from_h5_bytes("forged.h5", forged) {
                Ok(ds) => assert_eq!(ds.len(), D, "hit {k}"),
                Err(e) => errors += usize::from(e.to_string().contains("implausibly large")),
            }
        }
    }
    assert!(errors > 0);
}
