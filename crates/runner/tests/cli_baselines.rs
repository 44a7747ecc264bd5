//! The baselines through the binary like the flow model: `fmseg train` (method: prob-unet |
//! phiseg | cimd) → `fmseg sample --checkpoint` → `fmseg evaluate`, per method, on the `tiny`
//! synthetic preset; CIMD's `--steps` override; rejected methods and options (exit 2).
#![allow(clippy::unwrap_used)]

mod common;

use common::fmseg;

use std::path::Path;
use std::process::Output;

fn ok(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "exit {:?}: {err}", o.status.code());
    err
}

const DATA: &str = "datasets:\n  - id: tiny\n    synthetic: { preset: tiny, size: 32, raters: 3, seed: 0, train_count: 8, test_count: 2 }\n";
const TRAINING: &str =
    "    training: { steps: 3, batch_size: 4, lr: 1.0e-3, checkpoint_every: 0, log_every: 0 }\n";

/// A one-method experiment file in the `fmseg run` format.
fn ok_stdout(o: &Output) -> String {
    ok(o);
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn spec(method: &str, model: &str) -> String {
    format!("{DATA}methods:\n  - method: {method}\n    model: {model}\n{TRAINING}")
}

fn cases() -> [(&'static str, String); 3] {
    [
        (
            "prob-unet",
            spec(
                "prob-unet",
                "{ filters: [8, 16], convs_per_block: 1, latent_dim: 2, fcomb_convs: 2 }",
            ),
        ),
        (
            "phiseg",
            spec(
                "phiseg",
                "{ filters: [8, 16, 16], convs_per_block: 1, resolution_levels: 3, latent_levels: 2 }",
            ),
        ),
        (
            "cimd",
            spec(
                "cimd",
                "{ model_channels: 32, channel_mult: [1, 2], num_res_blocks: 1, attention_resolutions: [], timesteps: 50, sampling_steps: 3, sampler: ddim, encoder_filters: [8, 16], encoder_convs: 1, latent_dim: 2, use_scale_shift_norm: true }",
            ),
        ),
    ]
}

fn test_images(dir: &Path) -> (String, String) {
    let test = dir.join("test");
    ok(&fmseg(&[
        "data",
        "synth",
        "--preset",
        "tiny",
        "--count",
        "2",
        "--size",
        "32",
        "--raters",
        "3",
        "--start",
        "100",
        "--out",
        &test.display().to_string(),
    ]));
    (
        test.join("images.npy").display().to_string(),
        test.join("annotations.npy").display().to_string(),
    )
}

#[test]
fn each_baseline_trains_samples_and_evaluates_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let (images, annotations) = test_images(dir.path());
    for (method, text) in cases() {
        let file = dir.path().join(format!("{method}.yaml"));
        std::fs::write(&file, text).unwrap();
        let out = dir.path().join(method);
        let o = out.display().to_string();
        ok(&fmseg(&[
            "train",
            "--experiment",
            &file.display().to_string(),
            "--out",
            &o,
        ]));
        let config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap())
                .unwrap();
        assert_eq!(config["method"], method);
        assert!(
            out.join("model.safetensors").is_file() && out.join("model_raw.safetensors").is_file()
        );
        // Every loss term has its own column.
        let terms = match method {
            "prob-unet" => "reconstruction,kl",
            "phiseg" => "reconstruction,reconstruction_final,kl,kl_0,kl_1",
            _ => "mse,vb,kl",
        };
        let csv = std::fs::read_to_string(out.join("loss.csv")).unwrap();
        assert!(
            csv.starts_with(&format!("step,loss,seconds,{terms}\n1,")),
            "{csv}"
        );
        let widths: Vec<usize> = csv.lines().map(|l| l.split(',').count()).collect();
        assert!(widths.iter().all(|&w| w == widths[0]), "{csv}");
        if method == "cimd" {
            let report = ok_stdout(&fmseg(&[
                "model", "diagnose", &o, "--images", "1", "--json",
            ]));
            let d: serde_json::Value = serde_json::from_str(report.trim()).unwrap();
            assert_eq!(d["pairs"], 3, "one image, three raters: {report}");
            assert!(d["reconstruction_dice"].as_f64().is_some(), "{report}");
            assert_eq!(d["denoising"].as_array().unwrap().len(), 10, "{report}");
            // a threshold above any Dice fails with one line naming the folder
            let o2 = fmseg(&[
                "model",
                "diagnose",
                &o,
                "--images",
                "1",
                "--min-reconstruction-dice",
                "1.5",
            ]);
            let err = String::from_utf8_lossy(&o2.stderr);
            assert_eq!(o2.status.code(), Some(1), "{err}");
            assert!(err.contains("reconstruction Dice"), "{err}");
        } else {
            let o2 = fmseg(&["model", "diagnose", &o]);
            let err = String::from_utf8_lossy(&o2.stderr);
            assert_eq!(o2.status.code(), Some(2), "{err}");
            assert!(err.contains("not CIMD"), "{err}");
        }
        // Resuming a finished run is a no-op; training again without --resume is refused.
        let again = fmseg(&[
            "train",
            "--experiment",
            &file.display().to_string(),
            "--out",
            &o,
        ]);
        assert_eq!(again.status.code(), Some(2), "{method}");
        let samples = dir.path().join(format!("{method}-samples.npy"));
        let s = samples.display().to_string();
        let err = ok(&fmseg(&[
            "sample",
            "--checkpoint",
            &o,
            "--images",
            &images,
            "--count",
            "3",
            "--seed",
            "1",
            "--out",
            &s,
        ]));
        assert!(err.contains(method) && err.contains("NFE"), "{err}");
        // One row per network pass draws the same samples; bf16 is the flow model's only.
        let one = dir.path().join(format!("{method}-mb1.npy"));
        let base = [
            "sample",
            "--checkpoint",
            &o,
            "--images",
            &images,
            "--count",
            "3",
        ];
        let mut args = base.to_vec();
        args.extend([
            "--seed",
            "1",
            "--max-batch",
            "1",
            "--out",
            one.to_str().unwrap(),
        ]);
        ok(&fmseg(&args));
        let read = |p: &Path| match fmseg_data::npy::NpyArray::read(p).unwrap().data {
            fmseg_data::npy::NpyData::F32(v) => v,
            other => panic!("not f32: {other:?}"),
        };
        let worst = read(&one)
            .iter()
            .zip(&read(&samples))
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst <= 1e-5, "{method}: --max-batch 1 differs by {worst}");
        let mut args = base.to_vec();
        args.extend(["--precision", "bf16", "--out", one.to_str().unwrap()]);
        assert_eq!(fmseg(&args).status.code(), Some(2), "{method}: --precision");
        let eval = fmseg(&[
            "evaluate",
            "--samples",
            &s,
            "--annotations",
            &annotations,
            "--json",
        ]);
        ok(&eval);
        let json: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
        let ged = json["mean"]["ged"]
            .as_f64()
            .unwrap_or_else(|| panic!("{method}: {json}"));
        assert!(ged.is_finite() && ged >= 0.0, "{method}: GED {ged}");
        // Raw weights load too.
        let raw = dir
            .path()
            .join(format!("{method}-raw.npy"))
            .display()
            .to_string();
        ok(&fmseg(&[
            "sample",
            "--checkpoint",
            &o,
            "--images",
            &images,
            "--count",
            "2",
            "--raw-weights",
            "--out",
            &raw,
        ]));
        if method == "cimd" {
            let err = ok(&fmseg(&[
                "sample",
                "--checkpoint",
                &o,
                "--images",
                &images,
                "--count",
                "2",
                "--steps",
                "5",
                "--out",
                &raw,
            ]));
            assert!(err.contains("NFE 5"), "{err}");
            let bad = fmseg(&[
                "sample",
                "--checkpoint",
                &o,
                "--images",
                &images,
                "--count",
                "2",
                "--steps",
                "51",
                "--out",
                &raw,
            ]);
            assert_eq!(bad.status.code(), Some(2));
            assert!(String::from_utf8_lossy(&bad.stderr).contains("T"));
        } else {
            let bad = fmseg(&[
                "sample",
                "--checkpoint",
                &o,
                "--images",
                &images,
                "--count",
                "2",
                "--steps",
                "5",
                "--out",
                &raw,
            ]);
            assert_eq!(bad.status.code(), Some(2), "{method}: --steps is refused");
        }
    }
}

#[test]
fn unknown_methods_and_bad_baseline_configs_exit_2_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (spec("unet", "{}"), "method"),
        (spec("prob-unet", "{ latent_dim: 0 }"), "model.latent_dim"),
        (
            spec("phiseg", "{ resolution_levels: 9 }"),
            "model.resolution_levels",
        ),
        (
            spec("cimd", "{ timesteps: 10, sampling_steps: 20 }"),
            "model.sampling_steps",
        ),
        (spec("prob-unet", "{ lattent_dim: 3 }"), "lattent_dim"),
    ];
    for (i, (text, field)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("bad{i}.yaml"));
        std::fs::write(&file, text).unwrap();
        let o = fmseg(&[
            "train",
            "--experiment",
            &file.display().to_string(),
            "--out",
            &dir.path().join(format!("o{i}")).display().to_string(),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "case {i}: {err}");
        assert!(
            err.contains(&format!("bad{i}.yaml")) && err.contains(field),
            "case {i}: {err}"
        );
    }
}

/// Data-parallel shards sum the logged terms with the loss: each `loss.csv` row of Prob-UNet
/// (total = reconstruction + β·KL, β = 1) adds up on two CPU shards as on one device.
#[test]
fn logged_terms_add_up_on_data_parallel_shards() {
    let dir = tempfile::tempdir().unwrap();
    let text = spec(
        "prob-unet",
        "{ filters: [8, 16], convs_per_block: 1, latent_dim: 2, fcomb_convs: 2 }",
    )
    .replace("batch_size: 4", "batch_size: 4, devices: [cpu, cpu]");
    let file = dir.path().join("dp.yaml");
    std::fs::write(&file, text).unwrap();
    let out = dir.path().join("dp");
    ok(&fmseg(&[
        "train",
        "--experiment",
        &file.display().to_string(),
        "--out",
        &out.display().to_string(),
    ]));
    let csv = std::fs::read_to_string(out.join("loss.csv")).unwrap();
    assert!(
        csv.starts_with("step,loss,seconds,reconstruction,kl\n"),
        "{csv}"
    );
    for line in csv.lines().skip(1) {
        let v: Vec<f64> = line.split(',').map(|f| f.parse().unwrap()).collect();
        assert!(
            (v[1] - (v[3] + v[4])).abs() < 1e-3 * v[1].abs().max(1.0),
            "{csv}"
        );
    }
}
