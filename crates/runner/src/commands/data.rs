//! `fmseg data synth`: writes the synthetic benchmark and its oracle for use by any tool.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use fmseg_data::atomic::{remove_if_present, write_atomic};
use fmseg_data::npy::{write_f32, write_u8};
use fmseg_data::synth::{SynthConfig, SynthPreset, SyntheticDataset};
use rayon::prelude::*;
use serde_json::json;

use crate::input_error::input_error;
use crate::memory::{self, Need};

/// Written last by `data synth`: a synth folder without it is incomplete (`data inspect` refuses
/// it).
const SYNTH_MARKER: &str = fmseg_data::inspect::ARRAY_FOLDER_MARKERS[0];

/// `fmseg data ...`.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Write the synthetic multi-rater dataset with its known answer distribution:
    /// images.npy (N, C, H, W), annotations.npy (N, M, H, W), marginal.npy, variance.npy (N, H, W)
    /// and oracle.json.
    Synth(SynthArgs),
    /// Detect a dataset's format (pickle, CIMD, MMIS h5/npy, fmseg cache, synth output) and print
    /// its summary and integrity problems.
    Inspect(super::data_tools::InspectArgs),
    /// Convert any readable dataset into the fmseg npy cache (shards + index.json).
    Convert(super::data_tools::ConvertArgs),
}

/// `fmseg data synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Preset: lidc-like, mmis-like, tiny or degenerate.
    #[arg(long, default_value = "lidc-like")]
    pub preset: SynthPreset,
    /// Number of images.
    #[arg(long, default_value_t = 100)]
    pub count: usize,
    /// Image side in pixels (32–128); default: the preset's.
    #[arg(long)]
    pub size: Option<usize>,
    /// Number of raters per image.
    #[arg(long, default_value_t = 4)]
    pub raters: usize,
    /// Dataset seed (image i is a pure function of seed and i).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// First image index (to write disjoint train/test ranges of one dataset).
    #[arg(long, default_value_t = 0)]
    pub start: u64,
    /// Also write oracle_samples.npy (N, n, H, W): n draws per image from the known answer
    /// distribution — the reference sampler whose scores are the best achievable.
    #[arg(long, value_name = "n")]
    pub oracle_samples: Option<usize>,
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Runs `fmseg data synth`.
pub fn synth(args: &SynthArgs) -> Result<()> {
    let preset = args.preset;
    if args.count == 0 {
        return Err(input_error("--count must be at least 1"));
    }
    if args.oracle_samples == Some(0) {
        return Err(input_error("--oracle-samples must be at least 1"));
    }
    if args.start.checked_add(args.count as u64).is_none() {
        return Err(input_error(format!(
            "--start {} + --count {} overflows the image index",
            args.start, args.count
        )));
    }
    let config = SynthConfig {
        preset,
        size: args.size.unwrap_or_else(|| preset.default_size()),
        raters: args.raters,
        seed: args.seed,
    };
    let dataset = SyntheticDataset::new(config.clone()).map_err(input_error)?;
    let (s, c, m, n) = (config.size, dataset.channels(), config.raters, args.count);
    // each image: its float image twice, its masks twice, four float maps of the oracle held
    // while the files are built
    let per_image = 8 * c + 2 * m + 16;
    memory::check(
        &format!("--count {n}"),
        Need::elements(&[n, s, s, per_image], 1),
        &format!("{n} images × {s}×{s} pixels × {per_image} bytes ({c} channels, {m} raters)"),
    )?;
    if let Some(draws) = args.oracle_samples {
        memory::check(
            &format!("--oracle-samples {draws}"),
            Need::elements(&[n, draws, s, s], 4),
            &format!("{n} images × {draws} draws × {s}×{s} float32"),
        )?;
    }
    // the marker goes first and comes back last: an interrupted run leaves no complete-looking
    // folder, and no oracle samples of an earlier run stay beside new images
    for stale in [SYNTH_MARKER, "oracle_samples.npy"] {
        remove_if_present(&args.out.join(stale))?;
    }
    let items: Vec<_> = (0..args.count as u64)
        .into_par_iter()
        .map(|i| dataset.sample(args.start + i))
        .collect();
    let (images, annotations) = fmseg_data::synth::stack(&items);
    let marginal: Vec<f32> = items.iter().flat_map(|it| it.oracle.marginal()).collect();
    let variance: Vec<f32> = items.iter().flat_map(|it| it.oracle.variance()).collect();
    let out = &args.out;
    write_f32(&out.join("images.npy"), &[n, c, s, s], &images)?;
    write_u8(&out.join("annotations.npy"), &[n, m, s, s], &annotations)?;
    write_f32(&out.join("marginal.npy"), &[n, s, s], &marginal)?;
    write_f32(&out.join("variance.npy"), &[n, s, s], &variance)?;
    if let Some(draws) = args.oracle_samples {
        let samples: Vec<f32> = items
            .par_iter()
            .flat_map_iter(|it| it.oracle.samples(args.seed, it.index, draws))
            .collect();
        write_f32(&out.join("oracle_samples.npy"), &[n, draws, s, s], &samples)?;
    }
    let summaries: Vec<_> = items
        .iter()
        .map(|it| {
            let mut v = serde_json::to_value(it.oracle.summary()).unwrap_or_default();
            v["index"] = json!(it.index);
            v["rater_hypotheses"] = json!(it.rater_hypotheses);
            v
        })
        .collect();
    let mean_d = items
        .iter()
        .map(|it| it.oracle.expected_distance())
        .sum::<f64>()
        / n as f64;
    let oracle = json!({
        "config": config,
        "start": args.start,
        "count": n,
        "channels": c,
        "mean_expected_distance": mean_d,
        "note": "E[official GED] of n oracle samples vs m oracle annotations is expected_distance * (1/n + 1/m)",
        "items": summaries,
    });
    write_atomic(
        &out.join(SYNTH_MARKER),
        serde_json::to_string_pretty(&oracle)?.as_bytes(),
    )
    .context("writing oracle.json")?;
    println!(
        "wrote {n} {} images ({c}×{s}×{s}, {m} raters) to {} (mean D = {mean_d:.4})",
        preset.name(),
        out.display()
    );
    Ok(())
}
