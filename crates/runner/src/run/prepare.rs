//! Preparing and running an experiment: the file loaded, its datasets resolved and its cells
//! planned ([`prepare`]), the plan and test arrays written, and the cells run one after another
//! (`fmseg run`, `fmseg sweep` locally, one Slurm array task with `--cell`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use fmseg_data::atomic::{remove_if_present, write_atomic};
use fmseg_data::npy::{write_f32, write_u8};
use serde_json::json;

use super::curve::ensure_curve;
use super::data::{LoadedDataset, load_dataset};
use super::execute::{ensure_trained, run_cell};
use super::layout::{finished, model_dir};
use super::lock::TrainLock;
use super::plan::{Cell, Plan, PlannedDataset, plan};
use super::spec_file::SpecFile;
use crate::backend::{DeviceChoice, SelectedDevice};
use crate::input_error::input_error;

/// An experiment loaded, its datasets resolved and its cells planned.
pub struct Prepared {
    /// The datasets.
    pub datasets: Vec<LoadedDataset>,
    /// The cells.
    pub cells: Vec<Cell>,
    /// What `plan.json` holds.
    pub plan: Plan,
    /// The output folder.
    pub out: PathBuf,
    /// The experiment's `device:` (the command line and `$FMSEG_DEVICE` override it).
    pub device: Option<DeviceChoice>,
}

/// Loads `spec_path`, resolves datasets (`data`: `ID=PATH` overrides) and plans the cells; the
/// output folder is `out` or `results/<experiment>`. Errors in the file are input errors.
pub fn prepare(
    spec_path: &Path,
    out: Option<&Path>,
    data: &[(String, PathBuf)],
) -> Result<Prepared> {
    let file = SpecFile::load(spec_path).map_err(input_error)?;
    if file.spec.datasets.is_empty() {
        return Err(input_error(
            file.invalid("datasets", "at least one dataset is needed"),
        ));
    }
    for (id, _) in data {
        if !file.spec.datasets.iter().any(|d| d.id == *id) {
            return Err(input_error(format!(
                "--data {id}=…: the experiment has no dataset '{id}'"
            )));
        }
    }
    let mut datasets = Vec::new();
    for i in 0..file.spec.datasets.len() {
        let d = load_dataset(&file, i, data).map_err(input_error)?;
        if datasets.iter().any(|o: &LoadedDataset| o.id == d.id) {
            return Err(input_error(file.invalid(
                &format!("datasets[{i}].id"),
                format!("'{}' is used twice", d.id),
            )));
        }
        datasets.push(d);
    }
    let cells = plan(&file, &datasets).map_err(input_error)?;
    let name = file.name();
    let out = out.map_or_else(|| Path::new("results").join(&name), Path::to_path_buf);
    let plan = Plan {
        experiment: name,
        spec_file: spec_path.display().to_string(),
        spec: serde_json::to_value(&file.spec).unwrap_or_default(),
        sample_counts: file.spec.sample_counts.clone(),
        figures: file.spec.figures.clone(),
        datasets: datasets
            .iter()
            .map(|d| PlannedDataset {
                id: d.id.clone(),
                fingerprint: d.fingerprint.clone(),
                source: d.source.clone(),
                train_count: d.train_count,
                test_shape: d.test.shape,
                raters: d.test.raters,
                synthetic: d.test.oracles.is_some(),
            })
            .collect(),
        cells: cells.iter().map(|c| c.planned.clone()).collect(),
    };
    Ok(Prepared {
        device: file.spec.device,
        datasets,
        cells,
        plan,
        out,
    })
}

impl Prepared {
    /// Writes `plan.json` and each dataset's test arrays (for figures and `fmseg collect`).
    pub fn write_plan(&self) -> Result<()> {
        std::fs::create_dir_all(&self.out)
            .with_context(|| format!("creating {}", self.out.display()))?;
        let text = serde_json::to_string_pretty(&self.plan)?;
        write_atomic(&self.out.join("plan.json"), text.as_bytes()).context("writing plan.json")?;
        for d in &self.datasets {
            let dir = self.out.join("data").join(&d.id);
            let t = &d.test;
            let [n, _, h, w] = t.shape;
            let fingerprint = dir.join("fingerprint.json");
            let same = std::fs::read_to_string(&fingerprint)
                .ok()
                .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
                == Some(d.fingerprint.clone());
            if same {
                continue;
            }
            // written last, removed first: an interrupted write leaves an incomplete folder
            remove_if_present(&fingerprint)?;
            write_f32(&dir.join("images.npy"), &t.shape, &t.images)?;
            write_u8(
                &dir.join("annotations.npy"),
                &[n, t.raters, h, w],
                &t.annotations,
            )?;
            if let Some(oracles) = &t.oracles {
                let variance: Vec<f32> = oracles.iter().flat_map(|o| o.variance()).collect();
                write_f32(&dir.join("variance.npy"), &[n, h, w], &variance)?;
            }
            write_atomic(&fingerprint, d.fingerprint.to_string().as_bytes())?;
        }
        Ok(())
    }

    /// Runs the cells (all, or the one keyed `only`) on `device`; finished cells are skipped.
    /// Returns how many cells ran.
    pub fn run_cells(&self, only: Option<&str>, device: &SelectedDevice) -> Result<usize> {
        let selected: Vec<&Cell> = match only {
            None => self.cells.iter().collect(),
            Some(key) => {
                let cell = self
                    .cells
                    .iter()
                    .find(|c| c.planned.key == key)
                    .ok_or_else(|| {
                        let keys: Vec<String> = self
                            .cells
                            .iter()
                            .map(|c| format!("{} ({})", c.planned.key, c.planned.label))
                            .collect();
                        input_error(format!(
                            "--cell {key}: not a cell of this experiment; cells: {}",
                            keys.join(", ")
                        ))
                    })?;
                vec![cell]
            }
        };
        let total = selected.len();
        let mut ran = 0;
        for (i, cell) in selected.into_iter().enumerate() {
            let p = &cell.planned;
            let tag = format!(
                "[{}/{total}] {} {} seed {} ({})",
                i + 1,
                p.dataset,
                p.label,
                p.seed,
                p.key
            );
            if finished(&self.out, &p.key).is_some() {
                eprintln!("{tag}: done, skipped");
                continue;
            }
            let data = &self.datasets[cell.dataset];
            let started = Instant::now();
            let meta = json!({
                "experiment": self.plan.experiment,
                "dataset": { "id": data.id, "fingerprint": data.fingerprint, "train_count": data.train_count },
            });
            let train_seconds = match &p.train_key {
                None => 0.0,
                Some(key) => {
                    let _lock = TrainLock::acquire(&model_dir(&self.out, key))?;
                    ensure_trained(cell, &data.train, &meta, &self.out, device)?
                }
            };
            if let (Some(plan), Some((validation, _))) = (cell.curve, &data.validation) {
                ensure_curve(cell, plan, validation, &self.out, &device.device)?;
            }
            let record = run_cell(
                cell,
                &data.test,
                &self.plan.sample_counts,
                train_seconds,
                &self.out,
                device,
            )?;
            eprintln!(
                "{tag}: finished in {:.1} s (train {:.1} s, sample {:.1} s, NFE {}, score {:.1} s)",
                started.elapsed().as_secs_f64(),
                record.train_seconds,
                record.sample_seconds,
                record.nfe,
                record.eval_seconds
            );
            ran += 1;
        }
        Ok(ran)
    }
}

/// Reads `DIR/plan.json`.
pub fn read_plan(dir: &Path) -> Result<Plan> {
    let path = dir.join("plan.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        input_error(format!(
            "{}: {e} (is this an `fmseg run` output folder?)",
            path.display()
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| input_error(format!("{}: {e}", path.display())))
}
