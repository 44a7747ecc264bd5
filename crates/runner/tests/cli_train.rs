//! `fmseg train` end to end: a few steps of flow matching on the `tiny` synthetic preset into a
//! temporary folder (the checkpoint-folder contract), resume, and rejected specs (exit 2).
#![allow(clippy::unwrap_used)]

mod common;

use common::fmseg;

use std::path::Path;
use std::process::Output;

const SPEC: &str = "\
datasets:
  - id: tiny
    synthetic: { preset: tiny, size: 32, raters: 4, seed: 0, train_count: 8, test_count: 2 }
methods:
  - method: flow
    model: { preset: cpu-small, model_channels: 32, channel_mult: [1, 2], num_res_blocks: 1 }
    training: { steps: STEPS, batch_size: 4, checkpoint_every: 2, log_every: 1 }
";

fn write_spec(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn train(spec: &str, out: &Path, extra: &[&str]) -> Output {
    let out = out.display().to_string();
    let mut args = vec!["train", "--experiment", spec, "--out", out.as_str()];
    args.extend_from_slice(extra);
    fmseg(&args)
}

#[test]
fn trains_a_few_steps_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let spec = write_spec(dir.path(), "a.yaml", &SPEC.replace("STEPS", "2"));
    let o = train(&spec, &out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for file in [
        "config.json",
        "model.safetensors",
        "model_raw.safetensors",
        "loss.csv",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    assert!(out.join("checkpoints/step-000002/optimizer.bpk").is_file());
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["unet"]["d_cond_image"], 1);
    assert_eq!(config["training"]["betas"], serde_json::json!([0.9, 0.95]));
    assert_eq!(config["dataset"]["id"], "tiny");
    assert_eq!(config["dataset"]["train_count"], 8);

    // A second run into the same folder must ask for --resume.
    let again = train(&spec, &out, &[]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--resume"));

    let longer = write_spec(dir.path(), "b.yaml", &SPEC.replace("STEPS", "3"));
    let o = train(&longer, &out, &["--resume"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(out.join("loss.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(csv.starts_with("step,loss,seconds\n1,"));
}

#[test]
fn unknown_key_is_rejected_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let text = SPEC
        .replace("STEPS", "2")
        .replace("batch_size: 4", "batch_size: 4, lerning_rate: 1");
    let spec = write_spec(dir.path(), "bad.yaml", &text);
    let o = train(&spec, &dir.path().join("run"), &[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("lerning_rate") && stderr.contains("bad.yaml"),
        "{stderr}"
    );
    assert!(!dir.path().join("run").exists());
}

#[test]
fn out_of_range_value_names_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let text = SPEC
        .replace("STEPS", "2")
        .replace("batch_size: 4", "batch_size: 4, cfg_drop_prob: 1.5");
    let spec = write_spec(dir.path(), "range.yaml", &text);
    let o = train(&spec, &dir.path().join("run"), &[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("training.cfg_drop_prob"), "{stderr}");
    let text = SPEC
        .replace("STEPS", "2")
        .replace("train_count: 8", "train_count: 2");
    let spec = write_spec(dir.path(), "count.yaml", &text);
    let o = train(&spec, &dir.path().join("run"), &[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("training.batch_size"), "{stderr}");
}

#[test]
fn shipped_single_method_specs_are_valid() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "flow-tiny",
        "reproduce-flow",
        "prob-unet-tiny",
        "phiseg-tiny",
        "cimd-tiny",
    ] {
        let spec = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../../experiments/{name}.yaml"))
            .display()
            .to_string();
        // `fmseg run --list` resolves every block without training anything.
        let o = fmseg(&[
            "run",
            &spec,
            "--list",
            "--out",
            &dir.path().display().to_string(),
        ]);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// `fmseg train` on a real dataset block: the QUBIQ brain-growth pickle of ../shared.
#[test]
fn trains_on_a_real_dataset_block() {
    let pickle = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/real-samples/qubiq-brain-growth-pickle/brain_growth_alpha.pkl");
    let Ok(pickle) = pickle.canonicalize() else {
        eprintln!("skipped: {} is absent", pickle.display());
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "name: qubiq\ndatasets:\n  - id: brain-growth\n    path: {}\n    format: knegt-pickle\n    split: {{ train: [0, 34], test: [34, 39] }}\n    preprocess: {{ size: 32 }}\nmethods:\n  - method: prob-unet\n    model: {{ filters: [8, 16], convs_per_block: 1, latent_dim: 2, fcomb_convs: 2 }}\n    training: {{ steps: 2, batch_size: 4, checkpoint_every: 0, log_every: 0 }}\n",
        pickle.display()
    );
    let spec = write_spec(dir.path(), "qubiq.yaml", &text);
    let out = dir.path().join("run");
    let o = train(&spec, &out, &["--device", "cpu"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["method"], "prob-unet");
    assert_eq!(config["dataset"]["id"], "brain-growth");
    assert_eq!(config["dataset"]["train_count"], 34);
    assert_eq!(config["prob-unet"]["image_size"], 32);
    // A device this binary lacks is refused naming the cargo feature, before any work.
    let o = train(&spec, &dir.path().join("gpu"), &["--device", "cuda"]);
    let err = String::from_utf8_lossy(&o.stderr);
    if !cfg!(feature = "cuda") {
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("--features cuda"), "{err}");
    }
}

#[test]
fn training_devices_shard_the_batch_or_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let with = |devices: &str| {
        SPEC.replace("STEPS", "2").replace(
            "batch_size: 4",
            &format!("batch_size: 4, devices: {devices}"),
        )
    };
    // Two data-parallel shards (both on the CPU here: the mechanism, not a speed-up).
    let spec = write_spec(dir.path(), "dp.yaml", &with("[cpu, cpu]"));
    let out = dir.path().join("dp");
    let o = train(&spec, &out, &[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("on cpu,cpu"), "{stderr}");
    assert!(out.join("model.safetensors").is_file());
    for (devices, needle) in [
        ("[]", "training.devices"),
        ("[cpu, cpu, cpu, cpu, cpu]", "training.devices"),
        ("[tpu]", "training.devices"),
    ] {
        let spec = write_spec(dir.path(), "bad.yaml", &with(devices));
        let o = train(&spec, &dir.path().join("bad"), &[]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{devices}: {stderr}");
        assert!(stderr.contains(needle), "{devices}: {stderr}");
    }
    if !cfg!(feature = "cuda") {
        let spec = write_spec(dir.path(), "cuda.yaml", &with("[cuda:0, cuda:1]"));
        let o = train(&spec, &dir.path().join("cuda"), &[]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("--features cuda"), "{stderr}");
    }
}
