//! Merging finished cells into the experiment's outputs (`fmseg run` at its end, and
//! `fmseg collect DIR` after a Slurm sweep): `metrics.csv` and `metrics.parquet` (long format:
//! `method, variant, label, dataset, seed, image, k, metric, value`), `table.md` / `table.tex`
//! (mean over test images ± half the 95 % percentile-bootstrap interval, per dataset and sample
//! count; with several seeds each image's value is first averaged over seeds), the figures, and
//! `manifest.json`. Unfinished cells are listed, never silently dropped.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use fmseg_data::atomic::write_atomic;
use fmseg_metrics::METRIC_NAMES;
use serde::{Deserialize, Serialize};

use super::execute::{CellRecord, Rows, cell_dir, finished};
use super::figures_out;
use fmseg_runner::report::bootstrap::{RESAMPLES, bootstrap_mean};
use fmseg_runner::report::rows::MetricRow;
use fmseg_runner::report::tables::ComparisonTable;

/// One planned cell as `plan.json` lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlannedCell {
    /// Cell key.
    pub key: String,
    /// Training key.
    pub train_key: Option<String>,
    /// Method id.
    pub method: String,
    /// Table label.
    pub label: String,
    /// Ablation values.
    pub variant: String,
    /// First variant of its method block.
    pub primary: bool,
    /// Dataset id.
    pub dataset: String,
    /// Seed.
    pub seed: u64,
}

/// A dataset as `plan.json` lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlannedDataset {
    /// Id.
    pub id: String,
    /// What determines it.
    pub fingerprint: serde_json::Value,
    /// Where it was read from.
    #[serde(default)]
    pub source: serde_json::Value,
    /// Training items.
    pub train_count: usize,
    /// Test set `[N, C, H, W]`.
    pub test_shape: [usize; 4],
    /// Raters.
    pub raters: usize,
    /// Whether the oracle variance is known.
    pub synthetic: bool,
}

/// `plan.json`: everything `fmseg collect` needs besides the cells' folders.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    /// Experiment name.
    pub experiment: String,
    /// The experiment file as given.
    pub spec_file: String,
    /// The parsed spec.
    pub spec: serde_json::Value,
    /// Sample counts scored.
    pub sample_counts: Vec<usize>,
    /// Figure settings.
    pub figures: super::spec::FigureSpec,
    /// Datasets.
    pub datasets: Vec<PlannedDataset>,
    /// Cells in plan order.
    pub cells: Vec<PlannedCell>,
}

/// A long row with the cell's identity.
#[derive(Debug, Clone)]
pub struct LongRow {
    /// Method id.
    pub method: String,
    /// Ablation values.
    pub variant: String,
    /// Label.
    pub label: String,
    /// Dataset id.
    pub dataset: String,
    /// Seed.
    pub seed: u64,
    /// Image index.
    pub image: usize,
    /// Sample count.
    pub k: usize,
    /// Metric.
    pub metric: &'static str,
    /// Value.
    pub value: f64,
}

/// The finished cells' records and rows, and the keys of the unfinished ones.
pub struct Gathered {
    /// Records in plan order.
    pub records: Vec<CellRecord>,
    /// All rows.
    pub rows: Vec<LongRow>,
    /// Planned cells without `cell.json`.
    pub missing: Vec<PlannedCell>,
}

/// Reads every planned cell's results from `out`.
pub fn gather(plan: &Plan, out: &Path) -> Result<Gathered> {
    let mut records = Vec::new();
    let mut rows = Vec::new();
    let mut missing = Vec::new();
    for cell in &plan.cells {
        let Some(record) = finished(out, &cell.key) else {
            missing.push(cell.clone());
            continue;
        };
        let path = cell_dir(out, &cell.key).join("rows.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let cell_rows: Rows =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let c = &record.cell;
        for (image, k, metric, value) in cell_rows {
            let Some(metric) = METRIC_NAMES.iter().copied().find(|m| *m == metric) else {
                anyhow::bail!("{}: unknown metric '{metric}'", path.display());
            };
            rows.push(LongRow {
                method: c.method.clone(),
                variant: c.variant.clone(),
                label: c.label.clone(),
                dataset: c.dataset.clone(),
                seed: c.seed,
                image,
                k,
                metric,
                value,
            });
        }
        records.push(record);
    }
    Ok(Gathered {
        records,
        rows,
        missing,
    })
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The long rows as CSV.
pub fn long_csv(rows: &[LongRow]) -> String {
    let mut out = String::from("method,variant,label,dataset,seed,image,k,metric,value\n");
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{:.17e}\n",
            csv_field(&r.method),
            csv_field(&r.variant),
            csv_field(&r.label),
            csv_field(&r.dataset),
            r.seed,
            r.image,
            r.k,
            r.metric,
            r.value
        ));
    }
    out
}

/// The long rows as a Parquet file (polars), written atomically.
pub fn write_parquet(rows: &[LongRow], path: &Path) -> Result<()> {
    use polars::prelude::*;
    let s = |f: fn(&LongRow) -> &str| rows.iter().map(|r| f(r).to_string()).collect::<Vec<_>>();
    let mut df = df!(
        "method" => s(|r| &r.method),
        "variant" => s(|r| &r.variant),
        "label" => s(|r| &r.label),
        "dataset" => s(|r| &r.dataset),
        "seed" => rows.iter().map(|r| r.seed).collect::<Vec<u64>>(),
        "image" => rows.iter().map(|r| r.image as u64).collect::<Vec<u64>>(),
        "k" => rows.iter().map(|r| r.k as u64).collect::<Vec<u64>>(),
        "metric" => rows.iter().map(|r| r.metric.to_string()).collect::<Vec<String>>(),
        "value" => rows.iter().map(|r| r.value).collect::<Vec<f64>>(),
    )
    .context("building the metrics data frame")?;
    let mut bytes: Vec<u8> = Vec::new();
    ParquetWriter::new(&mut bytes)
        .finish(&mut df)
        .context("encoding metrics.parquet")?;
    write_atomic(path, &bytes).with_context(|| format!("writing {}", path.display()))
}

/// Rows of one dataset averaged over seeds, as [`MetricRow`]s keyed by label (for the tables).
pub fn seed_means(rows: &[LongRow], dataset: &str) -> Vec<MetricRow> {
    let mut order: Vec<String> = Vec::new();
    let mut acc: BTreeMap<(usize, usize, usize, &'static str), (f64, usize)> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.dataset == dataset) {
        let li = match order.iter().position(|l| *l == r.label) {
            Some(i) => i,
            None => {
                order.push(r.label.clone());
                order.len() - 1
            }
        };
        let e = acc.entry((li, r.k, r.image, r.metric)).or_insert((0.0, 0));
        e.0 += r.value;
        e.1 += 1;
    }
    acc.into_iter()
        .map(|((li, k, image, metric), (sum, n))| MetricRow {
            method: order[li].clone(),
            dataset: dataset.to_string(),
            seed: 0,
            image,
            k,
            metric,
            value: sum / n as f64,
        })
        .collect()
}

/// Mean and 95 % interval of `metric` at `k` for `label` (over images, seed-averaged rows).
pub fn curve_value(
    rows: &[MetricRow],
    label: &str,
    metric: &str,
    k: usize,
) -> Option<(f64, f64, f64)> {
    let values: Vec<f64> = rows
        .iter()
        .filter(|r| r.method == label && r.metric == metric && r.k == k)
        .map(|r| r.value)
        .collect();
    bootstrap_mean(&values, RESAMPLES, 0x7AB1E).map(|ci| (ci.mean, ci.lo, ci.hi))
}

/// Writes every output of the experiment in `out`; returns the Markdown summary (largest k).
pub fn collect(plan: &Plan, out: &Path, wall_seconds: Option<f64>) -> Result<String> {
    let gathered = gather(plan, out)?;
    write_atomic(
        &out.join("metrics.csv"),
        long_csv(&gathered.rows).as_bytes(),
    )
    .context("writing metrics.csv")?;
    write_parquet(&gathered.rows, &out.join("metrics.parquet"))?;
    let mut md = format!("# {}\n\n", plan.experiment);
    let mut tex = format!("% {} — generated by fmseg run\n", plan.experiment);
    let mut summary = String::new();
    let mut counts = plan.sample_counts.clone();
    counts.sort_unstable();
    counts.dedup();
    for d in &plan.datasets {
        let rows = seed_means(&gathered.rows, &d.id);
        if rows.is_empty() {
            continue;
        }
        for &k in counts.iter().rev() {
            let table = ComparisonTable::at_k(&rows, k);
            md.push_str(&format!(
                "## {} — {} test images, k = {k} samples\n\n",
                d.id, d.test_shape[0]
            ));
            md.push_str(&table.markdown());
            md.push('\n');
            tex.push_str(&format!("% {} — k = {k}\n", d.id));
            tex.push_str(&table.latex());
            tex.push('\n');
            if Some(&k) == counts.last() {
                summary.push_str(&format!(
                    "{} (k = {k}, {} test images)\n",
                    d.id, d.test_shape[0]
                ));
                summary.push_str(&table.markdown());
                summary.push('\n');
            }
        }
    }
    if !gathered.missing.is_empty() {
        let list: Vec<String> = gathered
            .missing
            .iter()
            .map(|c| format!("{} ({}, {}, seed {})", c.key, c.label, c.dataset, c.seed))
            .collect();
        let note = format!(
            "\n> {} of {} cells are not finished: {}\n",
            list.len(),
            plan.cells.len(),
            list.join("; ")
        );
        md.push_str(&note);
        summary.push_str(&note);
    }
    write_atomic(&out.join("table.md"), md.as_bytes()).context("writing table.md")?;
    write_atomic(&out.join("table.tex"), tex.as_bytes()).context("writing table.tex")?;
    let figures = if plan.figures.enabled {
        figures_out::write_figures(plan, &gathered, out)?
    } else {
        Vec::new()
    };
    super::manifest::write_manifest(plan, &gathered, &figures, out, wall_seconds)?;
    Ok(summary)
}
