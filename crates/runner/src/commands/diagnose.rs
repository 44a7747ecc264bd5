//! `fmseg model diagnose DIR`: the checks of a trained CIMD model
//! ([`fmseg_baselines::cimd::diagnostics`]) on the first training images of the synthetic
//! dataset it was trained on (read from the folder's `config.json`: `dataset.fingerprint`, as
//! `fmseg run` and `fmseg train --experiment` write it). Prints a report, or one JSON line with
//! `--json`; `--min-reconstruction-dice D` makes a reconstruction Dice below D an error (exit 1),
//! for CI.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use fmseg_baselines::cimd::diagnostics::pairs;
use fmseg_baselines::load::load_cimd;
use fmseg_data::synth::{SynthConfig, SyntheticDataset};
use fmseg_model::checkpoint_load::WeightSelection;
use fmseg_model::folder::read_config;

use crate::input_error::input_error;

/// `fmseg model diagnose`.
#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// A CIMD model folder trained on a synthetic dataset (`fmseg run`'s `models/<key>/`).
    pub checkpoint: PathBuf,
    /// Training images examined (each with every annotation).
    #[arg(long, default_value_t = 8)]
    pub images: usize,
    /// Seed of every draw.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Use the raw optimiser weights instead of the EMA ones.
    #[arg(long)]
    pub raw_weights: bool,
    /// Print one JSON line instead of the report.
    #[arg(long)]
    pub json: bool,
    /// Fail (exit 1) when the reconstruction Dice is below this.
    #[arg(long, value_name = "D")]
    pub min_reconstruction_dice: Option<f64>,
    /// The device.
    #[command(flatten)]
    pub device: crate::cli::DeviceArgs,
}

/// Runs `fmseg model diagnose`.
pub fn run(args: &DiagnoseArgs) -> Result<()> {
    if args.images == 0 {
        return Err(input_error("--images: must be at least 1"));
    }
    let dir = &args.checkpoint;
    let (json, path) = read_config(dir).map_err(input_error)?;
    let fingerprint = &json["dataset"]["fingerprint"];
    let synthetic: SynthConfig =
        serde_json::from_value(fingerprint["synthetic"].clone()).map_err(|_| {
            input_error(format!(
                "{}: field `dataset.fingerprint.synthetic`: missing or not a synthetic dataset \
                 (diagnose reads the training items of synthetic data only)",
                path.display()
            ))
        })?;
    let start = fingerprint["train"][0].as_u64().ok_or_else(|| {
        input_error(format!(
            "{}: field `dataset.fingerprint.train`: expected [start, end]",
            path.display()
        ))
    })?;
    let device = args.device.select(None)?;
    let selection = if args.raw_weights {
        WeightSelection::Raw
    } else {
        WeightSelection::Ema
    };
    let model = load_cimd(dir, selection, &device.device).map_err(input_error)?;
    let generator = SyntheticDataset::new(synthetic.clone())
        .map_err(|e| input_error(format!("{}: {e}", path.display())))?;
    let items: Vec<_> = (start..start + args.images as u64)
        .map(|i| generator.sample(i))
        .collect();
    let (c, s, m) = (generator.channels(), synthetic.size, synthetic.raters);
    let (images, annotations) = fmseg_data::synth::stack(&items);
    let (images, masks) = pairs(
        &images,
        &annotations,
        [items.len(), c, s, s],
        m,
        &device.device,
    );
    let d = model.diagnose(images, masks, args.seed);
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&d).context("encoding the diagnosis")?
        );
    } else {
        println!(
            "{} (image, annotation) pairs of training items {start}..{}",
            d.pairs,
            start + args.images as u64
        );
        println!(
            "reconstruction Dice with the posterior latent: {:.4}   (prior latent: {:.4})",
            d.reconstruction_dice, d.prior_dice
        );
        println!(
            "posterior: mean of μ {:.4}, sd of μ {:.4}, mean σ {:.4}",
            d.posterior.mean_of_means, d.posterior.sd_of_means, d.posterior.mean_of_sds
        );
        for l in &d.latents {
            println!(
                "t = {:4}: KL(q‖p) {:.4} nats; prior mean of μ {:.4}, sd of μ {:.4}, mean σ {:.4}",
                l.t, l.kl, l.prior.mean_of_means, l.prior.sd_of_means, l.prior.mean_of_sds
            );
        }
        println!("x̂0 MSE by timestep (model vs all-background guess):");
        for e in &d.denoising {
            let flag = if e.model_mse > e.trivial_mse {
                "  worse than the guess"
            } else {
                ""
            };
            println!(
                "  t = {:4}: {:.5} vs {:.5}{flag}",
                e.t, e.model_mse, e.trivial_mse
            );
        }
        println!(
            "foreground at the first sampling step {:.4}, in the annotations {:.4}",
            d.first_step_foreground, d.annotation_foreground
        );
    }
    if let Some(min) = args.min_reconstruction_dice
        && (d.reconstruction_dice < min || d.reconstruction_dice.is_nan())
    {
        anyhow::bail!(
            "{}: reconstruction Dice {:.4} is below --min-reconstruction-dice {min}",
            dir.display(),
            d.reconstruction_dice
        );
    }
    Ok(())
}
