//! `fmseg data synth`: writes the synthetic benchmark and its oracle for use by any tool.

use anyhow::{Context, Result};
use fmseg_data::atomic::write_atomic;
use fmseg_data::npy::{write_f32, write_u8};
use fmseg_data::synth::{SynthConfig, SynthPreset, SyntheticDataset};
use rayon::prelude::*;
use serde_json::json;

use crate::cli::SynthArgs;
use crate::input_error::input_error;

/// Runs `fmseg data synth`.
pub fn synth(args: &SynthArgs) -> Result<()> {
    let preset = SynthPreset::from_name(&args.preset).ok_or_else(|| {
        let names: Vec<&str> = SynthPreset::ALL.iter().map(|p| p.name()).collect();
        input_error(format!(
            "--preset: unknown preset '{}' (one of {})",
            args.preset,
            names.join(", ")
        ))
    })?;
    if args.count == 0 {
        return Err(input_error("--count must be at least 1"));
    }
    let config = SynthConfig {
        preset,
        size: args.size.unwrap_or_else(|| preset.default_size()),
        raters: args.raters,
        seed: args.seed,
    };
    let dataset = SyntheticDataset::new(config.clone()).map_err(|e| input_error(format!("{e}")))?;
    let items: Vec<_> = (0..args.count as u64)
        .into_par_iter()
        .map(|i| dataset.sample(args.start + i))
        .collect();
    let (s, c, m, n) = (config.size, dataset.channels(), config.raters, args.count);
    let images: Vec<f32> = items
        .iter()
        .flat_map(|it| it.image.iter().copied())
        .collect();
    let annotations: Vec<u8> = items
        .iter()
        .flat_map(|it| it.annotations.iter().copied())
        .collect();
    let marginal: Vec<f32> = items.iter().flat_map(|it| it.oracle.marginal()).collect();
    let variance: Vec<f32> = items.iter().flat_map(|it| it.oracle.variance()).collect();
    let out = &args.out;
    write_f32(&out.join("images.npy"), &[n, c, s, s], &images)?;
    write_u8(&out.join("annotations.npy"), &[n, m, s, s], &annotations)?;
    write_f32(&out.join("marginal.npy"), &[n, s, s], &marginal)?;
    write_f32(&out.join("variance.npy"), &[n, s, s], &variance)?;
    if let Some(draws) = args.oracle_samples {
        if draws == 0 {
            return Err(input_error("--oracle-samples must be at least 1"));
        }
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
        &out.join("oracle.json"),
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
