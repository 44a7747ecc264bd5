//! `fmseg data inspect` and `fmseg data convert`: format detection, summaries with integrity
//! problems, and conversion of any readable dataset to the fmseg npy cache.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use fmseg_data::cache::{CacheError, source_sha256, write_cache};
use fmseg_data::inspect::{Summary, format_name, load_any, summarize};
use fmseg_data::preprocess::{
    PreprocessConfig, first_non_finite, preprocess_dataset, preprocessed_bytes,
};
use serde_json::json;

use crate::input_error::input_error;
use crate::memory::{self, Need};

/// `fmseg data inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Dataset file or folder.
    pub path: PathBuf,
    /// Print exactly one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `fmseg data convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Dataset file or folder.
    pub path: PathBuf,
    /// Output cache folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Resize every sample to S x S (bilinear images, nearest masks).
    #[arg(long, value_name = "S")]
    pub size: Option<usize>,
    /// Crop S x S around the lesion (image centre when all raters are empty) before resizing.
    #[arg(long, value_name = "S")]
    pub crop: Option<usize>,
    /// Drop samples whose raters are all empty.
    #[arg(long)]
    pub drop_empty: bool,
    /// Skip the per-image min-max normalisation.
    #[arg(long)]
    pub no_normalize: bool,
    /// Samples per shard.
    #[arg(long, default_value_t = 1024)]
    pub shard_size: usize,
}

fn opt(v: Option<usize>) -> String {
    v.map_or_else(|| "varies".into(), |v| v.to_string())
}

fn print_summary(s: &Summary) {
    println!("source:   {}", s.source);
    println!("format:   {}", s.format);
    println!("images:   {} ({} groups)", s.images, s.groups);
    println!("raters:   {}", opt(s.raters));
    println!(
        "shape:    {} x {} x {} (C x H x W)",
        opt(s.channels),
        opt(s.height),
        opt(s.width)
    );
    if let Some((lo, hi)) = s.image_range {
        println!("values:   [{lo}, {hi}]");
    }
    println!(
        "empty:    {:.1} % of images with >= 1 empty rater, {:.1} % all empty",
        100.0 * s.empty_rater_fraction,
        100.0 * s.all_empty_fraction
    );
    println!("rater  mean-fg    min    max  empty");
    for r in &s.raters_foreground {
        println!(
            "{:>5} {:>8.1} {:>6} {:>6} {:>6}",
            r.rater, r.mean, r.min, r.max, r.empty
        );
    }
    if s.problems.is_empty() {
        println!("problems: none");
    } else {
        println!("problems: {}", s.problems.len());
        for p in &s.problems {
            let at = match (&p.index, &p.id) {
                (Some(i), Some(id)) => format!(" sample {i} ({id})"),
                _ => String::new(),
            };
            println!("  {:?} {}{at}: {}", p.kind, p.file, p.message);
        }
    }
}

/// Runs `fmseg data inspect`.
pub fn inspect(args: &InspectArgs) -> Result<()> {
    let ds = load_any(&args.path).map_err(input_error)?;
    let summary = summarize(&ds);
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print_summary(&summary);
    }
    Ok(())
}

/// Runs `fmseg data convert`.
pub fn convert(args: &ConvertArgs) -> Result<()> {
    for (name, v) in [("--size", args.size), ("--crop", args.crop)] {
        if v == Some(0) {
            return Err(input_error(format!("{name} must be at least 1")));
        }
    }
    if args.shard_size == 0 {
        return Err(input_error("--shard-size must be at least 1"));
    }
    let ds = load_any(&args.path).map_err(input_error)?;
    let format = format_name(ds.format);
    let cfg = PreprocessConfig {
        normalize: !args.no_normalize,
        crop: args.crop,
        size: args.size,
        keep_empty: !args.drop_empty,
    };
    if let Some(bad) = first_non_finite(&ds) {
        return Err(input_error(format!("{}: {bad}", args.path.display())));
    }
    let flag = match (args.size, args.crop) {
        (Some(s), _) => format!("--size {s}"),
        (None, Some(c)) => format!("--crop {c}"),
        (None, None) => "the dataset".into(),
    };
    memory::check(
        &flag,
        Need::bytes_of(preprocessed_bytes(&ds, &cfg)).times(2),
        &format!(
            "{} samples' float32 images and u8 masks at that side, twice while they are built",
            ds.samples.len()
        ),
    )?;
    let (ds, report) = preprocess_dataset(ds, &cfg);
    if ds.is_empty() {
        return Err(input_error(format!(
            "{}: no samples left to write ({} read, {} dropped as all-empty)",
            args.path.display(),
            report.total,
            report.dropped_all_empty
        )));
    }
    if ds.shape().is_none() {
        return Err(input_error(format!(
            "{}: images differ in shape; pass --size (or --crop) to make them uniform",
            args.path.display()
        )));
    }
    let sha =
        source_sha256(&args.path).with_context(|| format!("hashing {}", args.path.display()))?;
    let notes = json!({
        "source_format": format,
        "normalize": cfg.normalize,
        "crop": cfg.crop,
        "size": cfg.size,
        "drop_empty": args.drop_empty,
        "report": report,
    });
    let index = write_cache(&ds, &args.out, args.shard_size, Some(sha), notes).map_err(|e| {
        if matches!(e, CacheError::Unsupported { .. }) {
            input_error(e)
        } else {
            anyhow::Error::new(e).context(format!("writing the cache to {}", args.out.display()))
        }
    })?;
    eprintln!(
        "wrote {} samples ({} read, {} all-empty dropped, {} all-empty kept) in {} shard(s) of {} x {} x {} to {}",
        ds.len(),
        report.total,
        report.dropped_all_empty,
        report.kept_all_empty,
        index.shards.len(),
        index.channels,
        index.height,
        index.width,
        args.out.display()
    );
    Ok(())
}
