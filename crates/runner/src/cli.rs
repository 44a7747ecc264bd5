//! Command-line definitions (clap derive). Every subcommand has `--help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// fmseg: aleatoric-uncertainty segmentation by conditional flow matching (arXiv 2507.22418),
/// its baselines, and the paper's multi-annotator metrics.
#[derive(Debug, Parser)]
#[command(name = "fmseg", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Score sampled segmentations against several annotators (GED, SNCC, Dmax, Dice, IoU and
    /// variants) for every number of samples k = 1..n.
    Evaluate(EvaluateArgs),
    /// Data tools: synthesise the embedded benchmark.
    #[command(subcommand)]
    Data(DataCommand),
}

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

/// `fmseg data ...`.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Write the synthetic multi-rater dataset with its known answer distribution:
    /// images.npy (N, C, H, W), annotations.npy (N, M, H, W), marginal.npy, variance.npy (N, H, W)
    /// and oracle.json.
    Synth(SynthArgs),
}

/// `fmseg data synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Preset: lidc-like, mmis-like, tiny or degenerate.
    #[arg(long, default_value = "lidc-like")]
    pub preset: String,
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
