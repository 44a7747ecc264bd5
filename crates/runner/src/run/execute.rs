//! Running one cell: train (or reuse / resume) its model under `models/<train key>/`, draw the
//! largest sample count once per test image in chunks (each chunk saved atomically, so a killed
//! run resumes at the last finished chunk), score every prefix k with the paper's metrics
//! (`fmseg_metrics`), and write `cells/<key>/` — `samples.npy`, `rows.json`, and `cell.json`
//! last, whose presence marks the cell done. Training resumes bit-identically from its newest
//! checkpoint (`fmseg_model::training`), sampling noise depends only on (seed, chunk, image,
//! sample), so a re-run after `kill -9` at any point gives the results of an uninterrupted run.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use burn::tensor::Device;
use fmseg_data::atomic::write_atomic;
use fmseg_data::npy::{NpyArray, NpyData, write_f32};
use fmseg_data::rng::Rng;
use fmseg_metrics::dataset::DatasetShape;
use fmseg_model::dataset::InMemorySource;
use fmseg_model::folder::Snapshot;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::counts::SampleCounts;
use super::data::TestSet;
use super::layout::{CellRecord, cell_dir, model_dir, trained};
use super::plan::{Cell, CellKind};
use super::score::score_cell;
use crate::backend::{SelectedDevice, training_devices};
use crate::input_error::{input_error, train_error};
use crate::report::rows::MethodColumn;

/// Images per sampling call (fixed: it is part of the noise seeding).
pub const CHUNK: usize = 8;

/// Trains the model of `cell` unless `models/<key>/train.json` exists; resumes from the newest
/// checkpoint when a previous invocation was interrupted. Returns the training seconds.
pub fn ensure_trained(
    cell: &Cell,
    source: &InMemorySource,
    meta: &serde_json::Value,
    out: &Path,
    device: &SelectedDevice,
) -> Result<f64> {
    let (Some(key), CellKind::Model(method)) = (&cell.planned.train_key, &cell.kind) else {
        return Ok(0.0);
    };
    let dir = model_dir(out, key);
    if let Some(seconds) = trained(&dir) {
        return Ok(seconds);
    }
    let p = &cell.planned;
    let (devices, names) = training_devices(&method.devices, device).map_err(input_error)?;
    let announce = |start: u64| {
        eprintln!(
            "training {} on {} (seed {}) on {names} into {}{}",
            p.label,
            p.dataset,
            p.seed,
            dir.display(),
            resuming_at(start)
        );
    };
    let summary = method
        .method
        .train(
            &method.training,
            meta,
            source,
            &dir,
            &devices,
            true,
            &announce,
        )
        .map_err(train_error)
        .with_context(|| format!("training {} into {}", p.label, dir.display()))?;
    let record = json!({
        "seconds": summary.seconds,
        "steps": summary.steps,
        "resumed_from": summary.start_step,
        "final_loss": summary.final_loss,
        "device": names,
        "resolved": cell.resolved["train"],
    });
    write_atomic(
        &dir.join("train.json"),
        serde_json::to_string_pretty(&record)?.as_bytes(),
    )?;
    Ok(summary.seconds)
}

/// `, resuming at step N` for a run that continues a checkpoint, else nothing.
pub fn resuming_at(start: u64) -> String {
    if start > 0 {
        format!(", resuming at step {start}")
    } else {
        String::new()
    }
}

/// The seed of chunk `c` of a cell with seed `seed`.
pub(crate) fn chunk_seed(seed: u64, c: usize) -> u64 {
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
fn draw(cell: &Cell, test: &TestSet, out: &Path, device: &Device) -> Result<(Vec<f32>, usize)> {
    let [n_img, _, h, w] = test.shape;
    let n = cell.samples;
    let plane = h * w;
    let p = &cell.planned;
    let method = match (&cell.kind, &p.train_key) {
        (CellKind::Model(m), Some(key)) => (m, key),
        _ => {
            let oracles = test
                .oracles
                .as_ref()
                .context("the oracle needs a synthetic dataset")?;
            let values = oracles
                .iter()
                .enumerate()
                .flat_map(|(i, o)| o.samples(p.seed, i as u64, n))
                .collect();
            return Ok((values, 0));
        }
    };
    let dir = model_dir(out, method.1);
    let model = method
        .0
        .method
        .load_sampler(&dir, Snapshot::Final, device)
        .with_context(|| format!("loading {} from {}", p.label, dir.display()))?;
    let chunks_dir = cell_dir(out, &p.key).join("chunks");
    std::fs::create_dir_all(&chunks_dir)
        .with_context(|| format!("creating {}", chunks_dir.display()))?;
    let bar = progress(n_img, &p.label);
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
        let tensor = test.images_tensor(start, end, device);
        let set = model
            .sample(tensor, n, chunk_seed(p.seed, ci))
            .with_context(|| format!("sampling {}", p.label))?;
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

/// Runs `cell` (its model must be trained) on `device` and writes its folder; returns its
/// record.
pub fn run_cell(
    cell: &Cell,
    test: &TestSet,
    counts: &SampleCounts,
    train_seconds: f64,
    out: &Path,
    device: &SelectedDevice,
) -> Result<CellRecord> {
    let p = &cell.planned;
    let dir = cell_dir(out, &p.key);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let started = Instant::now();
    let (samples, nfe) = draw(cell, test, out, &device.device)?;
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
    let truth: Option<Vec<f32>> = test
        .oracles
        .as_ref()
        .map(|oracles| oracles.iter().flat_map(|o| o.variance()).collect());
    let rows = score_cell(
        p,
        &samples,
        &test.annotations,
        shape,
        counts,
        truth.as_deref(),
    )?;
    let eval_seconds = started.elapsed().as_secs_f64();
    write_atomic(
        &dir.join("rows.json"),
        serde_json::to_string(&rows)?.as_bytes(),
    )?;
    let record = CellRecord {
        cell: p.clone(),
        samples: cell.samples,
        nfe,
        train_seconds,
        sample_seconds,
        eval_seconds,
        device: (p.method != MethodColumn::Oracle).then(|| device.name.clone()),
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
