//! `fmseg run`, `fmseg sweep` and `fmseg collect`: experiments from YAML (`spec`), their
//! datasets (`data`), cells with configuration-derived keys (`plan`), resumable execution of a
//! cell (`execute`), merged metrics, tables, figures and the manifest (`collect`, `figures_out`,
//! `figures`, `manifest`), and Slurm job arrays (`slurm`).
//!
//! Output folder (default `results/<experiment>/`):
//! `plan.json`, `data/<dataset>/{images,annotations[,variance]}.npy` (the test set),
//! `models/<train key>/` (an `fmseg train` folder + `train.json`), `cells/<key>/`
//! (`samples.npy`, `rows.json`, `cell.json`), `metrics.csv`, `metrics.parquet`, `table.md`,
//! `table.tex`, `figures/*.{png,svg}`, `manifest.json`.

pub mod collect;
pub mod data;
pub mod execute;
pub mod figures;
pub mod figures_out;
pub mod manifest;
pub mod plan;
pub mod slurm;
pub mod spec;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use fmseg_data::atomic::write_atomic;
use fmseg_data::npy::{write_f32, write_u8};
use serde_json::json;

use crate::input_error::input_error;
use collect::{Plan, PlannedDataset};
use data::{LoadedDataset, load_dataset};
use plan::Cell;
use spec::SpecFile;

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
}

/// Loads `spec_path`, resolves datasets (`data`: `ID=PATH` overrides) and plans the cells; the
/// output folder is `out` or `results/<experiment>`. Errors in the file are input errors.
pub fn prepare(
    spec_path: &Path,
    out: Option<&Path>,
    data: &[(String, PathBuf)],
) -> Result<Prepared> {
    let file = SpecFile::load(spec_path).map_err(|e| input_error(e.to_string()))?;
    if file.spec.datasets.is_empty() {
        return Err(input_error(
            file.invalid("datasets", "at least one dataset is needed")
                .to_string(),
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
        let d = load_dataset(&file, i, data).map_err(|e| input_error(e.to_string()))?;
        if datasets.iter().any(|o: &LoadedDataset| o.id == d.id) {
            return Err(input_error(
                file.invalid(
                    &format!("datasets[{i}].id"),
                    format!("'{}' is used twice", d.id),
                )
                .to_string(),
            ));
        }
        datasets.push(d);
    }
    let cells = plan::plan(&file, &datasets).map_err(|e| input_error(e.to_string()))?;
    let name = file.name();
    let out = out.map_or_else(|| Path::new("results").join(&name), Path::to_path_buf);
    let mut counts = file.spec.sample_counts.clone();
    counts.sort_unstable();
    counts.dedup();
    let plan = Plan {
        experiment: name,
        spec_file: spec_path.display().to_string(),
        spec: serde_json::to_value(&file.spec).unwrap_or_default(),
        sample_counts: counts,
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
        cells: cells.iter().map(Cell::planned).collect(),
    };
    Ok(Prepared {
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

    /// Runs the cells (all, or the one keyed `only`); finished cells are skipped. Returns how
    /// many cells ran.
    pub fn run_cells(&self, only: Option<&str>) -> Result<usize> {
        let selected: Vec<&Cell> = match only {
            None => self.cells.iter().collect(),
            Some(key) => {
                let cell = self.cells.iter().find(|c| c.key == key).ok_or_else(|| {
                    let keys: Vec<String> = self
                        .cells
                        .iter()
                        .map(|c| format!("{} ({})", c.key, c.label))
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
            let tag = format!(
                "[{}/{total}] {} {} seed {} ({})",
                i + 1,
                cell.dataset_id,
                cell.label,
                cell.seed,
                cell.key
            );
            if execute::finished(&self.out, &cell.key).is_some() {
                eprintln!("{tag}: done, skipped");
                continue;
            }
            let data = &self.datasets[cell.dataset];
            let started = Instant::now();
            let meta = json!({
                "experiment": self.plan.experiment,
                "dataset": { "id": data.id, "fingerprint": data.fingerprint, "train_count": data.train_count },
            });
            let train_seconds = match &cell.train_key {
                None => 0.0,
                Some(key) => {
                    let _lock = TrainLock::acquire(&execute::model_dir(&self.out, key))?;
                    execute::ensure_trained(cell, &data.train, &meta, &self.out)?
                }
            };
            let record = execute::run_cell(
                cell,
                &data.test,
                &self.plan.sample_counts,
                train_seconds,
                &self.out,
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

/// An exclusive claim on a model folder while it trains (`<dir>.lock` holding host and pid), so
/// that Slurm array tasks sharing a model train it once; a lock left by a dead process on this
/// host is taken over.
struct TrainLock {
    path: PathBuf,
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

impl TrainLock {
    fn acquire(dir: &Path) -> Result<Self> {
        let path = dir.with_extension("lock");
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let me = format!("{} {}", host(), std::process::id());
        let mut waited = false;
        loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    use std::io::Write;
                    f.write_all(me.as_bytes())
                        .with_context(|| format!("writing {}", path.display()))?;
                    return Ok(Self { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let owner = std::fs::read_to_string(&path).unwrap_or_default();
                    let mut parts = owner.split_whitespace();
                    let (h, pid) = (
                        parts.next().unwrap_or_default(),
                        parts.next().unwrap_or_default(),
                    );
                    let dead = h == host() && !Path::new("/proc").join(pid).exists();
                    if dead || owner.is_empty() {
                        let _ = std::fs::remove_file(&path);
                        continue;
                    }
                    if !waited {
                        eprintln!("waiting for {} (held by {owner})", path.display());
                        waited = true;
                    }
                    std::thread::sleep(Duration::from_secs(5));
                }
                Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
            }
        }
    }
}

impl Drop for TrainLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
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
