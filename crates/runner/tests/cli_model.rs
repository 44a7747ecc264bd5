//! `fmseg model velocity` and `fmseg sample` end to end on the tiny parity fixture.
#![allow(clippy::unwrap_used)]

mod common;

use common::fmseg;

use std::path::{Path, PathBuf};

use fmseg_data::npy::{NpyArray, NpyData, write_f32};

fn fixture() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/parity/unet/tiny");
    if dir.join("config.json").is_file() {
        Some(dir)
    } else {
        println!("SKIP: parity fixtures not found at {}", dir.display());
        None
    }
}

fn floats(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let a = NpyArray::read(path).unwrap();
    match a.data {
        NpyData::F32(v) => (a.shape, v),
        other => panic!("not f32: {other:?}"),
    }
}

fn velocity_args(dir: &Path, weights: &str, guidance: &str, out: &Path) -> Vec<String> {
    let p = |f: &str| dir.join(f).display().to_string();
    vec![
        "model".into(),
        "velocity".into(),
        "--official-config".into(),
        p("config.json"),
        "--weights".into(),
        p(weights),
        "--x-t".into(),
        p("x_t.npy"),
        "--t".into(),
        p("t.npy"),
        "--image".into(),
        p("image.npy"),
        "--guidance".into(),
        guidance.into(),
        "--out".into(),
        out.display().to_string(),
    ]
}

#[test]
fn velocity_reproduces_the_official_outputs() {
    let Some(dir) = fixture() else { return };
    let tmp = tempfile::tempdir().unwrap();
    for (weights, guidance, reference) in [
        ("weights.safetensors", "0.3", "v_cfg.npy"),
        ("weights.pt", "0.3", "v_cfg.npy"),
        ("weights.safetensors", "conditional", "v_cond.npy"),
        ("weights.safetensors", "unconditional", "v_uncond.npy"),
    ] {
        let out = tmp.path().join("v.npy");
        let args = velocity_args(&dir, weights, guidance, &out);
        let run = fmseg(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let (shape, v) = floats(&out);
        let (ref_shape, r) = floats(&dir.join(reference));
        assert_eq!(shape, ref_shape);
        let max = v
            .iter()
            .zip(&r)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(max <= 2e-5, "{weights} {guidance}: max |Δ| = {max}");
    }
}

#[test]
fn velocity_reports_its_difference_from_a_reference_on_the_chosen_device() {
    let Some(dir) = fixture() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("v.npy");
    let mut args = velocity_args(&dir, "weights.safetensors", "0.3", &out);
    let expect = dir.join("v_cfg.npy").display().to_string();
    args.extend(["--expect".into(), expect, "--device".into(), "cpu".into()]);
    let run = fmseg(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let line: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(line["device"], "cpu");
    let max = line["max_abs_diff"].as_f64().unwrap();
    assert!((0.0..=2e-5).contains(&max), "{line}");
    // A reference of another shape is refused (exit 2).
    let mut args = velocity_args(&dir, "weights.safetensors", "0.3", &out);
    args.extend(["--expect".into(), dir.join("t.npy").display().to_string()]);
    let run = fmseg(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        run.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn sample_writes_soft_masks_for_every_image() {
    let Some(dir) = fixture() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("s.npy");
    let images = dir.join("image.npy").display().to_string();
    let run = fmseg(&[
        "sample",
        "--checkpoint",
        dir.to_str().unwrap(),
        "--images",
        &images,
        "--count",
        "4",
        "--solver",
        "midpoint",
        "--steps",
        "10",
        "--seed",
        "3",
        "--max-batch",
        "5",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    println!("{stderr}");
    assert!(stderr.contains("NFE 40"), "{stderr}");
    let (shape, v) = floats(&out);
    assert_eq!(shape, [2, 4, 32, 32]);
    assert!(v.iter().all(|x| (0.0..=1.0).contains(x)));
    // bf16 on the CPU: the same draws within bf16's rounding; an unknown precision is exit 2.
    let low = tmp.path().join("bf16.npy");
    let args = |precision: &'static str, path: &Path| {
        let mut a: Vec<String> = [
            "sample",
            "--checkpoint",
            dir.to_str().unwrap(),
            "--images",
            &images,
            "--count",
            "4",
            "--solver",
            "midpoint",
            "--steps",
            "10",
            "--seed",
            "3",
            "--out",
        ]
        .map(String::from)
        .to_vec();
        a.extend([
            path.display().to_string(),
            "--precision".into(),
            precision.into(),
        ]);
        a
    };
    let run = fmseg(
        &args("bf16", &low)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let (_, w) = floats(&low);
    let mean = v.iter().zip(&w).map(|(a, b)| (a - b).abs()).sum::<f32>() / v.len() as f32;
    assert!(mean < 0.02, "bf16 mean |Δ| {mean}");
    let run = fmseg(
        &args("fp8", &low)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(run.status.code(), Some(2));
}

#[test]
fn bad_inputs_exit_with_code_2_and_name_the_file() {
    let Some(dir) = fixture() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad_images.npy");
    write_f32(&bad, &[2, 3, 32, 32], &vec![0.5; 2 * 3 * 32 * 32]).unwrap();
    let out = tmp.path().join("s.npy");
    let run = fmseg(&[
        "sample",
        "--checkpoint",
        dir.to_str().unwrap(),
        "--images",
        bad.to_str().unwrap(),
        "--count",
        "1",
        "--steps",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("bad_images.npy"));

    let missing = tmp.path().join("nowhere");
    let run = fmseg(&[
        "sample",
        "--checkpoint",
        missing.to_str().unwrap(),
        "--images",
        bad.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("config.json"));

    let args = velocity_args(&dir, "weights.safetensors", "sideways", &out);
    let run = fmseg(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(run.status.code(), Some(2));
    let junk = tmp.path().join("junk.pt");
    std::fs::write(&junk, b"not a checkpoint").unwrap();
    let args = velocity_args(&dir, junk.to_str().unwrap(), "0.3", &out);
    let run = fmseg(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(run.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("junk.pt"),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}
