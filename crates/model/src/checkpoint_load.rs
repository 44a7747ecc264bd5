//! Loading official weights (paper §1.3 "EMA"; reference: the official `train.py` checkpoint
//! `{"model": model.state_dict(), "optimizer": ..., "epoch": ..., "args": ...}` and the
//! `models/ema.py` wrapper of Meta's `flow_matching` examples, whose state dict holds the raw
//! network under `model.<key>`, a `num_updates` buffer and the EMA shadow copies as
//! `shadow_params.<i>` in `model.parameters()` order).
//!
//! Accepted files (detected by content, not extension): a `.safetensors` file, or a PyTorch zip
//! `.pt`/`.pth` holding either a plain state dict or a training checkpoint dict.
//!
//! **Key rule** ([`resolve_keys`]), applied to the flattened `(dotted key, tensor)` list:
//! 1. A training checkpoint (top-level values not all tensors) contributes only one entry:
//!    `ema` when [`WeightSelection::Ema`] and present, otherwise the first of `model`,
//!    `state_dict`, `model_state_dict`. Nested dicts flatten to dotted keys; non-tensor leaves
//!    are ignored.
//! 2. A leading `module.` (DDP) or `_orig_mod.` (`torch.compile`) is removed from every key.
//! 3. If `shadow_params.<i>` keys exist (EMA wrapper): the network keys are the `model.`-prefixed
//!    ones with the prefix removed, in file order; with `Ema` the i-th of them takes the values
//!    of `shadow_params.<i>` (counts and shapes must agree), with `Raw` they keep their own.
//!    Every other key (`num_updates`, ...) is dropped.
//! 4. Otherwise, while every key shares one of the prefixes `model.`, `ema.`, `ema_model.`,
//!    `module.`, it is removed.
//!
//! The result then goes through the strict loader of [`UNet::load_named_tensors`].

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use fmseg_data::formats::pickle::PyValue;
use fmseg_data::formats::torch_pt::{PtArchive, TorchPtError};
use thiserror::Error;

use crate::unet::{NamedTensor, UNet, UNetConfig, WeightsError, read_safetensors};

/// Which weights to take from a file that holds both raw and EMA weights (serde: `ema`, `raw`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightSelection {
    /// The EMA weights when the file has them, else the raw ones (the in-training evaluation).
    #[default]
    Ema,
    /// The raw optimised weights (the released evaluation script's behaviour).
    Raw,
}

/// Why official weights could not be loaded.
#[derive(Debug, Error)]
pub enum CheckpointError {
    /// Reading the file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The `.pt` archive could not be decoded.
    #[error("{}: {source}", path.display())]
    Pt {
        /// The file.
        path: PathBuf,
        /// The reader's error.
        source: TorchPtError,
    },
    /// The file's layout does not match any accepted checkpoint form.
    #[error("{}: {message}", path.display())]
    Layout {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Reading safetensors or assigning tensors to the network failed.
    #[error(transparent)]
    Weights(#[from] WeightsError),
}

/// Builds `config` on `device` and loads the weights in `path` (EMA preferred).
pub fn load_official(
    config: &UNetConfig,
    path: &Path,
    device: &Device,
) -> Result<UNet, CheckpointError> {
    load_official_with(config, path, device, WeightSelection::Ema)
}

/// [`load_official`] with an explicit [`WeightSelection`].
pub fn load_official_with(
    config: &UNetConfig,
    path: &Path,
    device: &Device,
    selection: WeightSelection,
) -> Result<UNet, CheckpointError> {
    let tensors = read_official_tensors(path, selection)?;
    let unet = config
        .try_init(device)
        .map_err(|e| layout(path, e.to_string()))?;
    Ok(unet.load_named_tensors(tensors, &path.display().to_string())?)
}

fn layout(path: &Path, message: impl Into<String>) -> CheckpointError {
    CheckpointError::Layout {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// The network tensors of a checkpoint file, keys resolved as in the module docs.
pub fn read_official_tensors(
    path: &Path,
    selection: WeightSelection,
) -> Result<Vec<NamedTensor>, CheckpointError> {
    let data = std::fs::read(path).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let flat = if data.starts_with(b"PK\x03\x04") {
        let pt = |source| CheckpointError::Pt {
            path: path.to_path_buf(),
            source,
        };
        let archive = PtArchive::new(&data).map_err(pt)?;
        let top = archive
            .value
            .as_dict()
            .ok_or_else(|| layout(path, "data.pkl is not a dict"))?;
        let plain = top
            .iter()
            .all(|(_, v)| matches!(v, PyValue::Tensor(_) | PyValue::NdArray(_)));
        let chosen = if plain {
            &archive.value
        } else {
            let wanted: &[&str] = match selection {
                WeightSelection::Ema => &["ema", "model", "state_dict", "model_state_dict"],
                WeightSelection::Raw => &["model", "state_dict", "model_state_dict"],
            };
            wanted
                .iter()
                .find_map(|k| archive.value.get(k))
                .ok_or_else(|| {
                    layout(
                        path,
                        format!("a checkpoint dict without any of the entries {wanted:?}"),
                    )
                })?
        };
        let mut out = Vec::new();
        flatten(&archive, chosen, String::new(), &mut out).map_err(pt)?;
        out
    } else if data.starts_with(b"\x80") || is_torch_name(path) {
        return Err(layout(
            path,
            "not a PyTorch checkpoint this reader knows (a zip archive, torch.save's format \
             since 1.6) and not safetensors",
        ));
    } else {
        read_safetensors(path)?
    };
    resolve_keys(flat, selection).map_err(|m| layout(path, m))
}

/// Whether the file name says PyTorch (`.pt`, `.pth`, `.ckpt`, `.bin`).
fn is_torch_name(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        matches!(
            e.to_ascii_lowercase().as_str(),
            "pt" | "pth" | "ckpt" | "bin"
        )
    })
}

fn flatten(
    archive: &PtArchive<'_>,
    value: &PyValue,
    prefix: String,
    out: &mut Vec<NamedTensor>,
) -> Result<(), TorchPtError> {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match value {
        PyValue::Dict(entries) => {
            for (k, v) in entries {
                if let Some(k) = k.as_str() {
                    flatten(archive, v, join(k), out)?;
                }
            }
        }
        PyValue::Tensor(t) => {
            let array = archive.tensor(t)?;
            out.push((prefix, array.shape().to_vec(), array.to_f32_vec()));
        }
        PyValue::NdArray(a) => out.push((prefix, a.shape().to_vec(), a.to_f32_vec())),
        _ => {}
    }
    Ok(())
}

/// Applies rules 2–4 of the module docs to a flat `(key, shape, values)` list.
pub fn resolve_keys(
    flat: Vec<NamedTensor>,
    selection: WeightSelection,
) -> Result<Vec<NamedTensor>, String> {
    let strip = |k: String| -> String {
        let k = k.strip_prefix("module.").map(str::to_string).unwrap_or(k);
        k.strip_prefix("_orig_mod.")
            .map(str::to_string)
            .unwrap_or(k)
    };
    let mut flat: Vec<NamedTensor> = flat.into_iter().map(|(k, s, v)| (strip(k), s, v)).collect();
    if flat.iter().any(|(k, _, _)| k.starts_with("shadow_params.")) {
        let mut shadow: Vec<(usize, Vec<usize>, Vec<f32>)> = Vec::new();
        let mut raw = Vec::new();
        for (k, s, v) in flat {
            if let Some(i) = k.strip_prefix("shadow_params.") {
                let i = i.parse().map_err(|_| format!("bad EMA key '{k}'"))?;
                shadow.push((i, s, v));
            } else if let Some(key) = k.strip_prefix("model.") {
                raw.push((key.to_string(), s, v));
            }
        }
        if selection == WeightSelection::Raw {
            return Ok(raw);
        }
        shadow.sort_by_key(|(i, _, _)| *i);
        if shadow.len() != raw.len() || shadow.iter().enumerate().any(|(n, (i, _, _))| n != *i) {
            return Err(format!(
                "{} shadow_params for {} model.* tensors",
                shadow.len(),
                raw.len()
            ));
        }
        return raw
            .into_iter()
            .zip(shadow)
            .map(|((key, shape, _), (i, s, v))| {
                if s == shape {
                    Ok((key, shape, v))
                } else {
                    Err(format!(
                        "shadow_params.{i} has shape {s:?} but {key} has {shape:?}"
                    ))
                }
            })
            .collect();
    }
    'strip: loop {
        for prefix in ["model.", "ema.", "ema_model.", "module."] {
            if !flat.is_empty() && flat.iter().all(|(k, _, _)| k.starts_with(prefix)) {
                if selection == WeightSelection::Raw && prefix.starts_with("ema") {
                    return Err(format!(
                        "holds only EMA weights (every key starts with '{prefix}'), not the raw \
                         weights asked for"
                    ));
                }
                for (k, _, _) in &mut flat {
                    k.drain(..prefix.len());
                }
                continue 'strip;
            }
        }
        return Ok(flat);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(key: &str, v: f32) -> NamedTensor {
        (key.to_string(), vec![1], vec![v])
    }

    #[test]
    fn ema_wrapper_maps_shadow_params_in_order() {
        let flat = vec![
            t("module.model.a.weight", 1.0),
            t("module.model.b.bias", 2.0),
            t("num_updates", 9.0),
            t("module.shadow_params.1", 20.0),
            t("module.shadow_params.0", 10.0),
        ];
        let ema = resolve_keys(flat.clone(), WeightSelection::Ema).unwrap();
        assert_eq!(ema, vec![t("a.weight", 10.0), t("b.bias", 20.0)]);
        let raw = resolve_keys(flat, WeightSelection::Raw).unwrap();
        assert_eq!(raw, vec![t("a.weight", 1.0), t("b.bias", 2.0)]);
    }

    #[test]
    fn uniform_prefixes_are_stripped_and_mismatches_named() {
        let flat = vec![
            t("ema.model.out.0.weight", 1.0),
            t("ema.model.out.0.bias", 2.0),
        ];
        let keys: Vec<String> = resolve_keys(flat, WeightSelection::Ema)
            .unwrap()
            .into_iter()
            .map(|x| x.0)
            .collect();
        assert_eq!(keys, ["out.0.weight", "out.0.bias"]);
        let bad = vec![
            t("model.a", 1.0),
            t("shadow_params.0", 1.0),
            t("shadow_params.1", 1.0),
        ];
        assert!(
            resolve_keys(bad, WeightSelection::Ema)
                .unwrap_err()
                .contains("2 shadow_params")
        );
    }
}
