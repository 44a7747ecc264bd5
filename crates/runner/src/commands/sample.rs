//! `fmseg sample`: draw n soft segmentations per image with the flow model (paper §1.1/§1.2:
//! midpoint, 100 steps, CFG w = 0.3, official decode), written as float32 (N, n, H, W) in [0, 1]
//! ready for `fmseg evaluate`.
//!
//! Checkpoint folder contract: `DIR/config.json` with a `unet` object (UNetConfig JSON) and
//! `DIR/model.safetensors` (official key names; EMA weights when EMA is on). Fallback, the parity
//! fixture layout: `DIR/config.json` with a `constructor` object and `DIR/weights.safetensors`
//! (or `DIR/weights.pt`). `--raw-weights` takes `DIR/model_raw.safetensors` when present (the
//! training engineer's raw export) and the raw entries of a `.pt` training checkpoint.

use std::path::PathBuf;

use anyhow::{Context, Result};
use burn::tensor::{Tensor, TensorData};
use clap::Args;
use fmseg_data::npy::write_f32;
use fmseg_model::checkpoint_load::WeightSelection;
use fmseg_model::flow::sampling::FlowSamplerConfig;
use fmseg_model::folder::Snapshot;
use fmseg_model::ode::Solver;
use fmseg_model::precision::Precision;

use super::model::{parse_guidance, read_images};
use crate::cli::DeviceArgs;
use crate::input_error::input_error;
use crate::memory::{self, Need};
use crate::run::method::{MethodConfig, flow_sampling};
use crate::run::spec::SamplingSpec;

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
    /// Flow: euler, midpoint, heun, rk4 or dopri5.
    #[arg(long)]
    pub solver: Option<Solver>,
    /// Flow: uniform solver steps over [0, 1] (default 100, the paper's; fixed-grid solvers).
    /// CIMD: respaced sampling steps (default: the trained config's; at most T).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Flow: absolute and relative tolerance of dopri5 (default 1e-5).
    #[arg(long)]
    pub tol: Option<f64>,
    /// Noise seed; sample j of image i depends only on (seed, i, j).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Flow: CFG scale w (default 0.3), or `conditional` / `unconditional`.
    #[arg(long, allow_hyphen_values = true)]
    pub guidance: Option<String>,
    /// Maximum rows per network pass (flow: ODE states; baselines: image × sample pairs).
    #[arg(long, default_value_t = 64)]
    pub max_batch: usize,
    /// Skip the official 1/255 quantisation of the decoded masks.
    #[arg(long)]
    pub unquantised: bool,
    /// Released-script quirk: keep dropout active while sampling (use with --raw-weights).
    #[arg(long)]
    pub dropout_at_sampling: bool,
    /// Flow: the network's float type, f32 (default), bf16 or f16; the ODE state stays f32.
    /// Refused on a device that cannot compute in it.
    #[arg(long)]
    pub precision: Option<Precision>,
    /// Use raw instead of EMA weights when the checkpoint holds both.
    #[arg(long)]
    pub raw_weights: bool,
    /// Output samples, float32 (N, n, H, W).
    #[arg(long, value_name = "S.npy")]
    pub out: PathBuf,
    /// The device.
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// The flow sampler settings of the command line, through the same resolution as a YAML
/// `sampling:` block (the paper's defaults for absent flags).
fn flow_settings(args: &SampleArgs) -> Result<FlowSamplerConfig> {
    let flags = SamplingSpec {
        solver: args.solver,
        steps: args.steps,
        tol: args.tol,
        guidance: args.guidance.as_deref().map(parse_guidance).transpose()?,
        weights: None,
        dropout_at_sampling: Some(args.dropout_at_sampling),
        unquantised: Some(args.unquantised),
        max_batch: Some(args.max_batch),
        precision: args.precision,
    };
    flow_sampling(&flags)
        .map_err(|e| input_error(format!("--{}: {}", e.field.replace('_', "-"), e.message)))
}

/// Runs `fmseg sample`: the folder's method (flow or a baseline) through the method registry.
pub fn run(args: &SampleArgs) -> Result<()> {
    if args.count == 0 || args.steps == Some(0) || args.max_batch == 0 {
        return Err(input_error(
            "--count, --steps and --max-batch must be at least 1",
        ));
    }
    let (dims, pixels) = read_images(&args.images)?;
    let [n, _, h, w] = dims;
    memory::check(
        &format!("--count {}", args.count),
        Need::elements(&[n, args.count, h, w], 4).times(2),
        &format!(
            "{n} images × {} samples × {h}×{w} float32, twice: the masks and the file",
            args.count
        ),
    )?;
    let weights = if args.raw_weights {
        WeightSelection::Raw
    } else {
        WeightSelection::Ema
    };
    let method =
        MethodConfig::from_folder(&args.checkpoint, flow_settings(args)?, weights, args.steps)
            .map_err(input_error)?;
    if !matches!(method, MethodConfig::Flow { .. }) {
        let flow_only = [
            ("--solver", args.solver.is_some()),
            ("--tol", args.tol.is_some()),
            ("--guidance", args.guidance.is_some()),
            ("--dropout-at-sampling", args.dropout_at_sampling),
            ("--unquantised", args.unquantised),
            (
                "--precision",
                args.precision.is_some_and(|p| p != Precision::F32),
            ),
        ];
        if let Some((flag, _)) = flow_only.iter().find(|(_, set)| *set) {
            return Err(input_error(format!(
                "{flag} applies to the flow model, not {}",
                method.id()
            )));
        }
    }
    let device = args.device.select(None)?;
    method
        .precision()
        .check(&device.device, &device.name)
        .map_err(|e| input_error(format!("--precision: {e}")))?;
    let sampler = method
        .load_sampler(&args.checkpoint, Snapshot::Final, &device.device)
        .map_err(input_error)?;
    let images = Tensor::from_data(TensorData::new(pixels, dims), &device.device);
    let set = sampler
        .sample(images, args.count, args.seed)
        .map_err(|e| input_error(format!("{}: {e}", args.images.display())))?;
    write_f32(&args.out, &set.shape, &set.masks)
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!(
        "sampled {} images × {} samples ({} on {}): NFE {} per sample (network passes), {:.3} s",
        set.shape[0],
        set.shape[1],
        method.id(),
        device.name,
        set.nfe,
        set.seconds
    );
    Ok(())
}
