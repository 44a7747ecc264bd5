//! Command-line definitions (clap derive): the top-level commands; each command's arguments live
//! with the command (`crate::commands`). Every subcommand has `--help`.

use clap::{Args, Parser, Subcommand};

use crate::backend::{DeviceChoice, SelectedDevice, resolve_choice, select};
use crate::commands;
use crate::input_error::input_error;

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
    Evaluate(commands::evaluate::EvaluateArgs),
    /// Score several methods' sample sets against the same annotations and write the long
    /// metrics table (CSV) and comparison tables (Markdown, LaTeX) with bootstrap intervals.
    Compare(commands::compare::CompareArgs),
    /// Log-likelihood (nats, bits per pixel) of each annotator's mask under a trained flow model,
    /// by the instantaneous change of variables (exact or Hutchinson divergence).
    Likelihood(commands::likelihood::LikelihoodArgs),
    /// Data tools: synthesise the embedded benchmark, inspect and convert datasets.
    #[command(subcommand)]
    Data(commands::data::DataCommand),
    /// Model tools: evaluate the velocity of official weights, diagnose a trained CIMD model.
    #[command(subcommand)]
    Model(commands::model::ModelCommand),
    /// Draw soft segmentations with a trained model (flow: ODE sampling with CFG; or a
    /// baseline); writes (N, n, H, W).
    Sample(commands::sample::SampleArgs),
    /// Train one method of an experiment file (its `datasets:` and `methods:` blocks, as for
    /// `fmseg run`); writes config.json, model.safetensors (EMA), model_raw.safetensors,
    /// loss.csv and resumable checkpoints.
    Train(commands::train::TrainArgs),
    /// Run an experiment (YAML): train or reuse each method's model, sample the largest sample
    /// count once per test image, score every k, and write metrics.csv/.parquet, table.md/.tex,
    /// figures and manifest.json. Finished cells are skipped; interrupted ones resume.
    Run(commands::run::RunArgs),
    /// Run an experiment's cells one after another, or with --slurm write a Slurm job array
    /// (one cell per task) to merge later with `fmseg collect`.
    Sweep(commands::run::SweepArgs),
    /// Merge the finished cells of an output folder into tables, figures and the manifest.
    Collect(commands::run::CollectArgs),
    /// Time the flow network (training step, forward pass, sampling step) on a device, or the
    /// metrics; `--json` prints one line for comparison with `bench/pytorch`.
    #[command(subcommand)]
    Bench(commands::bench::BenchCommand),
}

impl Command {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        use commands::data::DataCommand;
        use commands::*;
        match self {
            Command::Evaluate(args) => evaluate::run(&args),
            Command::Compare(args) => compare::run(&args),
            Command::Likelihood(args) => likelihood::run(&args),
            Command::Data(DataCommand::Synth(args)) => data::synth(&args),
            Command::Data(DataCommand::Inspect(args)) => data_tools::inspect(&args),
            Command::Data(DataCommand::Convert(args)) => data_tools::convert(&args),
            Command::Model(model::ModelCommand::Velocity(args)) => model::velocity(&args),
            Command::Model(model::ModelCommand::Diagnose(args)) => commands::diagnose::run(&args),
            Command::Sample(args) => sample::run(&args),
            Command::Train(args) => train::run(&args),
            Command::Run(args) => run::run(&args),
            Command::Sweep(args) => run::sweep(&args),
            Command::Collect(args) => run::collect_dir(&args),
            Command::Bench(command) => bench::run(&command),
        }
    }
}

/// `--device`, shared by every command that runs a network.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct DeviceArgs {
    /// Where the networks run: auto (CUDA when built in and present, else Vulkan, else the CPU),
    /// cpu, cuda[:N] or vulkan[:N]. Default: $FMSEG_DEVICE, else the experiment's `device:`,
    /// else auto.
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<DeviceChoice>,
}

impl DeviceArgs {
    /// The device of this flag, `$FMSEG_DEVICE` or the experiment file's `device:` (named with
    /// its file in errors), opened; a refusal is bad input (exit 2).
    pub fn select(
        &self,
        file: Option<(DeviceChoice, &std::path::Path)>,
    ) -> anyhow::Result<SelectedDevice> {
        let choice = resolve_choice(self.device, file.map(|f| f.0)).map_err(input_error)?;
        select(choice).map_err(|e| match file {
            Some((c, path)) if self.device.is_none() && c == choice => {
                input_error(format!("{}: field `device`: {e}", path.display()))
            }
            _ if self.device.is_some() => input_error(format!("--device {e}")),
            _ => input_error(e),
        })
    }
}
