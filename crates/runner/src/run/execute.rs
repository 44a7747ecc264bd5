//! Running one cell: train (or reuse / resume) its model under `models/<train key>/`, draw the
//! largest sample count once per test image in chunks (each chunk saved atomically, so a killed
//! run resumes at the last finished chunk), score every prefix k with the paper's metrics
//! (`fmseg_metrics`), and write `cells/<key>/` — `samples.npy`, `rows.json`, and `cell.json`
//! last, whose presence marks the cell done. Training resumes bit-identically from its newest
//! checkpoint (`fmseg_model::training`), sampling noise depends only on (seed, chunk, image,
//! sample), so a re-run after `kill -9` at any point gives the results of an uninterrupted run.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use burn::tensor::{Device, Tensor, TensorData};
use fmseg_baselines::load::{LoadOptions, load_sampler};
use fmseg_data::atomic::write_atomic;
use fmseg_data::npy::{NpyArray, NpyData, write_f32};
use fmseg_data::rng::Rng;
use fmseg_metrics::dataset::{DatasetShape, evaluate_images};
use fmseg_metrics::image::Prefixes;
use fmseg_model::SegmentationSampler;
use fmseg_model::dataset::InMemorySource;
use fmseg_model::flow::sampling::FlowSampler;
use fmseg_model::training::train;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::collect::PlannedCell;
use super::data::TestSet;
use super::plan::{Cell, CellKind, FlowSampling};
use super::spec::Weights;
use crate::commands::sample::{self, resolve_checkpoint};
use crate::commands::train::train_error;

/// Images per sampling call (fixed: it is part of the noise seeding).
pub const CHUNK: usize = 8;

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
    /// The resolved configuration.
    pub resolved: serde_json::Value,
}

/// One image's scores: `(image, k, metric, value)` tuples.
pub type Rows = Vec<(usize, usize, String, f64)>;

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

/// Seconds of a finished training (`train.json`), if any.
fn trained(dir: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(dir.join("train.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("seconds").and_then(serde_json::Value::as_f64)
}

/// Trains the model of `cell` unless `models/<key>/train.json` exists; resumes from the newest
/// checkpoint when a previous invocation was interrupted. Returns the training seconds.
pub fn ensure_trained(
    cell: &Cell,
    source: &InMemorySource,
    meta: &serde_json::Value,
    out: &Path,
) -> Result<f64> {
    let Some(key) = &cell.train_key else {
        return Ok(0.0);
    };
    let dir = model_dir(out, key);
    if let Some(seconds) = trained(&dir) {
        return Ok(seconds);
    }
    let device = Device::flex().autodiff();
    eprintln!(
        "training {} on {} (seed {}) into {}",
        cell.label,
        cell.dataset_id,
        cell.seed,
        dir.display()
    );
    let summary = match &cell.kind {
        CellKind::Oracle => return Ok(0.0),
        CellKind::Flow {
            objective,
            training,
            ..
        } => train(objective, source, training, meta, &dir, &device, true),
        CellKind::Baseline {
            config, training, ..
        } => config.train(training, meta, source, &dir, &device, true),
    }
    .map_err(train_error)
    .with_context(|| format!("training {} into {}", cell.label, dir.display()))?;
    let record = json!({
        "seconds": summary.seconds,
        "steps": summary.steps,
        "resumed_from": summary.start_step,
        "final_loss": summary.final_loss,
        "resolved": cell.resolved["train"],
    });
    write_atomic(
        &dir.join("train.json"),
        serde_json::to_string_pretty(&record)?.as_bytes(),
    )?;
    Ok(summary.seconds)
}

fn flow_sampler(dir: &Path, s: &FlowSampling, device: &Device) -> Result<FlowSampler> {
    let (config, weights) = resolve_checkpoint(dir, s.weights == Weights::Raw)?;
    sample::flow_sampler(&config, &weights, s, device)
        .map_err(|e| anyhow::anyhow!("{}: {e}", weights.display()))
}

fn sampler(cell: &Cell, out: &Path, device: &Device) -> Result<Box<dyn SegmentationSampler>> {
    let key = cell.train_key.as_deref().unwrap_or_default();
    let dir = model_dir(out, key);
    Ok(match &cell.kind {
        CellKind::Oracle => anyhow::bail!("the oracle has no model"),
        CellKind::Flow { sampling, .. } => Box::new(flow_sampler(&dir, sampling, device)?),
        CellKind::Baseline { weights, steps, .. } => load_sampler(
            &dir,
            LoadOptions {
                raw_weights: *weights == Weights::Raw,
                steps: *steps,
            },
            device,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?,
    })
}

/// The seed of chunk `c` of a cell with seed `seed`.
fn chunk_seed(seed: u64, c: usize) -> u64 {
    let mut rng = Rng::for_item(seed, c as u64);
    rng.next_u64()
}

fn progress(len: usize, label: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    if let Ok(style) = ProgressStyle::with_template(
        "[{prefix}] {bar:30} {pos}/{len} images sampled, {elapsed} elapsed, eta {eta}",
    ) {
        bar.set_style(style);
    }
    bar.set_prefix(label.to_string());
    bar
}

/// Draws `cell.samples` soft masks per test image: `[N, n, H, W]` values and the NFE.
fn draw(cell: &Cell, test: &TestSet, out: &Path) -> Result<(Vec<f32>, usize)> {
    let [n_img, c, h, w] = test.shape;
    let n = cell.samples;
    let plane = h * w;
    if let CellKind::Oracle = cell.kind {
        let oracles = test
            .oracles
            .as_ref()
            .context("the oracle needs a synthetic dataset")?;
        let values = oracles
            .iter()
            .enumerate()
            .flat_map(|(i, o)| o.samples(cell.seed, i as u64, n))
            .collect();
        return Ok((values, 0));
    }
    let device = Device::flex();
    let model = sampler(cell, out, &device)?;
    let chunks_dir = cell_dir(out, &cell.key).join("chunks");
    std::fs::create_dir_all(&chunks_dir)
        .with_context(|| format!("creating {}", chunks_dir.display()))?;
    let bar = progress(n_img, &cell.label);
    let mut values = Vec::with_capacity(n_img * n * plane);
    let mut nfe = 0;
    for (ci, start) in (0..n_img).step_by(CHUNK).enumerate() {
        let end = (start + CHUNK).min(n_img);
        let path = chunks_dir.join(format!("chunk-{ci:05}.npy"));
        let meta = chunks_dir.join(format!("chunk-{ci:05}.json"));
        if let (Ok(array), Ok(text)) = (NpyArray::read(&path), std::fs::read_to_string(&meta))
            && let NpyData::F32(v) = array.data
            && v.len() == (end - start) * n * plane
        {
            nfe = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|j| j["nfe"].as_u64())
                .unwrap_or(0) as usize;
            values.extend(v);
            bar.set_position(end as u64);
            continue;
        }
        let images = test.images[start * c * plane..end * c * plane].to_vec();
        let tensor =
            Tensor::<4>::from_data(TensorData::new(images, [end - start, c, h, w]), &device);
        let set = model
            .sample(tensor, n, chunk_seed(cell.seed, ci))
            .map_err(|e| anyhow::anyhow!("sampling {}: {e}", cell.label))?;
        write_f32(&path, &[end - start, n, h, w], &set.masks)
            .with_context(|| format!("writing {}", path.display()))?;
        write_atomic(&meta, json!({ "nfe": set.nfe }).to_string().as_bytes())?;
        nfe = set.nfe;
        values.extend(set.masks);
        bar.set_position(end as u64);
    }
    bar.finish_and_clear();
    Ok((values, nfe))
}

/// Runs `cell` (its model must be trained) and writes its folder; returns its record.
pub fn run_cell(
    cell: &Cell,
    test: &TestSet,
    counts: &[usize],
    train_seconds: f64,
    out: &Path,
) -> Result<CellRecord> {
    let dir = cell_dir(out, &cell.key);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let started = Instant::now();
    let (samples, nfe) = draw(cell, test, out)?;
    let sample_seconds = started.elapsed().as_secs_f64();
    let [n_img, _, h, w] = test.shape;
    write_f32(
        &dir.join("samples.npy"),
        &[n_img, cell.samples, h, w],
        &samples,
    )
    .with_context(|| format!("writing {}", dir.join("samples.npy").display()))?;
    let started = Instant::now();
    let shape = DatasetShape {
        images: n_img,
        samples: cell.samples,
        annotators: test.raters,
        height: h,
        width: w,
    };
    let per_image = evaluate_images(&samples, &test.annotations, shape, Prefixes::All)
        .map_err(|e| anyhow::anyhow!("scoring {}: {e}", cell.label))?;
    let mut rows: Rows = Vec::new();
    for (i, per_k) in per_image.iter().enumerate() {
        for p in per_k.iter().filter(|p| counts.contains(&p.k)) {
            for (metric, value) in fmseg_metrics::METRIC_NAMES.iter().zip(p.scores.values()) {
                if let Some(v) = value {
                    rows.push((i, p.k, (*metric).to_string(), v));
                }
            }
        }
    }
    let eval_seconds = started.elapsed().as_secs_f64();
    write_atomic(
        &dir.join("rows.json"),
        serde_json::to_string(&rows)?.as_bytes(),
    )?;
    let record = CellRecord {
        cell: cell.planned(),
        samples: cell.samples,
        nfe,
        train_seconds,
        sample_seconds,
        eval_seconds,
        resolved: cell.resolved.clone(),
    };
    write_atomic(
        &dir.join("cell.json"),
        serde_json::to_string_pretty(&record)?.as_bytes(),
    )?;
    let chunks = dir.join("chunks");
    if chunks.is_dir() {
        std::fs::remove_dir_all(&chunks)
            .with_context(|| format!("removing {}", chunks.display()))?;
    }
    Ok(record)
}
