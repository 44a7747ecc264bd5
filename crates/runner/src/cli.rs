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
    /// Score several methods' sample sets against the same annotations and write the long
    /// metrics table (CSV) and comparison tables (Markdown, LaTeX) with bootstrap intervals.
    Compare(crate::commands::compare::CompareArgs),
    /// Log-likelihood (nats, bits per pixel) of each annotator's mask under a trained flow model,
    /// by the instantaneous change of variables (exact or Hutchinson divergence).
    Likelihood(crate::commands::likelihood::LikelihoodArgs),
    /// Data tools: synthesise the embedded benchmark, inspect and convert datasets.
    #[command(subcommand)]
    Data(DataCommand),
    /// Model tools: evaluate the velocity of official weights.
    #[command(subcommand)]
    Model(crate::commands::model::ModelCommand),
    /// Draw soft segmentations with the flow model (ODE sampling with CFG); writes (N, n, H, W).
    Sample(crate::commands::sample::SampleArgs),
    /// Train the flow model from an experiment spec (YAML); writes config.json,
    /// model.safetensors (EMA), model_raw.safetensors, loss.csv and resumable checkpoints.
    Train(crate::commands::train::TrainArgs),
    /// Run an experiment (YAML): train or reuse each method's model, sample the largest sample
    /// count once per test image, score every k, and write metrics.csv/.parquet, table.md/.tex,
    /// figures and manifest.json. Finished cells are skipped; interrupted ones resume.
    Run(crate::commands::run::RunArgs),
    /// Run an experiment's cells one after another, or with --slurm write a Slurm job array
    /// (one cell per task) to merge later with `fmseg collect`.
    Sweep(crate::commands::run::SweepArgs),
    /// Merge the finished cells of an output folder into tables, figures and the manifest.
    Collect(crate::commands::run::CollectArgs),
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
    /// Detect a dataset's format (pickle, CIMD, MMIS h5/npy, fmseg cache, synth output) and print
    /// its summary and integrity problems.
    Inspect(InspectArgs),
    /// Convert any readable dataset into the fmseg npy cache (shards + index.json).
    Convert(ConvertArgs),
}

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
