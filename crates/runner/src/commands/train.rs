//! `fmseg train --experiment FILE.yaml [--method LABEL] [--dataset ID] [--out DIR] [--resume]`:
//! trains one method block of an experiment file — the same `datasets:` and `methods:` blocks as
//! `fmseg run`, so any dataset `fmseg run` reads (synthetic or real) trains here too — with the
//! reusable loop of `fmseg_model::training` (paper §1.1 loss, §1.3 optimisation for the flow
//! model; each baseline's own loss).
//!
//! Output folder (default `results/<experiment>/<label>`): `config.json`, `model.safetensors`
//! (EMA weights when EMA is on), `model_raw.safetensors`, `loss.csv` and
//! `checkpoints/step-XXXXXX/`; `fmseg sample --checkpoint DIR` reads it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use fmseg_model::training::latest_checkpoint;
use serde_json::json;

use super::run::parse_data;
use crate::backend::training_devices;
use crate::cli::DeviceArgs;
use crate::input_error::{input_error, train_error};
use crate::run::ablation::{Variant, variants};
use crate::run::data::load_dataset;
use crate::run::plan::resolve_variant;
use crate::run::spec_file::SpecFile;

/// `fmseg train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Experiment file (YAML, the `fmseg run` format; see experiments/README.md).
    #[arg(long, value_name = "FILE.yaml")]
    pub experiment: PathBuf,
    /// The method block to train, by label or method id (default: the file's only one).
    #[arg(long, value_name = "LABEL")]
    pub method: Option<String>,
    /// The dataset to train on, by id (default: the file's only one).
    #[arg(long, value_name = "ID")]
    pub dataset: Option<String>,
    /// Training seed (default: the first of the file's `seeds:`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Use PATH for the dataset ID (overrides its `path:`), as for `fmseg run`.
    #[arg(long, value_name = "ID=PATH", value_parser = parse_data)]
    pub data: Vec<(String, PathBuf)>,
    /// Output folder; default `results/<experiment>/<label>`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Continue from the newest checkpoint in the output folder (bit-identical on the CPU).
    #[arg(long)]
    pub resume: bool,
    /// The device.
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// The one of `items` named `wanted` (or the only one), refusing with the choices otherwise.
fn pick<'a, T>(
    items: &'a [T],
    wanted: Option<&str>,
    names: impl Fn(&T) -> Vec<String>,
    what: &str,
) -> Result<&'a T> {
    let listed = || {
        items
            .iter()
            .map(|i| names(i)[0].clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match wanted {
        None if items.len() == 1 => Ok(&items[0]),
        None => Err(input_error(format!(
            "the experiment has {} {what}s ({}); choose one with --{what}",
            items.len(),
            listed()
        ))),
        Some(w) => items
            .iter()
            .find(|i| names(i).iter().any(|n| n == w))
            .ok_or_else(|| {
                input_error(format!(
                    "--{what} {w}: not in the experiment ({})",
                    listed()
                ))
            }),
    }
}

/// Runs `fmseg train`.
pub fn run(args: &TrainArgs) -> Result<()> {
    let file = SpecFile::load(&args.experiment).map_err(input_error)?;
    let all = variants(&file).map_err(input_error)?;
    let variant: &Variant = pick(
        &all,
        args.method.as_deref(),
        |v| {
            let id = v
                .value
                .get("method")
                .and_then(|m| m.as_str())
                .unwrap_or_default();
            vec![v.label.clone(), id.to_string()]
        },
        "method",
    )?;
    let ids: Vec<usize> = (0..file.spec.datasets.len()).collect();
    let &index = pick(
        &ids,
        args.dataset.as_deref(),
        |&i| vec![file.spec.datasets[i].id.clone()],
        "dataset",
    )?;
    for (id, _) in &args.data {
        if file.spec.datasets[index].id != *id {
            return Err(input_error(format!(
                "--data {id}=…: not the dataset being trained ('{}')",
                file.spec.datasets[index].id
            )));
        }
    }
    let data = load_dataset(&file, index, &args.data).map_err(input_error)?;
    let seed = args
        .seed
        .or_else(|| file.spec.seeds.first().copied())
        .unwrap_or(0);
    let (_, method) = resolve_variant(&file, variant, seed, data.shape()).map_err(input_error)?;
    let out = args.out.clone().unwrap_or_else(|| {
        Path::new("results")
            .join(file.name())
            .join(variant.label.replace(['/', ' '], "_"))
    });
    refuse_existing(&out, args.resume)?;
    let device = args
        .device
        .select(file.spec.device.map(|d| (d, args.experiment.as_path())))?;
    let meta = json!({
        "experiment": file.name(),
        "dataset": { "id": data.id, "fingerprint": data.fingerprint, "train_count": data.train_count },
    });
    let (devices, names) = training_devices(&method.devices, &device).map_err(input_error)?;
    let announce = |start: u64| {
        eprintln!(
            "training {} on {} ({} items, seed {seed}) on {names} into {}{}",
            variant.label,
            data.id,
            data.train_count,
            out.display(),
            crate::run::execute::resuming_at(start)
        );
    };
    let summary = method
        .method
        .train(
            &method.training,
            &meta,
            &data.train,
            &out,
            &devices,
            args.resume,
            &announce,
        )
        .map_err(train_error)
        .with_context(|| format!("training {} into {}", method.method.id(), out.display()))?;
    let done = summary.steps - summary.start_step;
    let per_step = if done > 0 {
        summary.seconds / done as f64
    } else {
        0.0
    };
    println!(
        "trained steps {}..{} in {:.1} s ({per_step:.3} s/step) on {}, final loss {:.5}; wrote {}",
        summary.start_step,
        summary.steps,
        summary.seconds,
        names,
        summary.final_loss,
        out.display()
    );
    Ok(())
}

fn refuse_existing(out: &Path, resume: bool) -> Result<()> {
    let existing = latest_checkpoint(out).map_err(input_error)?;
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
