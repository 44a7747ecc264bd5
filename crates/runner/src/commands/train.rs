//! `fmseg train --experiment FILE.yaml [--out DIR] [--resume]`: trains the flow model of the
//! paper (§1.1 loss, §1.3 optimisation) on the embedded synthetic dataset as the YAML spec says
//! (`fmseg_model::experiment`), with the reusable loop of `fmseg_model::training`.
//!
//! Output folder (default `results/<experiment file stem>/flow`): `config.json`,
//! `model.safetensors` (EMA weights when EMA is on), `model_raw.safetensors`, `loss.csv` and
//! `checkpoints/step-XXXXXX/`; `fmseg sample --checkpoint DIR` reads it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::tensor::Device;
use clap::Args;
use fmseg_baselines::experiment::{BaselineExperiment, peek_method};
use fmseg_data::synth::SynthConfig;
use fmseg_model::MethodId;
use fmseg_model::dataset::InMemorySource;
use fmseg_model::experiment::{Experiment, ExperimentError};
use fmseg_model::training::{TrainError, latest_checkpoint, train};

use crate::input_error::input_error;

/// `fmseg train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Experiment spec (YAML): dataset, model, training, out.
    #[arg(long, value_name = "FILE.yaml")]
    pub experiment: PathBuf,
    /// Output folder; default: the file's `out`, else `results/<file stem>/flow`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Continue from the newest checkpoint in the output folder (bit-identical on the CPU).
    #[arg(long)]
    pub resume: bool,
}

fn default_out(experiment: &Path, method: MethodId) -> PathBuf {
    let stem = experiment
        .file_stem()
        .map_or_else(|| "experiment".into(), |s| s.to_string_lossy().into_owned());
    Path::new("results").join(stem).join(method.as_str())
}

/// Runs `fmseg train`.
pub fn run(args: &TrainArgs) -> Result<()> {
    // Every experiment error (unreadable file, bad YAML, unknown key, bad value) is user input.
    let text = std::fs::read_to_string(&args.experiment)
        .map_err(|e| input_error(format!("{}: {e}", args.experiment.display())))?;
    let method = peek_method(&text, &args.experiment).map_err(|e| input_error(e.to_string()))?;
    if method != MethodId::Flow {
        return run_baseline(args, &text, method);
    }
    let experiment = Experiment::from_yaml_str(&text, &args.experiment)
        .map_err(|e: ExperimentError| input_error(e.to_string()))?;
    let (out, source, device) = setup(
        args,
        experiment.out.as_ref(),
        method,
        &experiment.dataset,
        experiment.train_start,
        experiment.train_count,
    )?;
    let summary = train(
        &experiment.objective,
        &source,
        &experiment.training,
        &experiment.metadata(),
        &out,
        &device,
        args.resume,
    )
    .map_err(train_error)
    .with_context(|| format!("training into {}", out.display()))?;
    report(&summary, &out);
    Ok(())
}

/// `fmseg train` of a baseline (`method: prob-unet | phiseg | cimd`).
fn run_baseline(args: &TrainArgs, text: &str, method: MethodId) -> Result<()> {
    let experiment = BaselineExperiment::from_yaml_str(text, &args.experiment)
        .map_err(|e| input_error(e.to_string()))?;
    let (out, source, device) = setup(
        args,
        experiment.out.as_ref(),
        method,
        &experiment.dataset,
        experiment.train_start,
        experiment.train_count,
    )?;
    let summary = experiment
        .train(&source, &out, &device, args.resume)
        .map_err(train_error)
        .with_context(|| format!("training {method} into {}", out.display()))?;
    report(&summary, &out);
    Ok(())
}

/// The output folder (`--out`, else the file's `out`, else the default; refused when it holds
/// checkpoints and `--resume` is not given), the synthetic training items and the autodiff device.
fn setup(
    args: &TrainArgs,
    file_out: Option<&PathBuf>,
    method: MethodId,
    dataset: &SynthConfig,
    start: u64,
    count: usize,
) -> Result<(PathBuf, InMemorySource, Device)> {
    let out = args
        .out
        .clone()
        .or_else(|| file_out.cloned())
        .unwrap_or_else(|| default_out(&args.experiment, method));
    refuse_existing(&out, args.resume)?;
    let source = InMemorySource::from_synthetic(dataset.clone(), start, count)
        .context("building the synthetic training set")?;
    Ok((out, source, Device::flex().autodiff()))
}

/// A training error as the CLI reports it: bad settings or data are input errors (exit 2).
pub fn train_error(e: TrainError) -> anyhow::Error {
    match e {
        TrainError::Config { .. } | TrainError::Dataset(_) => input_error(e.to_string()),
        other => anyhow::Error::new(other),
    }
}

fn refuse_existing(out: &Path, resume: bool) -> Result<()> {
    let existing = latest_checkpoint(out).map_err(|e| input_error(e.to_string()))?;
    if let Some(dir) = &existing
        && !resume
    {
        return Err(input_error(format!(
            "{} already holds checkpoints ({}); pass --resume to continue or choose another --out",
            out.display(),
            dir.display()
        )));
    }
    Ok(())
}

fn report(summary: &fmseg_model::training::TrainSummary, out: &Path) {
    let done = summary.steps - summary.start_step;
    let per_step = if done > 0 {
        summary.seconds / done as f64
    } else {
        0.0
    };
    println!(
        "trained steps {}..{} in {:.1} s ({per_step:.3} s/step), final loss {:.5}; wrote {}",
        summary.start_step,
        summary.steps,
        summary.seconds,
        summary.final_loss,
        out.display()
    );
}
