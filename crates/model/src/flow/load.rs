//! A trained flow model rebuilt from a folder as a sampler (paper §1.1 "Sampling"), the flow
//! counterpart of `fmseg_baselines::load::load_sampler`.
//!
//! Accepted folders: an `fmseg train` output (`config.json` with a `unet` object,
//! `model.safetensors` holding the EMA weights when EMA was on, `model_raw.safetensors` the raw
//! ones; see [`crate::folder`]), or the parity-fixture / official-weights layout (`config.json`
//! with a `constructor` object and `weights.safetensors` or `weights.pt`, whose EMA or raw
//! entries are chosen by the [`WeightSelection`], see [`crate::checkpoint_load`]).

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use thiserror::Error;

use super::loss::{CfgDropMode, FlowMatching};
use super::sampling::{FlowSampler, FlowSamplerConfig};
use crate::checkpoint_load::{CheckpointError, WeightSelection, load_official_with};
use crate::folder::{FolderError, Snapshot, find_weights, read_config, weights_at};
use crate::unet::UNetConfig;

/// Why a flow-model folder could not be loaded.
#[derive(Debug, Error)]
pub enum LoadError {
    /// The folder's `config.json` or weight file is missing or malformed.
    #[error(transparent)]
    Folder(#[from] FolderError),
    /// The weights do not fit the network or could not be decoded.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

/// The network configuration and weight file of a flow-model folder (its exported weights).
pub fn resolve_checkpoint(
    dir: &Path,
    selection: WeightSelection,
) -> Result<(UNetConfig, PathBuf), FolderError> {
    resolve_snapshot(dir, selection, Snapshot::Final)
}

/// The network configuration and weight file of a flow-model folder at `snapshot` (training
/// checkpoints exist only in folders written by `fmseg train`).
pub fn resolve_snapshot(
    dir: &Path,
    selection: WeightSelection,
    snapshot: Snapshot,
) -> Result<(UNetConfig, PathBuf), FolderError> {
    let (json, config_path) = read_config(dir)?;
    let bad = |e: crate::ConfigError| FolderError::new(&config_path, e.to_string());
    if let Some(unet) = json.get("unet") {
        let config = UNetConfig::from_json_value(unet.clone()).map_err(bad)?;
        Ok((config, weights_at(dir, selection, snapshot)?))
    } else if let Some(constructor) = json.get("constructor") {
        let config = UNetConfig::from_json_value(constructor.clone()).map_err(bad)?;
        if let Snapshot::Step(step) = snapshot {
            return Err(FolderError::new(
                dir,
                format!("official weights have no training checkpoint (step {step})"),
            ));
        }
        let weights = find_weights(dir, &["weights.safetensors", "weights.pt"])?;
        Ok((config, weights))
    } else {
        Err(FolderError::new(
            &config_path,
            "neither a `unet` nor a `constructor` object",
        ))
    }
}

/// The objective a flow-model folder was trained with: its network and the `objective` block of
/// an `fmseg train` `config.json`, or the official CFG drop (0.5 per batch) for weights trained
/// elsewhere (the parity-fixture / official layout).
pub fn read_objective(dir: &Path, selection: WeightSelection) -> Result<FlowMatching, FolderError> {
    let (unet, _) = resolve_checkpoint(dir, selection)?;
    let (json, path) = read_config(dir)?;
    let objective = &json["objective"];
    let cfg_drop = match objective.get("cfg_drop") {
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| FolderError::new(&path, format!("`objective.cfg_drop`: {e}")))?,
        None => CfgDropMode::PerBatch,
    };
    Ok(FlowMatching {
        unet,
        cfg_drop_prob: objective["cfg_drop_prob"].as_f64().unwrap_or(0.5),
        cfg_drop,
    })
}

/// The flow model of `dir` with `selection`'s weights at `snapshot` as a sampler with
/// `settings`, on `device` (a plain, non-autodiff device).
pub fn load_sampler(
    dir: &Path,
    settings: FlowSamplerConfig,
    selection: WeightSelection,
    snapshot: Snapshot,
    device: &Device,
) -> Result<FlowSampler, LoadError> {
    let (config, weights) = resolve_snapshot(dir, selection, snapshot)?;
    let unet = load_official_with(&config, &weights, device, selection)?;
    Ok(FlowSampler::new(unet, settings))
}
