//! CIMD JPEG folders: the 28 real LIDC samples and small generated folders.
// Test helpers outside `#[test]` functions unwrap fixture data on purpose.
#![allow(clippy::unwrap_used)]

mod formats_support;

use std::path::Path;

use fmseg_data::formats::SourceFormat;
use fmseg_data::formats::cimd_jpeg::{CimdError, read_cimd_dir};
use formats_support::shared_file;
use image::{GrayImage, Luma};

#[test]
fn real_cimd_samples() {
    let Some(root) = shared_file("real-samples/lidc-cimd-jpeg") else {
        return;
    };
    let ds = read_cimd_dir(&root).unwrap();
    assert_eq!(ds.format, SourceFormat::CimdJpeg);
    assert_eq!(ds.len(), 28);
    assert_eq!(ds.num_raters(), Some(4));
    assert_eq!(ds.shape(), Some((1, 128, 128)));
    assert_eq!(
        ds.samples
            .iter()
            .filter(|s| s.id.starts_with("training/"))
            .count(),
        19
    );
    assert_eq!(
        ds.samples
            .iter()
            .filter(|s| s.id.starts_with("testing/"))
            .count(),
        9
    );
    let t2 = ds.sample("training/2").unwrap();
    assert_eq!(
        t2.foreground_counts().iter().filter(|&&c| c == 0).count(),
        3
    );
    let with_empty: Vec<&str> = ds
        .samples
        .iter()
        .filter(|s| s.has_empty_rater())
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(with_empty.len(), 7, "{with_empty:?}");
    for id in [
        "training/2",
        "training/5",
        "training/8",
        "training/13",
        "testing/12",
        "testing/40",
    ] {
        let c = ds.sample(id).unwrap().foreground_counts();
        assert_eq!(c.iter().filter(|&&x| x == 0).count(), 3, "{id}: {c:?}");
    }
    let t10 = ds.sample("training/10").unwrap().foreground_counts();
    assert_eq!(t10.iter().filter(|&&x| x == 0).count(), 1, "{t10:?}");
    for s in &ds.samples {
        assert!(s.image.iter().all(|&v| (0.0..=1.0).contains(&v)));
        assert!(s.masks.iter().flatten().all(|&v| v <= 1));
    }
    // natural order: numeric folder names sort as numbers
    let training: Vec<u32> = ds
        .samples
        .iter()
        .filter_map(|s| s.id.strip_prefix("training/")?.parse().ok())
        .collect();
    assert!(training.windows(2).all(|w| w[0] < w[1]), "{training:?}");
}

fn square(size: u32, lo: u32, hi: u32) -> GrayImage {
    GrayImage::from_fn(size, size, |x, y| {
        Luma([if (lo..hi).contains(&x) && (lo..hi).contains(&y) {
            255
        } else {
            0
        }])
    })
}

fn write_sample(dir: &Path, ext: &str, squares: &[(u32, u32)]) {
    std::fs::create_dir_all(dir).unwrap();
    let img = GrayImage::from_fn(16, 16, |x, y| Luma([(x * 16 + y) as u8]));
    img.save(dir.join(format!("image_7.{ext}"))).unwrap();
    for (d, &(lo, hi)) in squares.iter().enumerate() {
        square(16, lo, hi)
            .save(dir.join(format!("label{d}_.{ext}")))
            .unwrap();
    }
}

#[test]
fn generated_folders_png_exact_and_jpeg_close() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    write_sample(&root.join("training/10"), "png", &[(4, 8), (4, 10), (0, 0)]);
    write_sample(&root.join("training/9"), "png", &[(0, 16), (2, 3)]);
    write_sample(&root.join("testing/1"), "jpg", &[(4, 12), (0, 0)]);
    std::fs::write(root.join("training/9/notes.txt"), "ignored").unwrap();
    let ds = read_cimd_dir(&root).unwrap();
    let ids: Vec<&str> = ds.samples.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["testing/1", "training/9", "training/10"]);
    assert_eq!(ds.num_raters(), None);
    let s10 = ds.sample("training/10").unwrap();
    assert_eq!(s10.foreground_counts(), vec![16, 36, 0]);
    assert_eq!((s10.height, s10.width, s10.channels), (16, 16, 1));
    assert_eq!(s10.image[1], 16.0 / 255.0); // row 0, column 1
    assert_eq!(s10.image[16], 1.0 / 255.0); // row 1, column 0
    assert_eq!(
        ds.sample("training/9").unwrap().foreground_counts(),
        vec![256, 1]
    );
    let j = ds.sample("testing/1").unwrap().foreground_counts();
    assert!((j[0] as i64 - 64).abs() <= 4 && j[1] == 0, "{j:?}");
}

#[test]
fn raters_ordered_by_label_number() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    write_sample(&dir, "png", &[]);
    for (d, hi) in [(10u32, 3u32), (2, 2), (0, 1)] {
        square(16, 0, hi)
            .save(dir.join(format!("label{d}_.png")))
            .unwrap();
    }
    let ds = read_cimd_dir(tmp.path()).unwrap();
    assert_eq!(ds.samples[0].foreground_counts(), vec![1, 4, 9]);
    assert_eq!(ds.samples[0].id, "s");
}

#[test]
fn inconsistent_folders_are_named_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a/3");
    write_sample(&dir, "png", &[(0, 4)]);
    square(8, 0, 4).save(dir.join("label1_.png")).unwrap();
    let e = read_cimd_dir(tmp.path()).unwrap_err();
    assert!(
        matches!(&e, CimdError::Sample { sample, .. } if sample == "a/3"),
        "{e}"
    );
    assert!(
        e.to_string().contains("label1 is 8x8, image is 16x16"),
        "{e}"
    );

    std::fs::remove_file(dir.join("label1_.png")).unwrap();
    square(16, 0, 4).save(dir.join("label0_copy.png")).unwrap();
    let e = read_cimd_dir(tmp.path()).unwrap_err().to_string();
    assert!(e.contains("more than one label0_"), "{e}");

    std::fs::remove_file(dir.join("label0_copy.png")).unwrap();
    std::fs::remove_file(dir.join("image_7.png")).unwrap();
    let e = read_cimd_dir(tmp.path()).unwrap_err().to_string();
    assert!(e.contains("no image_"), "{e}");

    std::fs::write(dir.join("image_1.jpg"), b"not a jpeg").unwrap();
    assert!(matches!(
        read_cimd_dir(tmp.path()),
        Err(CimdError::Decode { .. })
    ));
    assert!(matches!(
        read_cimd_dir(&tmp.path().join("missing")),
        Err(CimdError::Io { .. })
    ));
}
