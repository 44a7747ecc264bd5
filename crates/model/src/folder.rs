//! The model folder written by the training loop ([`crate::training`]) and read back for
//! sampling, shared by the flow model ([`crate::flow::load`]) and the baselines
//! (`fmseg_baselines::load`): `config.json` (its `method`, absent for the flow model, and the
//! method's config), `model.safetensors` (EMA weights when EMA was on, else the raw ones) and
//! `model_raw.safetensors` (the raw optimiser weights).

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::checkpoint_load::WeightSelection;
use crate::sampler::MethodId;

/// The folder's configuration file.
pub const CONFIG_FILE: &str = "config.json";

/// Why a model folder could not be read.
#[derive(Debug, Error)]
#[error("{}: {message}", path.display())]
pub struct FolderError {
    /// The offending file or folder.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
}

impl FolderError {
    /// An error on `path`.
    pub fn new(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// `DIR/config.json` parsed, with its path.
pub fn read_config(dir: &Path) -> Result<(serde_json::Value, PathBuf), FolderError> {
    let path = dir.join(CONFIG_FILE);
    let text =
        std::fs::read_to_string(&path).map_err(|e| FolderError::new(&path, e.to_string()))?;
    let json = serde_json::from_str(&text).map_err(|e| FolderError::new(&path, e.to_string()))?;
    Ok((json, path))
}

/// The `method` of a folder's `config.json` (absent = flow; an unknown id is an error naming it).
pub fn folder_method(dir: &Path) -> Result<MethodId, FolderError> {
    let (json, path) = read_config(dir)?;
    match json.get("method") {
        // the parity fixture's and older flow folders have no `method`, but a network object
        None if json.get("unet").is_some() || json.get("constructor").is_some() => {
            Ok(MethodId::Flow)
        }
        None => Err(FolderError::new(
            &path,
            "no `method` key (and no flow `unet` or `constructor` object): expected `method` = \
             flow, prob-unet, phiseg or cimd",
        )),
        Some(v) => v
            .as_str()
            .ok_or_else(|| format!("{v}: not a string"))
            .and_then(|s| s.parse::<MethodId>().map_err(|e| e.to_string()))
            .map_err(|e| FolderError::new(&path, format!("`method` = {e}"))),
    }
}

/// The weight files that serve `selection`, most preferred first: the EMA export
/// (`model.safetensors`, the raw weights when EMA was off), or the raw export
/// (`model_raw.safetensors`, which training always writes). Raw weights never fall back to
/// `model.safetensors`: with EMA on, that file holds the EMA weights.
pub fn weight_candidates(selection: WeightSelection) -> &'static [&'static str] {
    match selection {
        WeightSelection::Ema => &["model.safetensors"],
        WeightSelection::Raw => &["model_raw.safetensors"],
    }
}

/// Which weights of a model folder to load: the exported ones after training, or those of the
/// checkpoint after a given step (`checkpoints/step-XXXXXX/`: `ema.safetensors` for the EMA
/// weights, `model.safetensors` for the raw ones; without an EMA shadow, EMA means raw, as for
/// the export).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Snapshot {
    /// `model.safetensors` / `model_raw.safetensors` of the folder.
    #[default]
    Final,
    /// The checkpoint after this many steps.
    Step(u64),
}

/// The weight file of `dir` for `selection` at `snapshot`.
pub fn weights_at(
    dir: &Path,
    selection: WeightSelection,
    snapshot: Snapshot,
) -> Result<PathBuf, FolderError> {
    match snapshot {
        Snapshot::Final => find_weights(dir, weight_candidates(selection)),
        Snapshot::Step(step) => {
            let at = dir
                .join("checkpoints")
                .join(crate::training::checkpoint_name(step));
            let candidates: &[&str] = match selection {
                WeightSelection::Ema => &["ema.safetensors", "model.safetensors"],
                WeightSelection::Raw => &["model.safetensors"],
            };
            find_weights(&at, candidates)
        }
    }
}

/// The first existing file of `candidates` in `dir`.
pub fn find_weights(dir: &Path, candidates: &[&str]) -> Result<PathBuf, FolderError> {
    candidates
        .iter()
        .map(|c| dir.join(c))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            FolderError::new(
                dir,
                format!("no weights file ({})", candidates.join(" or ")),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_and_weights_of_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let missing = folder_method(dir.path()).unwrap_err().to_string();
        assert!(missing.contains("config.json"), "{missing}");
        std::fs::write(dir.path().join(CONFIG_FILE), r#"{"unet": {}}"#).unwrap();
        assert_eq!(folder_method(dir.path()).unwrap(), MethodId::Flow);
        std::fs::write(dir.path().join(CONFIG_FILE), r#"{"method": "cimd"}"#).unwrap();
        assert_eq!(folder_method(dir.path()).unwrap(), MethodId::Cimd);
        std::fs::write(dir.path().join(CONFIG_FILE), r#"{"method": "flwo"}"#).unwrap();
        let err = folder_method(dir.path()).unwrap_err().to_string();
        assert!(err.contains("'flwo'") && err.contains("prob-unet"), "{err}");

        std::fs::write(dir.path().join(CONFIG_FILE), r#"{"methd": "cimd"}"#).unwrap();
        let err = folder_method(dir.path()).unwrap_err().to_string();
        assert!(err.contains("no `method` key"), "{err}");

        let raw = weight_candidates(WeightSelection::Raw);
        assert!(find_weights(dir.path(), raw).is_err());
        std::fs::write(dir.path().join("model.safetensors"), b"x").unwrap();
        let err = find_weights(dir.path(), raw).unwrap_err().to_string();
        assert!(err.contains("model_raw.safetensors"), "{err}");
        std::fs::write(dir.path().join("model_raw.safetensors"), b"x").unwrap();
        assert!(
            find_weights(dir.path(), raw)
                .unwrap()
                .ends_with("model_raw.safetensors")
        );
    }

    #[test]
    fn snapshots_pick_the_export_or_a_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (ema, raw) = (WeightSelection::Ema, WeightSelection::Raw);
        std::fs::write(d.join("model.safetensors"), b"x").unwrap();
        assert!(
            weights_at(d, ema, Snapshot::Final)
                .unwrap()
                .ends_with("model.safetensors")
        );
        let at = d.join("checkpoints").join("step-000100");
        std::fs::create_dir_all(&at).unwrap();
        let err = weights_at(d, raw, Snapshot::Step(100))
            .unwrap_err()
            .to_string();
        assert!(err.contains("step-000100"), "{err}");
        std::fs::write(at.join("model.safetensors"), b"x").unwrap();
        // without an EMA shadow the EMA weights are the raw ones, as for the export
        let got = weights_at(d, ema, Snapshot::Step(100)).unwrap();
        assert!(got.ends_with("step-000100/model.safetensors"), "{got:?}");
        std::fs::write(at.join("ema.safetensors"), b"x").unwrap();
        let got = weights_at(d, ema, Snapshot::Step(100)).unwrap();
        assert!(got.ends_with("step-000100/ema.safetensors"), "{got:?}");
        let got = weights_at(d, raw, Snapshot::Step(100)).unwrap();
        assert!(got.ends_with("step-000100/model.safetensors"), "{got:?}");
        assert!(weights_at(d, ema, Snapshot::Step(200)).is_err());
        // the listing is sorted by step and ignores other names
        std::fs::create_dir_all(d.join("checkpoints").join("step-000020")).unwrap();
        std::fs::create_dir_all(d.join("checkpoints").join(".step-000300.1.tmp")).unwrap();
        let steps: Vec<u64> = crate::training::checkpoints(d)
            .unwrap()
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        assert_eq!(steps, [20, 100]);
    }
}
