//! `fmseg evaluate`: the official metrics and their variants for every prefix k = 1..n.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use fmseg_metrics::maps::{entropy_map, variance_map};
use fmseg_metrics::variance::variance_correlations;
use fmseg_metrics::{Prefixes, evaluate_dataset};
use serde_json::json;

use super::model::read_f32;
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
    /// The true per-pixel variance, float (N, H, W) (`fmseg data synth` writes `variance.npy`):
    /// adds `var_corr_oracle`, the correlation of the samples' variance with it, per k.
    #[arg(long, value_name = "V.npy")]
    pub true_variance: Option<PathBuf>,
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
    let oracle = match &args.true_variance {
        Some(path) => Some(true_variance_correlation(
            path,
            &input.samples,
            input.shape,
            prefixes,
        )?),
        None => None,
    };
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        if let (Some(b), Some(mean)) = (args.batch_mean, batch_mean) {
            value["mean_of_batch_means"] = json!({ "batch_size": b, "scores": mean });
        }
        if let Some(oracle) = &oracle {
            for (entry, (_, mean)) in value["per_k"]
                .as_array_mut()
                .into_iter()
                .flatten()
                .zip(&oracle.per_k)
            {
                entry["var_corr_oracle"] = json!(mean);
            }
            value["mean"]["var_corr_oracle"] = json!(oracle.per_k.last().and_then(|p| p.1));
            for (entry, v) in value["per_image"]
                .as_array_mut()
                .into_iter()
                .flatten()
                .zip(&oracle.per_image)
            {
                entry["var_corr_oracle"] = json!(v);
            }
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
    if let Some(oracle) = &oracle {
        let cells: Vec<String> = oracle
            .per_k
            .iter()
            .map(|(k, v)| match v {
                Some(v) => format!("k = {k}: {v:.4}"),
                None => format!("k = {k}: —"),
            })
            .collect();
        println!(
            "var_corr_oracle (samples' variance vs the true variance): {}",
            cells.join(", ")
        );
    }
    Ok(())
}

/// `var_corr_oracle` of a sample set: per scored k, the mean over images where it is defined;
/// per image, its value with all n samples.
struct OracleCorrelation {
    per_k: Vec<(usize, Option<f64>)>,
    per_image: Vec<Option<f64>>,
}

fn true_variance_correlation(
    path: &std::path::Path,
    samples: &[f32],
    shape: fmseg_metrics::DatasetShape,
    prefixes: Prefixes,
) -> Result<OracleCorrelation> {
    let (dims, truth) = read_f32(path)?;
    let want = [shape.images, shape.height, shape.width];
    if dims != want {
        return Err(input_error(format!(
            "{}: shape {dims:?}, expected (N, H, W) = {want:?} to match the samples",
            path.display()
        )));
    }
    let n = shape.samples;
    let keep = |k: usize| prefixes == Prefixes::All || k == n;
    let per_image_k = variance_correlations(samples, &truth, n, shape.height * shape.width, keep);
    let ks: Vec<usize> = per_image_k
        .first()
        .map(|p| p.iter().map(|(k, _)| *k).collect())
        .unwrap_or_default();
    let mut sums = vec![(0.0, 0usize); ks.len()];
    for per_k in &per_image_k {
        for (acc, (_, v)) in sums.iter_mut().zip(per_k) {
            if let Some(v) = v {
                acc.0 += v;
                acc.1 += 1;
            }
        }
    }
    let per_image = per_image_k
        .iter()
        .map(|per_k| per_k.last().and_then(|p| p.1))
        .collect();
    let per_k = ks
        .into_iter()
        .zip(sums)
        .map(|(k, (total, count))| (k, (count > 0).then(|| total / count as f64)))
        .collect();
    Ok(OracleCorrelation { per_k, per_image })
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
