//! `fmseg likelihood`: the log-likelihood of each annotator's mask under the trained flow
//! (instantaneous change of variables, `fmseg_model::flow::likelihood`) — the density the paper
//! claims but never reports. Exact divergence for small images, Hutchinson otherwise (with its
//! standard error); nats and bits per pixel, per (image, rater), as one JSON object.

use std::path::PathBuf;

use anyhow::{Context, Result};
use burn::tensor::{Tensor, TensorData};
use clap::{Args, ValueEnum};
use fmseg_data::atomic::write_atomic;
use fmseg_data::npy::NpyArray;
use fmseg_model::checkpoint_load::{WeightSelection, load_official_with};
use fmseg_model::flow::likelihood::{Divergence, LikelihoodConfig, log_likelihood};
use fmseg_model::flow::load::resolve_checkpoint;
use fmseg_model::flow::sampling::GuidedField;
use fmseg_model::ode::{Solver, SolverConfig};
use serde_json::json;

use super::model::{parse_guidance, read_images};
use crate::cli::DeviceArgs;
use crate::input_error::input_error;

/// How the divergence of the velocity field is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DivergenceKind {
    /// Exact: C·H·W backward passes per evaluation (small images).
    Exact,
    /// Hutchinson's estimator with Rademacher probes (with its standard error).
    Hutchinson,
}

/// `fmseg likelihood`.
#[derive(Debug, Args)]
pub struct LikelihoodArgs {
    /// Flow checkpoint folder (as for `fmseg sample`).
    #[arg(long, value_name = "DIR")]
    pub checkpoint: PathBuf,
    /// Images, float (N, C, H, W) in [0, 1].
    #[arg(long, value_name = "I.npy")]
    pub images: PathBuf,
    /// Annotations (N, m, H, W), foreground iff > 0.5; every rater's mask is scored.
    #[arg(long, value_name = "A.npy")]
    pub annotations: PathBuf,
    /// `exact` (C·H·W backward passes per evaluation; small images) or `hutchinson`.
    #[arg(long, value_enum, default_value_t = DivergenceKind::Hutchinson)]
    pub divergence: DivergenceKind,
    /// Rademacher probes of the Hutchinson estimator.
    #[arg(long, default_value_t = 16)]
    pub probes: usize,
    /// euler, midpoint, heun, rk4 or dopri5 (integrated from t = 1 back to t = 0).
    #[arg(long, default_value = "midpoint")]
    pub solver: Solver,
    /// Uniform steps (fixed-grid solvers).
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// CFG scale w, or `conditional` / `unconditional` (the field whose density is measured).
    #[arg(long, default_value = "0.3", allow_hyphen_values = true)]
    pub guidance: String,
    /// Uniform dequantisation width added to the {−1, 1} mask (0 = none).
    #[arg(long, default_value_t = 0.0)]
    pub dequantise: f64,
    /// Seed of the probes and of the dequantisation noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output JSON (also printed on stdout).
    #[arg(long, value_name = "L.json")]
    pub out: Option<PathBuf>,
    /// The device.
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// Runs the command.
pub fn run(args: &LikelihoodArgs) -> Result<()> {
    let solver = args.solver;
    let divergence = match args.divergence {
        DivergenceKind::Exact => Divergence::Exact { chunk: 256 },
        DivergenceKind::Hutchinson if args.probes >= 1 => Divergence::Hutchinson {
            probes: args.probes,
            seed: args.seed,
        },
        DivergenceKind::Hutchinson => return Err(input_error("--probes must be at least 1")),
    };
    if args.steps == 0 || !(0.0..=1.0).contains(&args.dequantise) {
        return Err(input_error(
            "--steps must be ≥ 1 and --dequantise in [0, 1]",
        ));
    }
    let guidance = parse_guidance(&args.guidance)?;
    let device = args.device.select(None)?.device;
    let (mut config, weights) =
        resolve_checkpoint(&args.checkpoint, WeightSelection::Ema).map_err(input_error)?;
    config.dropout = 0.0; // the divergence runs on autodiff states, where burn's dropout is active
    let unet = load_official_with(&config, &weights, &device, WeightSelection::Ema)
        .map_err(input_error)?;
    let (dims, pixels) = read_images(&args.images)?;
    let images = Tensor::<4>::from_data(TensorData::new(pixels, dims), &device);
    let [n, c, h, w] = images.dims();
    let ann = NpyArray::read(&args.annotations).map_err(input_error)?;
    let [an, m, ah, aw]: [usize; 4] = ann.shape.as_slice().try_into().map_err(|_| {
        input_error(format!(
            "{}: expected (N, m, H, W), got {:?}",
            args.annotations.display(),
            ann.shape
        ))
    })?;
    if (an, ah, aw) != (n, h, w) || m == 0 {
        return Err(input_error(format!(
            "{}: shape {:?} does not match the images {:?}",
            args.annotations.display(),
            ann.shape,
            images.dims()
        )));
    }
    let masks: Vec<f32> = ann
        .to_f64()
        .iter()
        .map(|&v| f32::from(u8::from(v > 0.5)))
        .collect();
    // Batch = (image, rater) pairs, image-major: each image repeated m times.
    let repeated = images
        .unsqueeze_dim::<5>(1)
        .repeat_dim(1, m)
        .reshape([n * m, c, h, w]);
    let mask = Tensor::<4>::from_data(TensorData::new(masks, [n * m, 1, h, w]), &device);
    let field = GuidedField {
        unet: &unet,
        images: repeated,
        guidance,
        dropout: false,
    };
    let result = log_likelihood(
        &field,
        mask,
        &LikelihoodConfig {
            solver: SolverConfig::fixed(solver, args.steps),
            divergence,
            dequantise: (args.dequantise > 0.0).then_some((args.dequantise, args.seed)),
        },
    )
    .map_err(input_error)?;
    let per: Vec<_> = (0..n * m)
        .map(|i| {
            json!({
                "image": i / m,
                "rater": i % m,
                "nats": result.nats[i],
                "bits_per_pixel": result.bits_per_pixel[i],
                "std_error": result.std_error[i],
            })
        })
        .collect();
    let mean_bpp = result.bits_per_pixel.iter().sum::<f64>() / (n * m) as f64;
    let report = json!({
        "images": n,
        "raters": m,
        "divergence": match args.divergence {
            DivergenceKind::Exact => "exact",
            DivergenceKind::Hutchinson => "hutchinson",
        },
        "probes": (args.divergence == DivergenceKind::Hutchinson).then_some(args.probes),
        "solver": args.solver,
        "steps": args.steps,
        "guidance": guidance,
        "dequantise": args.dequantise,
        "nfe": result.nfe,
        "mean_bits_per_pixel": mean_bpp,
        "per_annotation": per,
    });
    let text = serde_json::to_string(&report)?;
    if let Some(out) = &args.out {
        write_atomic(out, text.as_bytes()).with_context(|| format!("writing {}", out.display()))?;
    }
    println!("{text}");
    eprintln!(
        "mean {mean_bpp:.4} bits per pixel over {} annotations (NFE {})",
        n * m,
        result.nfe
    );
    Ok(())
}
