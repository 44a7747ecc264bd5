//! The output folder of an experiment (default `results/<experiment>/`):
//!
//! - `plan.json` — the planned cells and datasets (`super::plan::Plan`);
//! - `data/<dataset>/{images,annotations[,variance]}.npy` — the test set, for figures and
//!   `fmseg collect`;
//! - `models/<train key>/` — an `fmseg train` folder plus `train.json` when training finished
//!   (`models/<train key>.lock` while a process trains it);
//! - `cells/<key>/` — `samples.npy`, `rows.json`, `curve.csv` with `learning_curve:`
//!   (`super::curve`), and `cell.json` last, whose presence marks the cell done (`chunks/` holds the finished sampling chunks of an interrupted cell);
//! - `metrics.csv`, `metrics.parquet`, `table.md`, `table.tex`, `figures/`, `manifest.json`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::plan::PlannedCell;

/// What `cells/<key>/cell.json` records: the planned cell and how it ran.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CellRecord {
    /// The cell (key, method, label, variant, dataset, seed, training key).
    #[serde(flatten)]
    pub cell: PlannedCell,
    /// Samples per image.
    pub samples: usize,
    /// Network evaluations per sample (0 for the oracle).
    pub nfe: usize,
    /// Seconds training this model took (summed over resumed invocations; 0 when reused).
    pub train_seconds: f64,
    /// Seconds sampling.
    pub sample_seconds: f64,
    /// Seconds scoring.
    pub eval_seconds: f64,
    /// The device that sampled (`cpu`, `cuda:0`, ...; absent in cells of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The resolved configuration.
    pub resolved: serde_json::Value,
}

/// `DIR/cells/<key>`.
pub fn cell_dir(out: &Path, key: &str) -> PathBuf {
    out.join("cells").join(key)
}

/// `DIR/models/<key>`.
pub fn model_dir(out: &Path, key: &str) -> PathBuf {
    out.join("models").join(key)
}

/// The finished record of a cell, if any.
pub fn finished(out: &Path, key: &str) -> Option<CellRecord> {
    let text = std::fs::read_to_string(cell_dir(out, key).join("cell.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// Seconds of a finished training (`models/<key>/train.json`), if any.
pub fn trained(dir: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(dir.join("train.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("seconds").and_then(serde_json::Value::as_f64)
}
