//! `fmseg run EXPERIMENT.yaml [--out DIR] [--cell ID] [--data ID=PATH]`, `fmseg sweep` and
//! `fmseg collect DIR`: see [`crate::run`].

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use fmseg_data::atomic::write_atomic;

use crate::cli::DeviceArgs;
use crate::input_error::input_error;
use crate::run::collect::collect;
use crate::run::layout::finished;
use crate::run::plan::CellKind;
use crate::run::prepare::{Prepared, prepare, read_plan};
use crate::run::slurm::{SlurmOptions, SweepPlan, job_array_script};

/// `fmseg run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Experiment file (YAML; see experiments/README.md).
    pub experiment: PathBuf,
    /// Output folder (default results/<experiment name>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run only this cell (its key, as `--list` prints); tables are left to `fmseg collect`.
    #[arg(long, value_name = "ID")]
    pub cell: Option<String>,
    /// Use PATH for the dataset ID (overrides its `path:`), e.g. --data lidc=/data/lidc.pickle.
    #[arg(long, value_name = "ID=PATH", value_parser = parse_data)]
    pub data: Vec<(String, PathBuf)>,
    /// Print the cells (key, method, dataset, seed, status) and exit.
    #[arg(long)]
    pub list: bool,
    /// The device.
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// Parses a `--data ID=PATH` value.
pub fn parse_data(s: &str) -> Result<(String, PathBuf), String> {
    let (id, path) = s
        .split_once('=')
        .ok_or_else(|| format!("'{s}': expected ID=PATH"))?;
    if id.is_empty() || path.is_empty() {
        return Err(format!("'{s}': expected ID=PATH"));
    }
    Ok((id.to_string(), PathBuf::from(path)))
}

/// Runs `fmseg run`.
pub fn run(args: &RunArgs) -> Result<()> {
    let started = Instant::now();
    let prepared = prepare(&args.experiment, args.out.as_deref(), &args.data)?;
    if args.list {
        for c in &prepared.cells {
            let c = &c.planned;
            let done = finished(&prepared.out, &c.key).is_some();
            println!(
                "{}\t{}\t{}\tseed {}\t{}",
                c.key,
                c.label,
                c.dataset,
                c.seed,
                if done { "done" } else { "pending" }
            );
        }
        return Ok(());
    }
    let device = select_device(&args.device, &prepared, &args.experiment)?;
    check_methods(&prepared, &device, &args.experiment)?;
    eprintln!("device: {}", device.name);
    prepared.write_plan()?;
    let ran = prepared.run_cells(args.cell.as_deref(), &device)?;
    if args.cell.is_some() {
        eprintln!(
            "cell {} finished; merge with `fmseg collect {}`",
            args.cell.as_deref().unwrap_or_default(),
            prepared.out.display()
        );
        return Ok(());
    }
    let summary = collect(
        &prepared.plan,
        &prepared.out,
        Some(started.elapsed().as_secs_f64()),
        Some(&device.name),
    )?;
    println!("{summary}");
    eprintln!(
        "{ran} of {} cells ran in {:.1} s; wrote metrics.csv, metrics.parquet, table.md, table.tex, figures/ and manifest.json to {}",
        prepared.cells.len(),
        started.elapsed().as_secs_f64(),
        prepared.out.display()
    );
    Ok(())
}

/// The device of `--device`, `$FMSEG_DEVICE` or the experiment's `device:`.
fn select_device(
    args: &DeviceArgs,
    prepared: &Prepared,
    experiment: &std::path::Path,
) -> Result<crate::backend::SelectedDevice> {
    args.select(prepared.device.map(|d| (d, experiment)))
}

/// Refuses, before any work, a method whose `sampling.precision` the device cannot compute in
/// or whose `training.devices` this binary cannot use.
fn check_methods(
    prepared: &Prepared,
    device: &crate::backend::SelectedDevice,
    experiment: &std::path::Path,
) -> Result<()> {
    for cell in &prepared.cells {
        let CellKind::Model(resolved) = &cell.kind else {
            continue;
        };
        let refuse = |field: &str, e: &dyn std::fmt::Display| {
            input_error(format!(
                "{}: method `{}`: {field}: {e}",
                experiment.display(),
                cell.planned.label
            ))
        };
        resolved
            .method
            .precision()
            .check(&device.device, &device.name)
            .map_err(|e| refuse("sampling.precision", &e))?;
        crate::backend::training_devices(&resolved.devices, device)
            .map_err(|e| refuse("training.devices", &e))?;
    }
    Ok(())
}

/// `fmseg sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Experiment file (YAML), usually with an `ablation:` grid.
    pub experiment: PathBuf,
    /// Output folder (default results/<experiment name>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Dataset path overrides, as for `fmseg run`.
    #[arg(long, value_name = "ID=PATH", value_parser = parse_data)]
    pub data: Vec<(String, PathBuf)>,
    /// Write a Slurm job-array script (one cell per array task) instead of running locally.
    #[arg(long)]
    pub slurm: bool,
    /// Slurm partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// GPUs per task.
    #[arg(long)]
    pub gpus_per_task: Option<u32>,
    /// Time limit per task (Slurm format, e.g. 04:00:00).
    #[arg(long)]
    pub time: Option<String>,
    /// CPUs per task.
    #[arg(long)]
    pub cpus_per_task: Option<u32>,
    /// Memory per task (e.g. 32G).
    #[arg(long)]
    pub mem: Option<String>,
    /// At most this many array tasks at once.
    #[arg(long)]
    pub max_parallel: Option<u32>,
    /// The device (passed to every array task; with --gpus-per-task 1 under Slurm, `auto`
    /// picks the one GPU each task is given).
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// Runs `fmseg sweep`.
pub fn sweep(args: &SweepArgs) -> Result<()> {
    if !args.slurm {
        return run(&RunArgs {
            experiment: args.experiment.clone(),
            out: args.out.clone(),
            cell: None,
            data: args.data.clone(),
            list: false,
            device: args.device,
        });
    }
    let prepared = prepare(&args.experiment, args.out.as_deref(), &args.data)?;
    prepared.write_plan()?;
    let abs = |p: &std::path::Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let fmseg = std::env::current_exe().context("locating the fmseg binary")?;
    let experiment = abs(&args.experiment);
    let out = abs(&prepared.out);
    // Refuse a device this binary cannot use before writing the script.
    select_device(&args.device, &prepared, &args.experiment)?;
    let cells: Vec<String> = prepared
        .cells
        .iter()
        .map(|c| c.planned.key.clone())
        .collect();
    // The device travels as `FMSEG_DEVICE`, exported by the script before every task.
    let device_env: Vec<(String, String)> = args
        .device
        .device
        .map(|d| vec![(crate::backend::DEVICE_ENV.to_string(), d.to_string())])
        .unwrap_or_default();
    let options = SlurmOptions {
        job_name: format!("fmseg-{}", prepared.plan.experiment),
        partition: args.partition.clone(),
        gpus_per_task: args.gpus_per_task,
        time: args.time.clone(),
        cpus_per_task: args.cpus_per_task,
        mem: args.mem.clone(),
        max_parallel: args.max_parallel,
        extra_sbatch: Vec::new(),
    };
    let plan = SweepPlan {
        fmseg: &fmseg,
        experiment: &experiment,
        out: &out,
        cells: &cells,
        env: &device_env,
    };
    let mut script = job_array_script(&options, &plan).map_err(input_error)?;
    // Dataset overrides travel as arguments of every task.
    let extra: Vec<String> = args
        .data
        .iter()
        .map(|(id, p)| crate::run::slurm::shell_quote(&format!("--data={id}={}", abs(p).display())))
        .collect();
    if !extra.is_empty() {
        script = script.replace("--cell ", &format!("{} --cell ", extra.join(" ")));
    }
    let logs = crate::run::slurm::log_dir(&out);
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let path = logs.join("sweep.sbatch");
    write_atomic(&path, script.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    println!("{}", path.display());
    eprintln!(
        "{} cells; submit with `sbatch {}`, then merge with `fmseg collect {}`",
        cells.len(),
        path.display(),
        out.display()
    );
    Ok(())
}

/// `fmseg collect`.
#[derive(Debug, Args)]
pub struct CollectArgs {
    /// An `fmseg run` / `fmseg sweep` output folder.
    pub dir: PathBuf,
}

/// Runs `fmseg collect`.
pub fn collect_dir(args: &CollectArgs) -> Result<()> {
    let plan = read_plan(&args.dir)?;
    let summary = collect(&plan, &args.dir, None, None)?;
    println!("{summary}");
    Ok(())
}
