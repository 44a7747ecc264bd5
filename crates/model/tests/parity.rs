//! Parity of the Rust U-Net with the official PyTorch `UNetModel` (float32, CPU).
//!
//! Fixtures: `shared/parity/unet/{tiny,paper-shape}` beside the repository root (made by running
//! the official `huynhspm/Data-Uncertainty` code; see their README). Each test builds the network
//! from `config.json` → `constructor`, checks the ordered key/shape list and the parameter count,
//! loads `weights.safetensors`, and compares `v_cond`, `v_uncond` and `v_cfg` (cfg scale 0.3)
//! element-wise against the files with the recommended gate max |Δ| ≤ 2e-5. Per-block deviations
//! against `intermediates_cond.safetensors` are printed for bisecting. Tests skip (with a message)
//! when the fixtures are absent. Run with `--nocapture` to see the numbers and timings.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use fmseg_model::unet::{UNet, UNetConfig, read_safetensors};

const GATE: f32 = 2e-5;
const CFG_SCALE: f64 = 0.3;

fn fixture_dir(name: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/parity/unet")
        .join(name);
    if dir.join("config.json").is_file() {
        Some(dir)
    } else {
        println!(
            "SKIP parity `{name}`: fixtures not found at {}",
            dir.display()
        );
        None
    }
}

/// An `.npy` fixture as (shape, values), f64 files narrowed to f32.
fn read_npy(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let file = std::fs::File::open(path).expect("open .npy fixture");
    let npy = npyz::NpyFile::new(std::io::BufReader::new(file)).expect("parse .npy header");
    let shape = npy.shape().iter().map(|&d| d as usize).collect();
    let data = match npy.dtype().num_bytes() {
        Some(8) => npy
            .into_vec::<f64>()
            .expect("f64 data")
            .into_iter()
            .map(|v| v as f32)
            .collect(),
        _ => npy.into_vec::<f32>().expect("f32 data"),
    };
    (shape, data)
}

fn tensor<const D: usize>(dir: &Path, file: &str, device: &Device) -> Tensor<D> {
    let (shape, data) = read_npy(&dir.join(file));
    Tensor::from_data(TensorData::new(data, shape), device)
}

fn max_abs_diff<const D: usize>(ours: Tensor<D>, expected: &[f32], shape: &[usize]) -> f32 {
    assert_eq!(ours.dims().as_slice(), shape, "shape mismatch");
    let ours = ours.into_data().try_to_vec::<f32>().expect("read back f32");
    ours.iter()
        .zip(expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

fn check_layout(unet: &UNet, config: &serde_json::Value) {
    let expected: Vec<(String, Vec<usize>)> =
        serde_json::from_value(config["state_dict"].clone()).expect("state_dict list");
    assert_eq!(
        unet.parameter_shapes(),
        expected,
        "ordered state_dict keys and shapes"
    );
    assert_eq!(
        unet.num_params() as u64,
        config["param_count"].as_u64().expect("param_count")
    );
}

fn print_intermediates(dir: &Path, acts: fmseg_model::unet::Activations) {
    let reference =
        read_safetensors(dir.join("intermediates_cond.safetensors")).expect("intermediates");
    let lookup = |key: &str| reference.iter().find(|(k, _, _)| k == key);
    let report = |key: &str, diff: Option<f32>| match diff {
        Some(d) => println!("  {key:<18} max|Δ| = {d:.3e}"),
        None => println!("  {key:<18} (not in the reference file)"),
    };
    let diff2 = |key: &str, t: Tensor<2>| lookup(key).map(|(_, s, d)| max_abs_diff(t, d, s));
    report("time_sinusoid", diff2("time_sinusoid", acts.time_sinusoid));
    report("time_emb", diff2("time_emb", acts.time_emb));
    let blocks = std::iter::once(("unet_input".to_string(), acts.unet_input)).chain(acts.blocks);
    for (key, t) in blocks {
        report(&key, lookup(&key).map(|(_, s, d)| max_abs_diff(t, d, s)));
    }
}

/// Wall time of one forward, including reading the result back.
fn timed(forward: impl FnOnce() -> Tensor<4>) -> Duration {
    let start = Instant::now();
    let _ = forward().into_data();
    start.elapsed()
}

fn run_fixture(name: &str) {
    let Some(dir) = fixture_dir(name) else { return };
    let device = Device::flex();
    let config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("config.json")).expect("config.json"),
    )
    .expect("config.json is JSON");
    let unet_config = UNetConfig::from_json_value(config["constructor"].clone())
        .unwrap_or_else(|err| panic!("constructor: {err}"));
    let unet = unet_config.init(&device);
    check_layout(&unet, &config);
    let unet = unet
        .load_safetensors(dir.join("weights.safetensors"))
        .unwrap_or_else(|err| panic!("{err}"));

    let x_t: Tensor<4> = tensor(&dir, "x_t.npy", &device);
    let t: Tensor<1> = tensor(&dir, "t.npy", &device);
    let image: Tensor<4> = tensor(&dir, "image.npy", &device);

    let v_cond = unet.forward(x_t.clone(), t.clone(), image.clone()); // also the warm-up
    let v_uncond = unet.forward_uncond(x_t.clone(), t.clone());
    let v_cfg = unet.forward_cfg(x_t.clone(), t.clone(), image.clone(), CFG_SCALE);
    let cond_time = timed(|| unet.forward(x_t.clone(), t.clone(), image.clone()));
    let cfg_time = timed(|| unet.forward_cfg(x_t.clone(), t.clone(), image.clone(), CFG_SCALE));

    println!(
        "parity `{name}` (batch {}, input {:?}):",
        x_t.dims()[0],
        x_t.dims()
    );
    let mut worst = Vec::new();
    for (label, ours) in [("v_cond", v_cond), ("v_uncond", v_uncond), ("v_cfg", v_cfg)] {
        let (shape, expected) = read_npy(&dir.join(format!("{label}.npy")));
        let (_, expected_f64) = read_npy(&dir.join(format!("{label}_f64.npy")));
        let diff = max_abs_diff(ours.clone(), &expected, &shape);
        let diff_f64 = max_abs_diff(ours, &expected_f64, &shape);
        println!("  {label:<9} max|Δ| vs f32 file = {diff:.3e}, vs f64 file = {diff_f64:.3e}");
        worst.push((label, diff));
    }
    println!(
        "  flex forward (cond, batch B): {cond_time:.2?}; forward_cfg (one batched 2B pass): {cfg_time:.2?}"
    );
    println!("  per-block deviations of the conditional pass:");
    print_intermediates(&dir, unet.forward_with_activations(x_t, t, image));
    for (label, diff) in worst {
        assert!(
            diff <= GATE,
            "`{name}` {label}: max|Δ| {diff:.3e} > {GATE:e}"
        );
    }
}

#[test]
fn tiny_fixture_matches_official_forward() {
    run_fixture("tiny");
}

#[test]
fn paper_shape_fixture_matches_official_forward() {
    run_fixture("paper-shape");
}
