//! `fmseg bench`: wall-clock timings of the flow network — one training step (CondOT loss,
//! backward, AdamW, EMA), one inference forward pass, one midpoint step with CFG — and of the
//! metrics, on the chosen device, for the comparison with `bench/pytorch` (docs/performance.md).
//!
//! Every repetition ends by reading a scalar back to the host, which waits for the work queued
//! before it, so GPU timings are complete; `--warmup` repetitions are run and discarded first.
//! `gflop_per_s` counts 2 FLOPs per multiply-add of the convolutions, linear layers and attention
//! products ([`UNetConfig::forward_flops`]): ×3 for a training step, ×4 for a CFG midpoint step.
//! `peak_rss_mb` is the process's peak resident set (Linux `VmHWM`), warm-up included.

use std::time::Instant;

use anyhow::{Context, Result};
use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Tensor, TensorData};
use clap::{Args, Subcommand, ValueEnum};
use fmseg_data::rng::Rng;
use fmseg_metrics::dataset::{DatasetShape, evaluate_images};
use fmseg_metrics::image::Prefixes;
use fmseg_model::dataset::Batch;
use fmseg_model::ema_device::DeviceEma;
use fmseg_model::flow::sampling::GuidedField;
use fmseg_model::flow::{CfgDropMode, FlowMatching};
use fmseg_model::ode::{Solver, SolverConfig, solve};
use fmseg_model::training::Objective;
use fmseg_model::{UNetConfig, seeded_normal};
use serde_json::json;

use crate::cli::DeviceArgs;
use crate::input_error::input_error;

/// `fmseg bench` subcommands.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// One flow-matching training step: forward with the CondOT loss, backward, AdamW, EMA.
    Train(NetArgs),
    /// One inference forward pass of the network.
    Forward(NetArgs),
    /// One midpoint ODE step with CFG (w = 0.3: 4 network evaluations of the batch).
    Sample(NetArgs),
    /// The metrics (GED, SNCC, Dmax, Dice, ...) of random sample and annotation sets.
    Metrics(MetricsArgs),
}

/// The networks `fmseg bench` times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchNet {
    /// The parity fixture's net: 32 channels, [1, 2, 2], 1 block, attention at factor 2, 32 px.
    Tiny,
    /// The flow net of `experiments/cpu-default.yaml` (32 channels, [1, 2], 1 block), 32 px.
    CpuDefault,
    /// `UNetConfig::cpu_small()` at 32 px.
    CpuSmall,
    /// The paper's LIDC net (`lidc_condition`) at 128 px.
    Paper,
}

impl BenchNet {
    /// The network.
    pub fn config(self) -> UNetConfig {
        match self {
            Self::Tiny => UNetConfig {
                model_channels: 32,
                channel_mult: vec![1, 2, 2],
                num_res_blocks: 1,
                attention_resolutions: vec![2],
                ..UNetConfig::lidc_condition()
            },
            Self::CpuDefault => UNetConfig {
                channel_mult: vec![1, 2],
                num_res_blocks: 1,
                attention_resolutions: vec![],
                ..UNetConfig::cpu_small()
            },
            Self::CpuSmall => UNetConfig::cpu_small(),
            Self::Paper => UNetConfig::lidc_condition(),
        }
    }

    /// The image side it is timed at by default.
    pub fn default_size(self) -> usize {
        if self == Self::Paper { 128 } else { 32 }
    }

    /// The name used on the command line and in the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tiny => "tiny",
            Self::CpuDefault => "cpu-default",
            Self::CpuSmall => "cpu-small",
            Self::Paper => "paper",
        }
    }
}

/// Options of the network benchmarks.
#[derive(Debug, Args)]
pub struct NetArgs {
    /// The network.
    #[arg(long, value_enum)]
    pub net: BenchNet,
    /// Batch size B.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Timed repetitions.
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// Untimed repetitions first.
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// Image side (default: 128 for `paper`, else 32).
    #[arg(long)]
    pub size: Option<usize>,
    /// Print one JSON line.
    #[arg(long)]
    pub json: bool,
    /// The device.
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// Options of the metrics benchmark.
#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// Images N.
    #[arg(long, default_value_t = 64)]
    pub images: usize,
    /// Samples n per image.
    #[arg(long, default_value_t = 16)]
    pub samples: usize,
    /// Annotators m per image.
    #[arg(long, default_value_t = 4)]
    pub annotators: usize,
    /// Image side.
    #[arg(long, default_value_t = 128)]
    pub size: usize,
    /// Score only the full set k = n, not every k = 1..n.
    #[arg(long)]
    pub no_sweep: bool,
    /// Timed repetitions.
    #[arg(long, default_value_t = 5)]
    pub steps: usize,
    /// Print one JSON line.
    #[arg(long)]
    pub json: bool,
}

/// Runs `fmseg bench`.
pub fn run(command: &BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Train(a) => net(a, Kind::Train),
        BenchCommand::Forward(a) => net(a, Kind::Forward),
        BenchCommand::Sample(a) => net(a, Kind::Sample),
        BenchCommand::Metrics(a) => metrics(a),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Train,
    Forward,
    Sample,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Forward => "forward",
            Self::Sample => "sample",
        }
    }

    /// Forward passes of the batch per repetition (a backward counted as two).
    fn passes(self) -> f64 {
        match self {
            Self::Train => 3.0,
            Self::Forward => 1.0,
            Self::Sample => 4.0,
        }
    }
}

/// Median, minimum and maximum of `times` (non-empty).
fn summary(times: &mut [f64]) -> (f64, f64, f64) {
    times.sort_by(f64::total_cmp);
    let n = times.len();
    let median = if n % 2 == 1 {
        times[n / 2]
    } else {
        (times[n / 2 - 1] + times[n / 2]) / 2.0
    };
    (median, times[0], times[n - 1])
}

/// The process's peak resident set in MB (Linux), else `None`.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Random inputs: images in [0, 1] `[B, 1, S, S]` and binary masks (host).
fn random_batch(b: usize, channels: usize, size: usize) -> Batch {
    let mut rng = Rng::new(7);
    let plane = size * size;
    Batch {
        images: (0..b * channels * plane)
            .map(|_| rng.uniform() as f32)
            .collect(),
        masks: (0..b * plane)
            .map(|_| f32::from(u8::from(rng.uniform() < 0.3)))
            .collect(),
        shape: [b, channels, size, size],
        indices: (0..b).collect(),
        raters: vec![0; b],
        flipped: vec![false; b],
    }
}

fn net(args: &NetArgs, kind: Kind) -> Result<()> {
    if args.batch == 0 || args.steps == 0 {
        return Err(input_error("--batch and --steps must be at least 1"));
    }
    let config = args.net.config();
    let size = args.size.unwrap_or_else(|| args.net.default_size());
    let factor = config.downsample_factor();
    if size == 0 || !size.is_multiple_of(factor) {
        return Err(input_error(format!(
            "--size {size}: must be a positive multiple of {factor} for the {} net",
            args.net.name()
        )));
    }
    let flops = config
        .forward_flops(size, size)
        .context("counting the network's FLOPs")?;
    let selected = args.device.select(None)?;
    let device = selected.device.clone();
    let channels = config.d_cond_image;
    let batch = random_batch(args.batch, channels, size);
    let mut times = Vec::with_capacity(args.steps);
    let params;
    match kind {
        Kind::Train => {
            let objective = FlowMatching {
                unet: config.clone(),
                cfg_drop_prob: 0.5,
                cfg_drop: CfgDropMode::PerBatch,
            };
            let ad = device.clone().autodiff();
            let mut model = objective.init_model(&ad).context("building the network")?;
            params = model.num_params();
            let mut optim = AdamWConfig::new().init();
            let mut ema = DeviceEma::new(&model, 0, 0.9999);
            let mut rng = Rng::new(11);
            for step in 0..args.warmup + args.steps {
                let started = Instant::now();
                let loss = objective.loss(&model, &batch, &mut rng, &ad);
                let kept = loss.clone().inner();
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                model = optim.step(1e-4, model, grads);
                ema.update(&model);
                let _ = kept.into_scalar::<f32>();
                if step >= args.warmup {
                    times.push(started.elapsed().as_secs_f64());
                }
            }
        }
        Kind::Forward | Kind::Sample => {
            let unet = config.try_init(&device).context("building the network")?;
            params = unet.num_params();
            let b = args.batch;
            let x = seeded_normal([b, 1, size, size], 3, 0, &device);
            let images = Tensor::<4>::from_data(
                TensorData::new(batch.images.clone(), [b, channels, size, size]),
                &device,
            );
            let t = Tensor::<1>::full([b], 0.5, &device);
            let field = GuidedField {
                unet: &unet,
                images: images.clone(),
                guidance: 0.3,
                dropout: false,
            };
            let step = SolverConfig::fixed(Solver::Midpoint, 1);
            for rep in 0..args.warmup + args.steps {
                let started = Instant::now();
                let out = if kind == Kind::Forward {
                    unet.forward(x.clone(), t.clone(), images.clone())
                } else {
                    solve(&field, x.clone(), 0.0, 0.01, &step)
                        .map_err(|e| anyhow::anyhow!("{e}"))?
                        .x
                };
                let _ = out.sum().into_scalar::<f32>();
                if rep >= args.warmup {
                    times.push(started.elapsed().as_secs_f64());
                }
            }
        }
    }
    let (median, min, max) = summary(&mut times);
    let gflop_per_s = flops * args.batch as f64 * kind.passes() / median / 1e9;
    let line = json!({
        "kind": kind.name(),
        "net": args.net.name(),
        "batch": args.batch,
        "size": size,
        "params": params,
        "device": selected.name,
        "median_s": median,
        "min_s": min,
        "max_s": max,
        "peak_rss_mb": peak_rss_mb(),
        "gflop_per_s": gflop_per_s,
    });
    if args.json {
        println!("{line}");
    } else {
        println!(
            "{} {} batch {} at {size} px on {}: median {:.4} s (min {:.4}, max {:.4}) over {} steps, {:.1} GFLOP/s, {} parameters, peak RSS {}",
            kind.name(),
            args.net.name(),
            args.batch,
            selected.name,
            median,
            min,
            max,
            args.steps,
            gflop_per_s,
            params,
            peak_rss_mb().map_or("n/a".into(), |m| format!("{m:.0} MB")),
        );
    }
    Ok(())
}

fn metrics(args: &MetricsArgs) -> Result<()> {
    if [
        args.images,
        args.samples,
        args.annotators,
        args.size,
        args.steps,
    ]
    .contains(&0)
    {
        return Err(input_error(
            "--images, --samples, --annotators, --size and --steps must be at least 1",
        ));
    }
    let shape = DatasetShape {
        images: args.images,
        samples: args.samples,
        annotators: args.annotators,
        height: args.size,
        width: args.size,
    };
    let plane = args.size * args.size;
    let mut rng = Rng::new(5);
    let samples: Vec<f32> = (0..args.images * args.samples * plane)
        .map(|_| f32::from(u8::from(rng.uniform() < 0.2)))
        .collect();
    let annotations: Vec<u8> = (0..args.images * args.annotators * plane)
        .map(|_| u8::from(rng.uniform() < 0.2))
        .collect();
    let prefixes = if args.no_sweep {
        Prefixes::Last
    } else {
        Prefixes::All
    };
    let mut times = Vec::with_capacity(args.steps);
    for _ in 0..args.steps {
        let started = Instant::now();
        evaluate_images(&samples, &annotations, shape, prefixes).context("scoring")?;
        times.push(started.elapsed().as_secs_f64());
    }
    let (median, min, max) = summary(&mut times);
    let images_per_s = args.images as f64 / median;
    let line = json!({
        "kind": "metrics",
        "images": args.images,
        "samples": args.samples,
        "annotators": args.annotators,
        "size": args.size,
        "sweep": !args.no_sweep,
        "threads": rayon::current_num_threads(),
        "median_s": median,
        "min_s": min,
        "max_s": max,
        "images_per_s": images_per_s,
        "peak_rss_mb": peak_rss_mb(),
    });
    if args.json {
        println!("{line}");
    } else {
        println!(
            "metrics of {} images × {} samples × {} annotators at {} px{}: {images_per_s:.0} images/s (median {median:.4} s over {} runs, {} threads)",
            args.images,
            args.samples,
            args.annotators,
            args.size,
            if args.no_sweep {
                ", k = n only"
            } else {
                ", every k"
            },
            args.steps,
            rayon::current_num_threads(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nets_build_and_their_flops_grow_with_size() {
        for net in [
            BenchNet::Tiny,
            BenchNet::CpuDefault,
            BenchNet::CpuSmall,
            BenchNet::Paper,
        ] {
            let c = net.config();
            let s = net.default_size();
            let f = c.forward_flops(s, s).unwrap();
            assert!(c.forward_flops(2 * s, 2 * s).unwrap() > 3.9 * f, "{net:?}");
            assert!(f > 1e6, "{net:?}: {f}");
        }
        // At their own sizes the bigger nets cost more (at 128 px the middle-block attention of
        // cpu-default, one level shallower, would dominate).
        let at = |net: BenchNet| {
            let s = net.default_size();
            net.config().forward_flops(s, s).unwrap()
        };
        assert!(at(BenchNet::Paper) > at(BenchNet::CpuSmall));
        assert!(at(BenchNet::CpuSmall) > at(BenchNet::CpuDefault));
    }

    #[test]
    fn summary_is_median_min_max() {
        assert_eq!(summary(&mut [3.0, 1.0, 2.0]), (2.0, 1.0, 3.0));
        assert_eq!(summary(&mut [4.0, 1.0, 2.0, 3.0]), (2.5, 1.0, 4.0));
    }
}
