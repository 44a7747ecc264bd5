//! `fmseg sample`: draw n soft segmentations per image with the flow model (paper §1.1/§1.2:
//! midpoint, 100 steps, CFG w = 0.3, official decode), written as float32 (N, n, H, W) in [0, 1]
//! ready for `fmseg evaluate`.
//!
//! Checkpoint folder contract: `DIR/config.json` with a `unet` object (UNetConfig JSON) and
//! `DIR/model.safetensors` (official key names; EMA weights when EMA is on). Fallback, the parity
//! fixture layout: `DIR/config.json` with a `constructor` object and `DIR/weights.safetensors`
//! (or `DIR/weights.pt`). `--raw-weights` takes `DIR/model_raw.safetensors` when present (the
//! training engineer's raw export) and the raw entries of a `.pt` training checkpoint.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::tensor::Device;
use clap::Args;
use fmseg_baselines::load::{LoadOptions, folder_method, load_sampler};
use fmseg_data::npy::write_f32;
use fmseg_model::checkpoint_load::{CheckpointError, WeightSelection, load_official_with};
use fmseg_model::flow::sampling::{Decode, FlowSampler, FlowSamplerConfig};
use fmseg_model::ode::{Solver, SolverConfig};
use fmseg_model::{MethodId, SegmentationSampler, UNetConfig};

use super::model::{parse_guidance, read_tensor4};
use crate::input_error::input_error;
use crate::run::plan::FlowSampling;
use crate::run::spec::Weights;

/// `fmseg sample`.
#[derive(Debug, Args)]
pub struct SampleArgs {
    /// Checkpoint folder (config.json + model.safetensors, or the parity-fixture layout).
    #[arg(long, value_name = "DIR")]
    pub checkpoint: PathBuf,
    /// Images, float (N, C, H, W), min–max normalised to [0, 1].
    #[arg(long, value_name = "I.npy")]
    pub images: PathBuf,
    /// Samples per image.
    #[arg(long, default_value_t = 16)]
    pub count: usize,
    /// euler, midpoint, heun, rk4 or dopri5.
    #[arg(long, default_value = "midpoint")]
    pub solver: String,
    /// Flow: uniform solver steps over [0, 1] (default 100, the paper's; fixed-grid solvers).
    /// CIMD: respaced sampling steps (default: the trained config's; at most T).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Absolute and relative tolerance (dopri5).
    #[arg(long, default_value_t = 1e-5)]
    pub tol: f64,
    /// Noise seed; sample j of image i depends only on (seed, i, j).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// CFG scale w, or `conditional` / `unconditional`.
    #[arg(long, default_value = "0.3", allow_hyphen_values = true)]
    pub guidance: String,
    /// Maximum ODE states per network pass.
    #[arg(long, default_value_t = 64)]
    pub max_batch: usize,
    /// Skip the official 1/255 quantisation of the decoded masks.
    #[arg(long)]
    pub unquantised: bool,
    /// Released-script quirk: keep dropout active while sampling (use with --raw-weights).
    #[arg(long)]
    pub dropout_at_sampling: bool,
    /// Use raw instead of EMA weights when the checkpoint holds both.
    #[arg(long)]
    pub raw_weights: bool,
    /// Output samples, float32 (N, n, H, W).
    #[arg(long, value_name = "S.npy")]
    pub out: PathBuf,
}

/// The network configuration and weight file of a checkpoint folder; with `raw`, a training
/// folder's `model_raw.safetensors` is preferred (its `model.safetensors` is the EMA when EMA is on).
pub fn resolve_checkpoint(dir: &Path, raw: bool) -> Result<(UNetConfig, PathBuf)> {
    let config_path = dir.join("config.json");
    let text = std::fs::read_to_string(&config_path)
        .map_err(|e| input_error(format!("{}: {e}", config_path.display())))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| input_error(format!("{}: {e}", config_path.display())))?;
    let bad = |e: fmseg_model::ConfigError| input_error(format!("{}: {e}", config_path.display()));
    let (config, candidates) = if let Some(unet) = json.get("unet") {
        (
            UNetConfig::from_json_value(unet.clone()).map_err(bad)?,
            if raw {
                vec!["model_raw.safetensors", "model.safetensors"]
            } else {
                vec!["model.safetensors"]
            },
        )
    } else if let Some(constructor) = json.get("constructor") {
        (
            UNetConfig::from_json_value(constructor.clone()).map_err(bad)?,
            vec!["weights.safetensors", "weights.pt"],
        )
    } else {
        return Err(input_error(format!(
            "{}: neither a `unet` nor a `constructor` object",
            config_path.display()
        )));
    };
    let weights = candidates
        .iter()
        .map(|c| dir.join(c))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            input_error(format!(
                "{}: no weights file ({})",
                dir.display(),
                candidates.join(" or ")
            ))
        })?;
    Ok((config, weights))
}

/// The flow sampler of a resolved checkpoint (`config`, `weights`) with `settings` (EMA or raw
/// weights, solver, CFG, decode, dropout at sampling), shared by `fmseg sample` and `fmseg run`.
pub fn flow_sampler(
    config: &UNetConfig,
    weights: &Path,
    settings: &FlowSampling,
    device: &Device,
) -> Result<FlowSampler, CheckpointError> {
    let selection = match settings.weights {
        Weights::Raw => WeightSelection::Raw,
        Weights::Ema => WeightSelection::Ema,
    };
    let unet = load_official_with(config, weights, device, selection)?;
    let mut solver = SolverConfig::fixed(settings.solver, settings.steps);
    solver.atol = settings.tol;
    solver.rtol = settings.tol;
    Ok(FlowSampler::new(
        unet,
        FlowSamplerConfig {
            solver,
            guidance: settings.guidance,
            max_batch: settings.max_batch,
            decode: if settings.unquantised {
                Decode::Unquantised
            } else {
                Decode::Quantised
            },
            dropout_at_sampling: settings.dropout_at_sampling,
        },
    ))
}

/// Runs `fmseg sample`.
pub fn run(args: &SampleArgs) -> Result<()> {
    let solver = Solver::parse(&args.solver).ok_or_else(|| {
        input_error(format!(
            "--solver '{}': expected euler, midpoint, heun, rk4 or dopri5",
            args.solver
        ))
    })?;
    if args.count == 0 || args.steps == Some(0) || args.max_batch == 0 {
        return Err(input_error(
            "--count, --steps and --max-batch must be at least 1",
        ));
    }
    let device = Device::flex();
    let method = folder_method(&args.checkpoint).unwrap_or(MethodId::Flow);
    if method != MethodId::Flow {
        return run_baseline(args, method, &device);
    }
    let guidance = parse_guidance(&args.guidance)?;
    let (config, weights) = resolve_checkpoint(&args.checkpoint, args.raw_weights)?;
    let images = read_tensor4(&args.images, &device)?;
    let [_, c, h, w] = images.dims();
    let factor = 1usize << (config.channel_mult.len().max(1) - 1);
    if c != config.d_cond_image || h % factor != 0 || w % factor != 0 {
        return Err(input_error(format!(
            "{}: images {:?} need {} channels and H, W divisible by {factor}",
            args.images.display(),
            images.dims(),
            config.d_cond_image
        )));
    }
    let settings = FlowSampling {
        solver,
        steps: args.steps.unwrap_or(100),
        tol: args.tol,
        guidance,
        weights: if args.raw_weights {
            Weights::Raw
        } else {
            Weights::Ema
        },
        dropout_at_sampling: args.dropout_at_sampling,
        unquantised: args.unquantised,
        max_batch: args.max_batch,
    };
    let sampler = flow_sampler(&config, &weights, &settings, &device)
        .map_err(|e| input_error(e.to_string()))?;
    let set = sampler
        .sample(images, args.count, args.seed)
        .map_err(|e| input_error(e.to_string()))?;
    write_set(args, &set)?;
    eprintln!(
        "sampled {} images × {} samples ({}): NFE {} per sample (network passes), {:.3} s",
        set.shape[0], set.shape[1], args.solver, set.nfe, set.seconds
    );
    Ok(())
}

fn write_set(args: &SampleArgs, set: &fmseg_model::SampleSet) -> Result<()> {
    write_f32(&args.out, &set.shape, &set.masks)
        .with_context(|| format!("writing {}", args.out.display()))
}

/// `fmseg sample` of a baseline folder (`config.json` `method` ≠ flow): `--count`, `--seed`,
/// `--raw-weights` apply; `--steps` sets CIMD's sampling steps (≤ T) and is refused for the
/// other baselines; the flow-only options (solver, guidance, …) are ignored.
fn run_baseline(args: &SampleArgs, method: MethodId, device: &Device) -> Result<()> {
    if args.steps.is_some() && method != MethodId::Cimd {
        return Err(input_error(format!(
            "--steps applies to the flow model and CIMD, not {method}"
        )));
    }
    let options = LoadOptions {
        raw_weights: args.raw_weights,
        steps: args.steps,
    };
    let sampler =
        load_sampler(&args.checkpoint, options, device).map_err(|e| input_error(e.to_string()))?;
    let images = read_tensor4(&args.images, device)?;
    let set = sampler
        .sample(images, args.count, args.seed)
        .map_err(|e| input_error(format!("{}: {e}", args.images.display())))?;
    write_set(args, &set)?;
    eprintln!(
        "sampled {} images × {} samples ({method}): NFE {} per sample, {:.3} s",
        set.shape[0], set.shape[1], set.nfe, set.seconds
    );
    Ok(())
}
