//! The figures of an experiment, built from the finished cells (uses [`super::figures`] to draw):
//! per dataset, the paper's metrics vs the number of samples with 95 % bootstrap bands
//! (`<dataset>-metrics`, and `<dataset>-ged` alone), the uncertainty figure (image, annotators,
//! each method's mean and variance maps, and the true variance on synthetic data;
//! `<dataset>-uncertainty`), a sample grid (`<dataset>-samples`) and, when the flow model's
//! solver or step count varies, GED vs NFE per solver (`<dataset>-ged-vs-nfe`), and with
//! `learning_curve:`, GED, SNCC and Dice against the training step on the validation images
//! (`<dataset>-learning-curves`). PNG and SVG.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use fmseg_data::npy::{NpyArray, NpyData};
use fmseg_metrics::maps::{mean_map, variance_map};
use fmseg_model::{MethodId, Solver};
use serde::Deserialize;

use super::curve::{CURVE_FILE, CurvePoint as Curve, Estimate, read_curve};
use super::figures::{
    CurvePoint, CurveSeries, GridRow, Map, NfePoint, UncertaintyRow, metric_vs_k, metric_vs_nfe,
    metrics_panel, panels_against, sample_grid, uncertainty_figure,
};
use super::gather::{Gathered, curve_value, seed_means};
use super::layout::{CellRecord, cell_dir};
use super::plan::{Plan, PlannedDataset};
use crate::report::rows::MethodColumn;

/// The metrics of the main figure with their axis labels.
pub const FIGURE_METRICS: [(&str, &str); 4] = [
    ("ged", "GED ↓"),
    ("sncc", "SNCC ↑"),
    ("dmax", "Dmax ↑"),
    ("dice", "Dice ↑"),
];

fn read_f32(path: &Path) -> Result<(Vec<usize>, Vec<f32>)> {
    let a = NpyArray::read(path).with_context(|| format!("reading {}", path.display()))?;
    let shape = a.shape.clone();
    let data = match a.data {
        NpyData::F32(v) => v,
        NpyData::U8(v) => v.into_iter().map(f32::from).collect(),
        other => anyhow::bail!("{}: unexpected dtype {other:?}", path.display()),
    };
    Ok((shape, data))
}

fn map(data: &[f32], h: usize, w: usize) -> Map {
    Map {
        h,
        w,
        data: data.to_vec(),
    }
}

/// The solver settings of a flow cell, read from its resolved sampling configuration.
#[derive(Deserialize)]
struct SolverKey {
    solver: Solver,
    steps: usize,
}

fn solver_key(r: &CellRecord) -> Option<SolverKey> {
    serde_json::from_value(r.resolved.get("sampling")?.clone()).ok()
}

/// The records drawn as "the method" in per-method figures: the primary variant, first seed.
fn primaries<'a>(records: &'a [CellRecord], dataset: &str) -> Vec<&'a CellRecord> {
    let mut out: Vec<&CellRecord> = Vec::new();
    for r in records
        .iter()
        .filter(|r| r.cell.dataset == dataset && r.cell.primary)
    {
        if !out.iter().any(|o| o.cell.label == r.cell.label) {
            out.push(r);
        }
    }
    out
}

/// Draws every figure; returns the files written.
pub fn write_figures(plan: &Plan, gathered: &Gathered, out: &Path) -> Result<Vec<PathBuf>> {
    let dir = out.join("figures");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = Vec::new();
    let counts = plan.sample_counts.as_slice();
    let k_max = plan.sample_counts.max();
    for d in &plan.datasets {
        let rows = seed_means(&gathered.rows, &d.id);
        if rows.is_empty() {
            continue;
        }
        let mut labels: Vec<(&str, MethodColumn)> = Vec::new();
        for r in gathered.records.iter().filter(|r| r.cell.dataset == d.id) {
            if !labels.iter().any(|(l, _)| *l == r.cell.label) {
                labels.push((&r.cell.label, r.cell.method));
            }
        }
        let series_for =
            |metric: &str| -> Vec<CurveSeries> {
                labels
                    .iter()
                    .enumerate()
                    .map(|(i, (label, method))| CurveSeries {
                        method: *method,
                        label: label.to_string(),
                        variant: labels[..i].iter().filter(|(_, m)| m == method).count(),
                        points: counts
                            .iter()
                            .filter_map(|&k| {
                                curve_value(&rows, label, metric, k)
                                    .map(|(mean, lo, hi)| CurvePoint { k, mean, lo, hi })
                            })
                            .collect(),
                    })
                    .filter(|s| !s.points.is_empty())
                    .collect()
            };
        let n_test = d.test_shape[0];
        let panels: Vec<(String, Vec<CurveSeries>)> = FIGURE_METRICS
            .iter()
            .map(|(m, y)| (y.to_string(), series_for(m)))
            .filter(|(_, s)| !s.is_empty())
            .collect();
        let title = format!(
            "{} — mean over {n_test} test images, 95 % bootstrap CI",
            d.id
        );
        written.extend(metrics_panel(
            &dir.join(format!("{}-metrics", d.id)),
            &title,
            &panels,
        )?);
        // The GED panel's series (bootstrapped once) also make the GED-only figure.
        if let Some((y, ged)) = panels.iter().find(|(y, _)| y == FIGURE_METRICS[0].1) {
            written.extend(metric_vs_k(
                &dir.join(format!("{}-ged", d.id)),
                &title,
                y,
                ged,
            )?);
        }
        written.extend(map_figures(plan, gathered, d, out, &dir)?);
        written.extend(learning_curves(gathered, d, out, &dir)?);
        // GED vs NFE per solver, when the flow model's solver or steps vary.
        let flow = MethodColumn::Model(MethodId::Flow);
        let flows: Vec<(&CellRecord, SolverKey)> = gathered
            .records
            .iter()
            .filter(|r| r.cell.dataset == d.id && r.cell.method == flow)
            .filter_map(|r| solver_key(r).map(|k| (r, k)))
            .collect();
        let settings: std::collections::BTreeSet<(&str, usize)> = flows
            .iter()
            .map(|(_, k)| (k.solver.name(), k.steps))
            .collect();
        if settings.len() > 1 {
            let mut by_solver: Vec<(Solver, Vec<NfePoint>)> = Vec::new();
            for (label, _) in labels.iter().filter(|(_, m)| *m == flow) {
                let Some((r, key)) = flows.iter().find(|(r, _)| r.cell.label == *label) else {
                    continue;
                };
                let solver = key.solver;
                let Some((mean, lo, hi)) = curve_value(&rows, label, "ged", k_max) else {
                    continue;
                };
                let point = NfePoint {
                    nfe: r.nfe,
                    mean,
                    lo,
                    hi,
                };
                match by_solver.iter_mut().find(|(s, _)| *s == solver) {
                    Some((_, pts)) => pts.push(point),
                    None => by_solver.push((solver, vec![point])),
                }
            }
            for (_, pts) in &mut by_solver {
                pts.sort_by_key(|p| p.nfe);
            }
            let title = format!(
                "{} — flow model, k = {k_max}, GED vs network evaluations",
                d.id
            );
            written.extend(metric_vs_nfe(
                &dir.join(format!("{}-ged-vs-nfe", d.id)),
                &title,
                "GED ↓",
                &by_solver,
            )?);
        }
    }
    Ok(written)
}

/// `<dataset>-learning-curves`: GED, SNCC and Dice of the mean against the training step on the
/// validation images, one line per method (primary variant, first seed), for the cells that
/// scored a learning curve (`cells/<key>/curve.csv`); none when no cell did.
fn learning_curves(
    gathered: &Gathered,
    d: &PlannedDataset,
    out: &Path,
    dir: &Path,
) -> Result<Vec<PathBuf>> {
    let mut curves = Vec::new();
    for r in primaries(&gathered.records, &d.id) {
        if let Some(points) = read_curve(&cell_dir(out, &r.cell.key).join(CURVE_FILE))
            && !points.is_empty()
        {
            curves.push((r, points));
        }
    }
    let Some((_, first)) = curves.first() else {
        return Ok(Vec::new());
    };
    let images = first[0].images;
    let series = |pick: fn(&Curve) -> Estimate| -> Vec<CurveSeries> {
        curves
            .iter()
            .map(|(r, points)| CurveSeries {
                method: r.cell.method,
                label: format!(
                    "{} ({:.0} s)",
                    r.cell.label,
                    points.last().map_or(0.0, |p| p.seconds)
                ),
                variant: 0,
                points: points
                    .iter()
                    .map(|p| {
                        let e = pick(p);
                        CurvePoint {
                            k: usize::try_from(p.step).unwrap_or(usize::MAX),
                            mean: e.mean,
                            lo: e.lo,
                            hi: e.hi,
                        }
                    })
                    .collect(),
            })
            .collect()
    };
    let panels = vec![
        ("GED ↓".to_string(), series(|p| p.ged)),
        ("SNCC ↑".to_string(), series(|p| p.sncc)),
        ("Dice ↑".to_string(), series(|p| p.dice)),
    ];
    let title = format!(
        "{} — learning curves: {images} validation images, 95 % CI (legend: training seconds)",
        d.id
    );
    Ok(panels_against(
        &dir.join(format!("{}-learning-curves", d.id)),
        &title,
        "training step",
        &panels,
    )?)
}

fn map_figures(
    plan: &Plan,
    gathered: &Gathered,
    d: &PlannedDataset,
    out: &Path,
    dir: &Path,
) -> Result<Vec<PathBuf>> {
    let data = out.join("data").join(&d.id);
    let (_, images) = read_f32(&data.join("images.npy"))?;
    let (_, annotations) = read_f32(&data.join("annotations.npy"))?;
    let variance = if d.synthetic {
        Some(read_f32(&data.join("variance.npy"))?.1)
    } else {
        None
    };
    let [n_img, c, h, w] = d.test_shape;
    let (m, plane) = (d.raters, h * w);
    let methods = primaries(&gathered.records, &d.id);
    let mut samples = Vec::new();
    for r in &methods {
        let (shape, values) = read_f32(&cell_dir(out, &r.cell.key).join("samples.npy"))?;
        samples.push((*r, shape.get(1).copied().unwrap_or(1), values));
    }
    let image_map = |i: usize| map(&images[i * c * plane..i * c * plane + plane], h, w);
    let raters = |i: usize| -> Vec<Map> {
        (0..m)
            .map(|a| {
                map(
                    &annotations[(i * m + a) * plane..(i * m + a + 1) * plane],
                    h,
                    w,
                )
            })
            .collect()
    };
    let mut written = Vec::new();
    let u = plan.figures.uncertainty_images.min(n_img);
    let k_max = plan.sample_counts.max();
    // each method's mean var_ncc over the test images at the largest k, shown in its header
    let var_ncc = |c: &super::plan::PlannedCell| -> Option<f64> {
        let values: Vec<f64> = gathered
            .rows
            .iter()
            .filter(|r| {
                r.metric == "var_ncc"
                    && r.k == k_max
                    && r.label == c.label
                    && r.variant == c.variant
                    && r.dataset == c.dataset
                    && r.seed == c.seed
            })
            .map(|r| r.value)
            .collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    if u > 0 {
        let rows: Vec<UncertaintyRow> = (0..u)
            .map(|i| UncertaintyRow {
                image: image_map(i),
                annotations: raters(i),
                methods: samples
                    .iter()
                    .filter(|(r, _, _)| r.cell.method != MethodColumn::Oracle)
                    .map(|(r, n, v)| {
                        let block = &v[i * n * plane..(i + 1) * n * plane];
                        let (mean, var) = (mean_map(block, plane), variance_map(block, plane));
                        let header = match var_ncc(&r.cell) {
                            Some(v) => format!("{} · {v:.2}", r.cell.label),
                            None => r.cell.label.clone(),
                        };
                        (r.cell.method, header, map(&mean, h, w), map(&var, h, w))
                    })
                    .collect(),
                oracle_variance: variance
                    .as_ref()
                    .map(|v| map(&v[i * plane..(i + 1) * plane], h, w)),
            })
            .collect();
        let title = format!(
            "{} — per-pixel mean and variance of the samples (· var_ncc at k = {k_max})",
            d.id
        );
        written.extend(uncertainty_figure(
            &dir.join(format!("{}-uncertainty", d.id)),
            &title,
            &rows,
        )?);
    }
    let g = plan.figures.grid_images.min(n_img);
    if g > 0 && plan.figures.grid_samples > 0 {
        let rows: Vec<GridRow> = (0..g)
            .map(|i| GridRow {
                image: image_map(i),
                annotations: raters(i),
                methods: samples
                    .iter()
                    .map(|(r, n, v)| {
                        let shown = plan.figures.grid_samples.min(*n);
                        let maps = (0..shown)
                            .map(|j| map(&v[(i * n + j) * plane..(i * n + j + 1) * plane], h, w))
                            .collect();
                        (r.cell.method, r.cell.label.clone(), maps)
                    })
                    .collect(),
            })
            .collect();
        let title = format!("{} — samples", d.id);
        written.extend(sample_grid(
            &dir.join(format!("{}-samples", d.id)),
            &title,
            &rows,
        )?);
    }
    Ok(written)
}
