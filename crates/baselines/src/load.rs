//! Rebuilding a trained baseline from an `fmseg train` output folder for `fmseg sample`:
//! `DIR/config.json` names the `method` and holds its config under the method id;
//! `DIR/model.safetensors` (EMA when EMA was on) or `DIR/model_raw.safetensors` holds the
//! parameters keyed by module path ([`crate::common::params`]).

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use fmseg_model::unet::read_safetensors;
use fmseg_model::{MethodId, SegmentationSampler};
use thiserror::Error;

use crate::cimd::{Cimd, CimdConfig};
use crate::common::objective::BaselineModel;
use crate::common::params::import_params;
use crate::phiseg::{Phiseg, PhisegConfig};
use crate::prob_unet::{ProbUnet, ProbUnetConfig};

/// Why a baseline folder could not be loaded.
#[derive(Debug, Error)]
pub enum LoadError {
    /// Unreadable or malformed `config.json` / weights, or a refused option.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The offending file (or folder).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Sampling options a caller may override.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Use `model_raw.safetensors` instead of the EMA weights when present.
    pub raw_weights: bool,
    /// CIMD sampling steps (respaced; must be ≤ T). Ignored by the other methods.
    pub steps: Option<usize>,
}

/// The `method` of a training folder's `config.json` (absent = flow).
pub fn folder_method(dir: &Path) -> Result<MethodId, LoadError> {
    let (json, path) = read_config(dir)?;
    match json.get("method") {
        None => Ok(MethodId::Flow),
        Some(v) => v
            .as_str()
            .and_then(MethodId::parse)
            .ok_or_else(|| LoadError::Invalid {
                path,
                message: format!("`method` = {v}: expected flow, prob-unet, phiseg or cimd"),
            }),
    }
}

fn read_config(dir: &Path) -> Result<(serde_json::Value, PathBuf), LoadError> {
    let path = dir.join("config.json");
    let bad = |message: String| LoadError::Invalid {
        path: path.clone(),
        message,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
    let json = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    Ok((json, path))
}

fn build<M: BaselineModel + SegmentationSampler>(
    config: &M::Config,
    weights: &Path,
    device: &Device,
) -> Result<Box<dyn SegmentationSampler>, LoadError> {
    let bad = |message: String| LoadError::Invalid {
        path: weights.to_path_buf(),
        message,
    };
    let model = M::build(config, device).map_err(|e| bad(e.to_string()))?;
    let tensors = read_safetensors(weights).map_err(|e| bad(e.to_string()))?;
    let model = import_params(model, tensors, &weights.display().to_string())
        .map_err(|e| bad(e.to_string()))?;
    Ok(Box::new(model))
}

/// The trained baseline of `dir` as a sampler on `device` (a plain, non-autodiff device).
pub fn load_sampler(
    dir: &Path,
    options: LoadOptions,
    device: &Device,
) -> Result<Box<dyn SegmentationSampler>, LoadError> {
    let method = folder_method(dir)?;
    let (json, path) = read_config(dir)?;
    let bad = |message: String| LoadError::Invalid {
        path: path.clone(),
        message,
    };
    let config = json
        .get(method.as_str())
        .cloned()
        .ok_or_else(|| bad(format!("no `{}` config object", method.as_str())))?;
    let candidates: &[&str] = if options.raw_weights {
        &["model_raw.safetensors", "model.safetensors"]
    } else {
        &["model.safetensors"]
    };
    let weights = candidates
        .iter()
        .map(|c| dir.join(c))
        .find(|p| p.is_file())
        .ok_or_else(|| LoadError::Invalid {
            path: dir.to_path_buf(),
            message: format!("no weights file ({})", candidates.join(" or ")),
        })?;
    let field = |e: serde_json::Error| bad(format!("`{}`: {e}", method.as_str()));
    match method {
        MethodId::ProbUnet => {
            let c: ProbUnetConfig = serde_json::from_value(config).map_err(field)?;
            build::<ProbUnet>(&c, &weights, device)
        }
        MethodId::Phiseg => {
            let c: PhisegConfig = serde_json::from_value(config).map_err(field)?;
            build::<Phiseg>(&c, &weights, device)
        }
        MethodId::Cimd => {
            let mut c: CimdConfig = serde_json::from_value(config).map_err(field)?;
            if let Some(steps) = options.steps {
                if steps == 0 || steps > c.timesteps {
                    return Err(bad(format!(
                        "--steps {steps}: CIMD sampling steps must be in 1..={} (T)",
                        c.timesteps
                    )));
                }
                c.sampling_steps = steps;
            }
            build::<Cimd>(&c, &weights, device)
        }
        MethodId::Flow => Err(bad("a flow-model folder, not a baseline".into())),
    }
}
