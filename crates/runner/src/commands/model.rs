//! `fmseg model velocity`: one guided velocity evaluation of an official network, for parity
//! checks against the PyTorch reference (paper §1.1 CFG: `v = (1 + w)·v_cond − w·v_uncond`).
//! Also the array/config helpers `fmseg sample` shares.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::tensor::{Device, Tensor, TensorData};
use clap::{Args, Subcommand};
use fmseg_data::npy::{NpyArray, NpyData, write_f32};
use fmseg_model::UNetConfig;
use fmseg_model::checkpoint_load::{WeightSelection, load_official_with};

use crate::input_error::input_error;

/// `fmseg model ...`.
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Evaluate the (guided) velocity v(x_t, t, image) of official weights and write it as .npy.
    Velocity(VelocityArgs),
    /// Check a trained CIMD model: reconstruction with the posterior latent, prior/posterior
    /// overlap, denoising error by timestep against a trivial guess, the first sampling step.
    Diagnose(super::diagnose::DiagnoseArgs),
}

/// `fmseg model velocity`.
#[derive(Debug, Args)]
pub struct VelocityArgs {
    /// JSON object whose `constructor` field holds the official `UNetModel` arguments.
    #[arg(long, value_name = "CONFIG.json")]
    pub official_config: PathBuf,
    /// Weights: .safetensors, a .pt state dict or an official training checkpoint.
    #[arg(long, value_name = "W")]
    pub weights: PathBuf,
    /// Noisy masks, float (B, 1, H, W).
    #[arg(long, value_name = "X.npy")]
    pub x_t: PathBuf,
    /// Flow times, float (B,).
    #[arg(long, value_name = "T.npy")]
    pub t: PathBuf,
    /// Condition images, float (B, C, H, W).
    #[arg(long, value_name = "I.npy")]
    pub image: PathBuf,
    /// `conditional` (w = 0), `unconditional` (w = −1) or a CFG scale w.
    #[arg(long, default_value = "conditional", allow_hyphen_values = true)]
    pub guidance: String,
    /// Use the raw weights of a checkpoint that also holds EMA weights.
    #[arg(long)]
    pub raw_weights: bool,
    /// Output velocity, float32 (B, 1, H, W).
    #[arg(long, value_name = "V.npy")]
    pub out: PathBuf,
    /// Also compare with a reference velocity (same shape) and print one JSON line
    /// `{"device", "max_abs_diff", "seconds"}` on stdout (parity checks on any device).
    #[arg(long, value_name = "REF.npy")]
    pub expect: Option<PathBuf>,
    /// The device.
    #[command(flatten)]
    pub device: crate::cli::DeviceArgs,
}

/// Parses `conditional` / `unconditional` / a number into the CFG scale w.
pub fn parse_guidance(text: &str) -> Result<f64> {
    match text {
        "conditional" => Ok(0.0),
        "unconditional" => Ok(-1.0),
        other => other
            .parse::<f64>()
            .ok()
            .filter(|w| w.is_finite() && *w >= -1.0)
            .ok_or_else(|| {
                input_error(format!(
                    "--guidance '{other}': expected conditional, unconditional or a number ≥ -1 \
                     (-1 is the unconditional field)"
                ))
            }),
    }
}

/// A float .npy as (shape, f32 values); errors name the file.
pub fn read_f32(path: &Path) -> Result<(Vec<usize>, Vec<f32>)> {
    let array =
        NpyArray::read(path).map_err(|e| input_error(format!("{}: {e}", path.display())))?;
    let values = match array.data {
        NpyData::F32(v) => v,
        NpyData::F64(v) => v.into_iter().map(|x| x as f32).collect(),
        _ => {
            return Err(input_error(format!(
                "{}: expected a float array, got dtype {}",
                path.display(),
                array.dtype
            )));
        }
    };
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(input_error(format!(
            "{}: value at flat index {i} is not finite",
            path.display()
        )));
    }
    Ok((array.shape, values))
}

/// A rank-4 float .npy as a tensor on `device`.
pub fn read_tensor4(path: &Path, device: &Device) -> Result<Tensor<4>> {
    let (dims, values) = read_rank4(path)?;
    Ok(Tensor::from_data(TensorData::new(values, dims), device))
}

/// A rank-4 float .npy (no empty dimension) as (dims, values).
pub fn read_rank4(path: &Path) -> Result<([usize; 4], Vec<f32>)> {
    let (shape, values) = read_f32(path)?;
    let dims: [usize; 4] = shape.as_slice().try_into().map_err(|_| {
        input_error(format!(
            "{}: expected rank 4 (B, C, H, W), got shape {shape:?}",
            path.display()
        ))
    })?;
    if dims.contains(&0) {
        return Err(input_error(format!(
            "{}: empty dimension in shape {shape:?}",
            path.display()
        )));
    }
    Ok((dims, values))
}

/// Condition images: a rank-4 float .npy (N, C, H, W) whose values are all in [0, 1], as the
/// networks were trained on min–max normalised images (0..255 images are refused, not rescaled).
pub fn read_images(path: &Path) -> Result<([usize; 4], Vec<f32>)> {
    let (dims, values) = read_rank4(path)?;
    if let Some(i) = values.iter().position(|v| !(0.0..=1.0).contains(v)) {
        return Err(input_error(format!(
            "{}: value {} at flat index {i} is outside [0, 1] (images must be min–max \
             normalised, as in training)",
            path.display(),
            values[i]
        )));
    }
    Ok((dims, values))
}

/// The `constructor` object of an official config file.
pub fn read_constructor(path: &Path) -> Result<UNetConfig> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| input_error(format!("{}: {e}", path.display())))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| input_error(format!("{}: {e}", path.display())))?;
    let constructor = json
        .get("constructor")
        .cloned()
        .ok_or_else(|| input_error(format!("{}: no `constructor` object", path.display())))?;
    UNetConfig::from_json_value(constructor)
        .map_err(|e| input_error(format!("{}: {e}", path.display())))
}

/// Runs `fmseg model velocity`.
pub fn velocity(args: &VelocityArgs) -> Result<()> {
    let selected = args.device.select(None)?;
    let device = selected.device;
    let config = read_constructor(&args.official_config)?;
    let w = parse_guidance(&args.guidance)?;
    let x_t = read_tensor4(&args.x_t, &device)?;
    let image = read_tensor4(&args.image, &device)?;
    let (t_shape, t_values) = read_f32(&args.t)?;
    let [b, c, h, wd] = x_t.dims();
    if c != config.mask_channels() {
        return Err(input_error(format!(
            "{}: {c} channels, the network expects {}",
            args.x_t.display(),
            config.mask_channels()
        )));
    }
    if image.dims() != [b, config.d_cond_image, h, wd] {
        return Err(input_error(format!(
            "{}: shape {:?}, expected {:?}",
            args.image.display(),
            image.dims(),
            [b, config.d_cond_image, h, wd]
        )));
    }
    if t_shape != [b] {
        return Err(input_error(format!(
            "{}: shape {t_shape:?}, expected [{b}]",
            args.t.display()
        )));
    }
    let factor = config.downsample_factor();
    if h % factor != 0 || wd % factor != 0 {
        return Err(input_error(format!(
            "{}: {h}×{wd} is not divisible by {factor}",
            args.x_t.display()
        )));
    }
    let selection = if args.raw_weights {
        WeightSelection::Raw
    } else {
        WeightSelection::Ema
    };
    let unet =
        load_official_with(&config, &args.weights, &device, selection).map_err(input_error)?;
    let t = Tensor::<1>::from_data(TensorData::new(t_values, [b]), &device);
    let started = std::time::Instant::now();
    let v = unet.forward_cfg(x_t, t, image, w);
    let dims = v.dims();
    let values = v
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("reading the velocity back: {e:?}"))?;
    let seconds = started.elapsed().as_secs_f64();
    write_f32(&args.out, &dims, &values)
        .with_context(|| format!("writing {}", args.out.display()))?;
    if let Some(reference) = &args.expect {
        let (shape, expected) = read_f32(reference)?;
        if shape != dims {
            return Err(input_error(format!(
                "{}: shape {shape:?}, the velocity has {dims:?}",
                reference.display()
            )));
        }
        let max_abs_diff = values
            .iter()
            .zip(&expected)
            .map(|(a, b)| (f64::from(*a) - f64::from(*b)).abs())
            .fold(0.0f64, f64::max);
        println!(
            "{}",
            serde_json::json!({
                "device": selected.name,
                "max_abs_diff": max_abs_diff,
                "seconds": seconds,
            })
        );
    }
    Ok(())
}
