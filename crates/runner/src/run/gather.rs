//! Reading the finished cells of an output folder back: their records and long rows, the keys
//! of the unfinished ones (listed, never silently dropped), and the seed-averaged rows the tables
//! and figures are built from (with several seeds each image's value is first averaged over
//! seeds, then the interval is taken over images).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Result;
use serde::Deserialize;

use super::layout::{CellRecord, cell_dir, finished};
use super::plan::{Plan, PlannedCell};
use super::score::rescore;
use crate::input_error::input_error;
use crate::report::bootstrap::{RESAMPLES, bootstrap_mean};
use crate::report::rows::{MetricRow, metric_name};

/// The finished cells' records and rows, and the unfinished cells.
pub struct Gathered {
    /// Records in plan order.
    pub records: Vec<CellRecord>,
    /// All rows, cells in plan order.
    pub rows: Vec<MetricRow>,
    /// Planned cells without `cell.json`.
    pub missing: Vec<PlannedCell>,
}

/// A `rows.json` entry: a full row, or the `(image, k, metric, value)` tuple of cells written by
/// fmseg 0.1 before the rows were typed (read so that old output folders still collect).
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredRow {
    Row(MetricRow),
    Legacy(usize, usize, String, f64),
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
        let dir = cell_dir(out, &cell.key);
        let path = dir.join("rows.json");
        let corrupt = |e: &dyn std::fmt::Display| {
            input_error(format!(
                "{}: {e} (a finished cell's results are damaged: delete {} to run the cell again)",
                path.display(),
                dir.display()
            ))
        };
        let text = std::fs::read_to_string(&path).map_err(|e| corrupt(&e))?;
        let stored: Vec<StoredRow> = serde_json::from_str(&text).map_err(|e| corrupt(&e))?;
        let identity = record.cell.identity();
        let mut cell_rows = Vec::with_capacity(stored.len());
        for r in stored {
            cell_rows.push(match r {
                StoredRow::Row(row) => row,
                StoredRow::Legacy(image, k, metric, value) => MetricRow {
                    method: identity.method,
                    variant: identity.variant.to_string(),
                    label: identity.label.to_string(),
                    dataset: identity.dataset.to_string(),
                    seed: identity.seed,
                    image,
                    k,
                    metric: metric_name(&metric).map_err(|e| corrupt(&e))?,
                    value,
                },
            });
        }
        // the tables hold exactly the current sample counts: rows of counts since dropped are
        // left out, and counts added below the cell's maximum are scored from its samples
        let counts = &plan.sample_counts;
        let scored: BTreeSet<usize> = cell_rows.iter().map(|r| r.k).collect();
        let unscored = counts
            .as_slice()
            .iter()
            .any(|k| *k <= record.samples && !scored.contains(k));
        if unscored {
            cell_rows = rescore(out, &record, counts)?;
        }
        rows.extend(cell_rows.into_iter().filter(|r| counts.contains(r.k)));
        records.push(record);
    }
    Ok(Gathered {
        records,
        rows,
        missing,
    })
}

/// Rows of one dataset averaged over seeds (seed 0 in the result), labels in first-appearance
/// order, then k, image and metric.
pub fn seed_means(rows: &[MetricRow], dataset: &str) -> Vec<MetricRow> {
    let mut order: Vec<&MetricRow> = Vec::new();
    let mut acc: BTreeMap<(usize, usize, usize, &'static str), (f64, usize)> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.dataset == dataset) {
        let li = match order.iter().position(|o| o.label == r.label) {
            Some(i) => i,
            None => {
                order.push(r);
                order.len() - 1
            }
        };
        let e = acc.entry((li, r.k, r.image, r.metric)).or_insert((0.0, 0));
        e.0 += r.value;
        e.1 += 1;
    }
    acc.into_iter()
        .map(|((li, k, image, metric), (sum, n))| MetricRow {
            method: order[li].method,
            variant: order[li].variant.clone(),
            label: order[li].label.clone(),
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
        .filter(|r| r.label == label && r.metric == metric && r.k == k)
        .map(|r| r.value)
        .collect();
    bootstrap_mean(&values, RESAMPLES, 0x7AB1E).map(|ci| (ci.mean, ci.lo, ci.hi))
}
