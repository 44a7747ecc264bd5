//! `fmseg likelihood` end to end on the tiny official-weights fixture: exact and Hutchinson
//! divergences agree within the estimator's standard error, the JSON lists every (image, rater),
//! and bad arguments exit with code 2.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fmseg_data::npy::{write_f32, write_u8};
use serde_json::Value;

fn fixture() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/parity/unet/tiny");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: ../shared/parity/unet/tiny absent");
        None
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fmseg"))
        .args(args)
        .output()
        .unwrap()
}

fn likelihood(ckpt: &Path, dir: &Path, extra: &[&str]) -> Value {
    let images = dir.join("i.npy");
    let annotations = dir.join("a.npy");
    let mut args = vec![
        "likelihood",
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--images",
        images.to_str().unwrap(),
        "--annotations",
        annotations.to_str().unwrap(),
        "--solver",
        "euler",
        "--steps",
        "2",
    ];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn exact_and_hutchinson_agree_and_every_annotation_is_scored() {
    let Some(ckpt) = fixture() else { return };
    let dir = tempfile::tempdir().unwrap();
    let image: Vec<f32> = (0..64).map(|i| (i % 7) as f32 / 6.0).collect();
    write_f32(&dir.path().join("i.npy"), &[1, 1, 8, 8], &image).unwrap();
    let masks: Vec<u8> = (0..128)
        .map(|i| u8::from((i / 8) % 8 >= 3 && i % 8 < 5 + i / 64))
        .collect();
    write_u8(&dir.path().join("a.npy"), &[1, 2, 8, 8], &masks).unwrap();
    let exact = likelihood(
        &ckpt,
        dir.path(),
        &["--divergence", "exact", "--dequantise", "0.1"],
    );
    let hutch = likelihood(
        &ckpt,
        dir.path(),
        &["--probes", "16", "--dequantise", "0.1"],
    );
    assert_eq!(exact["per_annotation"].as_array().unwrap().len(), 2);
    for r in 0..2 {
        let e = &exact["per_annotation"][r];
        let h = &hutch["per_annotation"][r];
        assert_eq!(e["rater"], r);
        let (en, hn, se) = (
            e["nats"].as_f64().unwrap(),
            h["nats"].as_f64().unwrap(),
            h["std_error"].as_f64().unwrap(),
        );
        assert!(en.is_finite() && e["std_error"].as_f64().unwrap() == 0.0);
        assert!(
            (en - hn).abs() < 5.0 * se + 1e-3,
            "rater {r}: exact {en} vs hutchinson {hn} ± {se}"
        );
        let bpp = e["bits_per_pixel"].as_f64().unwrap();
        assert!((bpp + en / (64.0 * std::f64::consts::LN_2)).abs() < 1e-9);
    }
}

#[test]
fn bad_arguments_exit_2() {
    let Some(ckpt) = fixture() else { return };
    let dir = tempfile::tempdir().unwrap();
    write_f32(&dir.path().join("i.npy"), &[1, 1, 8, 8], &[0.5; 64]).unwrap();
    write_u8(&dir.path().join("a.npy"), &[1, 2, 4, 4], &[0; 32]).unwrap();
    let base = |extra: &[&str]| {
        let i = dir.path().join("i.npy");
        let a = dir.path().join("a.npy");
        let mut args = vec!["likelihood", "--checkpoint", ckpt.to_str().unwrap()];
        args.extend([
            "--images",
            i.to_str().unwrap(),
            "--annotations",
            a.to_str().unwrap(),
        ]);
        args.extend_from_slice(extra);
        run(&args)
    };
    let out = base(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("a.npy"),
        "shape mismatch names the file"
    );
    let out = base(&["--divergence", "bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--divergence"));
}
