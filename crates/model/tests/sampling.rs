//! Flow sampling, likelihood and official-checkpoint loading end to end (on CPU / flex).
#![allow(clippy::unwrap_used)]

use std::cell::Cell;
use std::path::{Path, PathBuf};

use burn::tensor::{Device, Distribution, Tensor, TensorData};
use fmseg_model::checkpoint_load::{WeightSelection, load_official, load_official_with};
use fmseg_model::flow::likelihood::{Divergence, LikelihoodConfig, log_likelihood};
use fmseg_model::flow::sampling::{Decode, FlowSampler, FlowSamplerConfig, GuidedField};
use fmseg_model::ode::{Solver, SolverConfig, VelocityField};
use fmseg_model::{SegmentationSampler, UNetConfig};

fn tiny_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/parity/unet/tiny");
    if dir.join("weights.pt").is_file() {
        Some(dir)
    } else {
        println!("SKIP: fixtures not found at {}", dir.display());
        None
    }
}

fn tiny_config(dir: &Path) -> UNetConfig {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    UNetConfig::from_json_value(json["constructor"].clone()).unwrap()
}

fn sampler(config: FlowSamplerConfig) -> Option<(FlowSampler, Tensor<4>)> {
    let dir = tiny_dir()?;
    let device = Device::flex();
    let unet = load_official(
        &tiny_config(&dir),
        &dir.join("weights.safetensors"),
        &device,
    )
    .unwrap();
    let images = Tensor::<4>::random([2, 1, 32, 32], Distribution::Default, &device);
    Some((FlowSampler::new(unet, config), images))
}

fn cheap(solver: Solver, steps: usize) -> FlowSamplerConfig {
    FlowSamplerConfig {
        solver: SolverConfig::fixed(solver, steps),
        max_batch: 3,
        ..FlowSamplerConfig::default()
    }
}

#[test]
fn pt_and_safetensors_weights_give_identical_outputs() {
    let Some(dir) = tiny_dir() else { return };
    let device = Device::flex();
    let config = tiny_config(&dir);
    let a = load_official(&config, &dir.join("weights.safetensors"), &device).unwrap();
    let b = load_official_with(
        &config,
        &dir.join("weights.pt"),
        &device,
        WeightSelection::Raw,
    )
    .unwrap();
    let x = Tensor::<4>::random([2, 1, 32, 32], Distribution::Default, &device);
    let t = Tensor::<1>::from_floats([0.2, 0.7], &device);
    let img = Tensor::<4>::random([2, 1, 32, 32], Distribution::Default, &device);
    let diff = (a.forward_cfg(x.clone(), t.clone(), img.clone(), 0.3)
        - b.forward_cfg(x, t, img, 0.3))
    .abs()
    .max();
    assert_eq!(diff.into_scalar::<f32>(), 0.0);
}

#[test]
fn samples_are_soft_quantised_with_exact_nfe_and_prefix_stable() {
    let Some((s, images)) = sampler(cheap(Solver::Midpoint, 3)) else {
        return;
    };
    let set = s.sample(images.clone(), 3, 7).unwrap();
    assert_eq!(set.shape, [2, 3, 32, 32]);
    assert_eq!(
        set.nfe,
        3 * 2 * 2,
        "3 midpoint steps × 2 stages × 2 CFG passes"
    );
    assert!(
        set.masks
            .iter()
            .all(|&v| (0.0..=1.0).contains(&v) && ((v * 255.0).round() - v * 255.0).abs() < 1e-3)
    );
    // The first 2 samples of each image equal a 2-sample run (different chunking too).
    let two = s.sample(images, 2, 7).unwrap();
    let px = 32 * 32;
    for i in 0..2 {
        let a = &set.masks[(i * 3) * px..(i * 3 + 2) * px];
        let b = &two.masks[(i * 2) * px..(i * 2 + 2) * px];
        let max = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(max <= 1.0 / 255.0 + 1e-6, "image {i}: {max}");
    }
}

#[test]
fn conditional_only_counts_one_pass_and_unquantised_decode_is_continuous() {
    let mut config = cheap(Solver::Euler, 2);
    config.guidance = 0.0;
    config.decode = Decode::Unquantised;
    let Some((s, images)) = sampler(config) else {
        return;
    };
    let set = s.sample(images, 1, 0).unwrap();
    assert_eq!(set.nfe, 2);
    assert!(
        set.masks
            .iter()
            .any(|&v| v > 0.0 && v < 1.0 && ((v * 255.0).round() - v * 255.0).abs() > 1e-3)
    );
}

#[test]
fn dropout_at_sampling_changes_the_draws_and_bad_requests_fail() {
    let mut config = cheap(Solver::Euler, 2);
    let Some((plain, images)) = sampler(config) else {
        return;
    };
    config.dropout_at_sampling = true;
    let (noisy, _) = sampler(config).unwrap();
    let a = plain.sample(images.clone(), 1, 3).unwrap();
    let b = noisy.sample(images.clone(), 1, 3).unwrap();
    assert_ne!(a.masks, b.masks);
    assert!(plain.sample(images.clone(), 0, 3).is_err());
    assert!(plain.sample(images.narrow(2, 0, 30), 1, 3).is_err());
}

/// `v = A ⊙ x` with a fixed diagonal A: div v = Σ A, exact log p1 known in closed form.
struct Diagonal {
    a: Tensor<4>,
    calls: Cell<usize>,
}

impl VelocityField for Diagonal {
    fn velocity(&self, x: Tensor<4>, _t: f64) -> Tensor<4> {
        self.calls.set(self.calls.get() + 1);
        let a = if x.is_autodiff() {
            self.a.clone().autodiff()
        } else {
            self.a.clone()
        };
        x * a
    }
}

#[test]
fn exact_and_hutchinson_divergence_match_the_closed_form() {
    let device = Device::flex();
    let a_vals = [0.3f32, -0.4, 0.1, 0.5, -0.2, 0.05];
    let field = Diagonal {
        a: Tensor::from_data(TensorData::new(a_vals.to_vec(), [1, 1, 2, 3]), &device),
        calls: Cell::new(0),
    };
    let mask = Tensor::<4>::from_data(
        TensorData::new(vec![1.0f32, 0.0, 1.0, 1.0, 0.0, 0.0], [1, 1, 2, 3]),
        &device,
    );
    // x1 = ±1; x0 = x1·e^{−A}; log p1 = Σ [−x0²/2 − ½ln 2π] − Σ A.
    let expected: f64 = a_vals
        .iter()
        .map(|&a| {
            let x0 = (-(a as f64)).exp();
            -0.5 * x0 * x0 - 0.5 * (2.0 * std::f64::consts::PI).ln() - a as f64
        })
        .sum();
    let solver = SolverConfig::fixed(Solver::Rk4, 20);
    let exact = log_likelihood(
        &field,
        mask.clone(),
        &LikelihoodConfig {
            solver,
            divergence: Divergence::Exact { chunk: 4 },
            dequantise: None,
        },
    )
    .unwrap();
    assert!(
        (exact.nats[0] - expected).abs() < 1e-4,
        "{} vs {expected}",
        exact.nats[0]
    );
    assert_eq!(exact.std_error, vec![0.0]);
    let bpp = -expected / (6.0 * std::f64::consts::LN_2);
    assert!((exact.bits_per_pixel[0] - bpp).abs() < 1e-4);
    // For a diagonal Jacobian Rademacher probes are exact: εᵀ diag(A) ε = Σ A.
    let hutch = log_likelihood(
        &field,
        mask,
        &LikelihoodConfig {
            solver,
            divergence: Divergence::Hutchinson { probes: 8, seed: 1 },
            dequantise: None,
        },
    )
    .unwrap();
    assert!(
        (hutch.nats[0] - expected).abs() < 1e-4,
        "{} vs {expected}",
        hutch.nats[0]
    );
    assert!(hutch.std_error[0] < 1e-4);
    assert_eq!(hutch.nfe, 80);
}

#[test]
fn unet_likelihood_is_finite_with_both_estimators() {
    let Some(dir) = tiny_dir() else { return };
    let device = Device::flex();
    let mut config = tiny_config(&dir);
    config.dropout = 0.0; // burn's dropout is active on autodiff tensors
    let unet = load_official(&config, &dir.join("weights.safetensors"), &device).unwrap();
    let images = Tensor::<4>::random([1, 1, 8, 8], Distribution::Default, &device);
    let field = GuidedField {
        unet: &unet,
        images,
        guidance: 0.3,
        dropout: false,
    };
    let mask = Tensor::<4>::random([1, 1, 8, 8], Distribution::Bernoulli(0.5), &device);
    let solver = SolverConfig::fixed(Solver::Euler, 2);
    let exact = log_likelihood(
        &field,
        mask.clone(),
        &LikelihoodConfig {
            solver,
            divergence: Divergence::Exact { chunk: 64 },
            dequantise: Some((0.1, 4)),
        },
    )
    .unwrap();
    let hutch = log_likelihood(
        &field,
        mask,
        &LikelihoodConfig {
            solver,
            divergence: Divergence::Hutchinson {
                probes: 16,
                seed: 2,
            },
            dequantise: Some((0.1, 4)),
        },
    )
    .unwrap();
    println!(
        "exact {:?} hutchinson {:?} ± {:?}",
        exact.nats, hutch.nats, hutch.std_error
    );
    assert!(exact.nats[0].is_finite() && hutch.nats[0].is_finite());
    assert!((exact.nats[0] - hutch.nats[0]).abs() < 5.0 * hutch.std_error[0] + 1e-3);
}

#[test]
fn reduced_precision_tracks_f32() {
    use fmseg_model::precision::Precision;
    let Some((reference, images)) = sampler(cheap(Solver::Midpoint, 4)) else {
        return;
    };
    let device = images.device();
    let x = Tensor::<4>::random([2, 1, 32, 32], Distribution::Normal(0.0, 1.0), &device);
    let t = Tensor::<1>::from_data(TensorData::new(vec![0.25f32, 0.75], [2]), &device);
    let v32 = reference
        .unet()
        .forward_cfg(x.clone(), t.clone(), images.clone(), 0.3)
        .into_data()
        .iter::<f32>()
        .collect::<Vec<_>>();
    let scale = v32.iter().map(|v| v.abs()).fold(0.0f32, f32::max);
    let set32 = reference.sample(images.clone(), 2, 3).unwrap();
    // bf16 keeps 8 mantissa bits, f16 11: relative velocity error bounds with margin.
    for (precision, bound) in [(Precision::Bf16, 0.05f32), (Precision::F16, 0.01)] {
        let (low, _) = sampler(FlowSamplerConfig {
            precision,
            ..cheap(Solver::Midpoint, 4)
        })
        .unwrap();
        assert_eq!(low.unet().compute_dtype(), precision.dtype());
        let v = low
            .unet()
            .forward_cfg(x.clone(), t.clone(), images.clone(), 0.3);
        assert_eq!(
            v.dtype(),
            burn::tensor::DType::F32,
            "the velocity comes back in f32"
        );
        let worst = v
            .into_data()
            .iter::<f32>()
            .zip(&v32)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        println!("{precision}: max |Δv| {worst} of max |v| {scale}");
        assert!(
            worst <= bound * scale,
            "{precision}: max |Δv| {worst}, |v| ≤ {scale}"
        );
        let set = low.sample(images.clone(), 2, 3).unwrap();
        let mean = set
            .masks
            .iter()
            .zip(&set32.masks)
            .map(|(a, b)| (a - b).abs())
            .sum::<f32>()
            / set.masks.len() as f32;
        println!("{precision}: mean |Δmask| {mean}");
        assert!(mean < 0.02, "{precision}: mean |Δmask| {mean}");
    }
}
