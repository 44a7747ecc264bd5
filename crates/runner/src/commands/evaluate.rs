//! `fmseg evaluate`: the official metrics and their variants for every prefix k = 1..n.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use fmseg_metrics::maps::{entropy_map, variance_map};
use fmseg_metrics::{Prefixes, evaluate_dataset};
use serde_json::json;

use crate::input_error::input_error;
use crate::inputs::load_evaluation_input;
use crate::table::scores_table;

/// `fmseg evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Soft samples: float32 .npy of shape (N, n, H, W) with values in [0, 1]; (n, H, W) is one image.
    #[arg(long, value_name = "S.npy")]
    pub samples: PathBuf,
    /// Annotations: .npy of shape (N, m, H, W), uint8, bool or float (foreground iff > 0.5).
    #[arg(long, value_name = "A.npy")]
    pub annotations: PathBuf,
    /// Print exactly one JSON object on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Only score the full sample set (skip the k = 1..n-1 sweep).
    #[arg(long)]
    pub no_sweep: bool,
    /// Also report the official script's mean of per-batch means for this batch size (its README
    /// uses 64).
    #[arg(long, value_name = "B")]
    pub batch_mean: Option<usize>,
    /// Write per-image uncertainty maps (sample variance, entropy of the mean) as .npy here.
    #[arg(long, value_name = "DIR")]
    pub maps_out: Option<PathBuf>,
}

/// Runs the command.
pub fn run(args: &EvaluateArgs) -> Result<()> {
    if args.batch_mean == Some(0) {
        return Err(input_error("--batch-mean must be at least 1"));
    }
    let input = load_evaluation_input(&args.samples, &args.annotations)?;
    let prefixes = if args.no_sweep {
        Prefixes::Last
    } else {
        Prefixes::All
    };
    let report = evaluate_dataset(&input.samples, &input.annotations, input.shape, prefixes)
        .map_err(input_error)?;
    if let Some(dir) = &args.maps_out {
        write_maps(dir, &input.samples, input.shape)?;
    }
    let batch_mean = args.batch_mean.map(|b| report.mean_of_batch_means(b));
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        if let (Some(b), Some(mean)) = (args.batch_mean, batch_mean) {
            value["mean_of_batch_means"] = json!({ "batch_size": b, "scores": mean });
        }
        println!("{}", serde_json::to_string(&value)?);
        return Ok(());
    }
    println!(
        "{} images × {} samples vs {} annotators at {}×{} (means over images; — = undefined)",
        report.images, report.samples, report.annotators, report.height, report.width
    );
    let mut rows: Vec<(String, _)> = report
        .per_k
        .iter()
        .map(|p| (p.k.to_string(), p.scores))
        .collect();
    if let (Some(b), Some(mean)) = (args.batch_mean, batch_mean) {
        rows.push((format!("n, batch {b}"), mean));
    }
    println!("{}", scores_table(&rows));
    Ok(())
}

fn write_maps(
    dir: &std::path::Path,
    samples: &[f32],
    shape: fmseg_metrics::DatasetShape,
) -> Result<()> {
    let px = shape.height * shape.width;
    let per_image = shape.samples * px;
    let mut variance = Vec::with_capacity(shape.images * px);
    let mut entropy = Vec::with_capacity(shape.images * px);
    for img in samples.chunks(per_image) {
        variance.extend(variance_map(img, px));
        entropy.extend(entropy_map(img, px));
    }
    let dims = [shape.images, shape.height, shape.width];
    fmseg_data::npy::write_f32(&dir.join("variance.npy"), &dims, &variance)
        .context("writing the variance map")?;
    fmseg_data::npy::write_f32(&dir.join("entropy.npy"), &dims, &entropy)
        .context("writing the entropy map")?;
    Ok(())
}
