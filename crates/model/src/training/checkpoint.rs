//! Resumable checkpoints: `checkpoints/step-XXXXXX/` holds the raw weights
//! (`model.safetensors`, official keys), the EMA shadow (`ema.safetensors`), burn's AdamW state
//! (`optimizer.bpk`, burnpack: moments and step counts bit-exact) and `state.json` (the step
//! count, the EMA update count and the parameter ids the optimizer state is keyed by). A
//! checkpoint is written into a hidden temporary folder and renamed into place, so a crash never
//! leaves a half-written one. The generator state is the step count itself (see the
//! [module docs](super)).

use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::ModuleOptimizer;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::error::TrainError;
use crate::unet::{NamedTensor, write_safetensors};

/// `state.json` of a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Optimizer steps done.
    pub step: u64,
    /// EMA updates done (`None`: EMA off).
    pub ema_updates: Option<u64>,
    /// The burn parameter ids, in module visit order, that key the optimizer state.
    pub param_ids: Vec<u64>,
    /// Wall-clock seconds of training so far.
    pub seconds: f64,
}

/// The folder name of the checkpoint after `step` steps.
pub fn checkpoint_name(step: u64) -> String {
    format!("step-{step:06}")
}

/// The newest `checkpoints/step-*` folder under `out`, if any.
pub fn latest_checkpoint(out: &Path) -> Result<Option<PathBuf>, TrainError> {
    Ok(checkpoints(out)?.pop().map(|(_, p)| p))
}

/// Every `checkpoints/step-*` folder under `out` with its step, oldest first (empty when there
/// is no `checkpoints/` folder; other names are ignored).
pub fn checkpoints(out: &Path) -> Result<Vec<(u64, PathBuf)>, TrainError> {
    let root = out.join("checkpoints");
    if !root.exists() {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(&root).map_err(|e| TrainError::io(&root, e))?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| TrainError::io(&root, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(step) = name
            .strip_prefix("step-")
            .and_then(|s| s.parse::<u64>().ok())
        {
            found.push((step, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// Writes `tensors` as safetensors through a temporary file renamed over `path`.
pub(crate) fn write_safetensors_atomic(
    path: &Path,
    tensors: &[NamedTensor],
) -> Result<(), TrainError> {
    let name = path
        .file_name()
        .map_or_else(|| "model".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    write_safetensors(&tmp, tensors).map_err(TrainError::model)?;
    std::fs::rename(&tmp, path).map_err(|e| TrainError::io(path, e))
}

/// What one checkpoint holds.
pub(crate) struct CheckpointParts<'a> {
    pub raw: &'a [NamedTensor],
    pub ema: Option<&'a [NamedTensor]>,
    pub optimizer: &'a ModuleOptimizer,
    pub state: &'a CheckpointState,
}

/// Writes `checkpoints/step-XXXXXX/` atomically and returns its path.
pub(crate) fn save_checkpoint(
    out: &Path,
    parts: &CheckpointParts<'_>,
) -> Result<PathBuf, TrainError> {
    let root = out.join("checkpoints");
    let name = checkpoint_name(parts.state.step);
    let dir = root.join(&name);
    let tmp = root.join(format!(".{name}.{}.tmp", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| TrainError::io(&tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| TrainError::io(&tmp, e))?;
    write_safetensors(tmp.join("model.safetensors"), parts.raw).map_err(TrainError::model)?;
    if let Some(ema) = parts.ema {
        write_safetensors(tmp.join("ema.safetensors"), ema).map_err(TrainError::model)?;
    }
    let optim_path = tmp.join("optimizer.bpk");
    parts
        .optimizer
        .save(&optim_path)
        .map_err(|e| TrainError::checkpoint(&optim_path, format!("{e:?}")))?;
    let json =
        serde_json::to_vec_pretty(parts.state).map_err(|e| TrainError::checkpoint(&tmp, e))?;
    fmseg_data::atomic::write_atomic(&tmp.join("state.json"), &json)
        .map_err(|e| TrainError::checkpoint(&tmp, e))?;
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| TrainError::io(&dir, e))?;
    }
    std::fs::rename(&tmp, &dir).map_err(|e| TrainError::io(&dir, e))?;
    Ok(dir)
}

/// Reads `state.json` of a checkpoint folder.
pub(crate) fn read_state(dir: &Path) -> Result<CheckpointState, TrainError> {
    let path = dir.join("state.json");
    let bytes = std::fs::read(&path).map_err(|e| TrainError::io(&path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| TrainError::checkpoint(&path, e))
}

struct IdCollector(Vec<u64>);

impl ModuleVisitor for IdCollector {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(param.id.val());
    }
}

struct IdAssigner<'a> {
    ids: &'a [u64],
    next: usize,
}

impl ModuleMapper for IdAssigner<'_> {
    fn map_float<const D: usize>(&mut self, mut param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if let Some(&id) = self.ids.get(self.next) {
            param.id = ParamId::from(id);
        }
        self.next += 1;
        param
    }
}

/// The ids of the float parameters in visit order.
pub(crate) fn param_ids<M: Module>(model: &M) -> Vec<u64> {
    let mut collector = IdCollector(Vec::new());
    model.visit(&mut collector);
    collector.0
}

/// Gives the float parameters the saved ids (so the optimizer state finds them again).
pub(crate) fn assign_param_ids<M: Module>(
    model: M,
    ids: &[u64],
    dir: &Path,
) -> Result<M, TrainError> {
    let mut assigner = IdAssigner { ids, next: 0 };
    let model = model.map(&mut assigner);
    if assigner.next != ids.len() {
        return Err(TrainError::checkpoint(
            dir,
            format!(
                "{} parameter ids saved, the model has {}",
                ids.len(),
                assigner.next
            ),
        ));
    }
    Ok(model)
}
