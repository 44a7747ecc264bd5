//! A cell's samples scored into its long rows (every metric at each k of the experiment's
//! `sample_counts`), when the cell runs and again later: a finished cell scored before the
//! experiment's `sample_counts` gained a k below its maximum (the cell key holds only the maximum,
//! so the cell is not re-run) is scored again from its `samples.npy` and the dataset's
//! `data/<id>/annotations.npy`, and its `rows.json` is rewritten, so the tables always hold
//! exactly the current counts.

use std::path::Path;

use anyhow::{Context, Result};
use fmseg_data::atomic::write_atomic;
use fmseg_data::npy::{NpyArray, NpyData};
use fmseg_metrics::variance::variance_correlations;
use fmseg_metrics::{DatasetShape, Prefixes, evaluate_images};

use super::counts::SampleCounts;
use super::layout::{CellRecord, cell_dir};
use super::plan::PlannedCell;
use crate::report::rows::MetricRow;

/// The rows of `cell` at every k of `counts`; with the true per-pixel variance of a synthetic
/// dataset (`oracle_variance`), also `var_corr_oracle`.
///
/// # Shapes
/// `samples`: N×n×H×W soft values; `annotations`: N×m×H×W binary, as `shape` says;
/// `oracle_variance`: N×H×W.
pub fn score_cell(
    cell: &PlannedCell,
    samples: &[f32],
    annotations: &[u8],
    shape: DatasetShape,
    counts: &SampleCounts,
    oracle_variance: Option<&[f32]>,
) -> Result<Vec<MetricRow>> {
    let per_image = evaluate_images(samples, annotations, shape, Prefixes::All)
        .with_context(|| format!("scoring {}", cell.label))?;
    let identity = cell.identity();
    let mut rows: Vec<MetricRow> = per_image
        .iter()
        .enumerate()
        .flat_map(|(i, per_k)| identity.image_rows(i, per_k, |k| counts.contains(k)))
        .collect();
    if let Some(truth) = oracle_variance {
        let plane = shape.height * shape.width;
        anyhow::ensure!(
            truth.len() == shape.images * plane,
            "{}: {} true-variance values for {} images of {plane} pixels",
            cell.label,
            truth.len(),
            shape.images
        );
        let per_image =
            variance_correlations(samples, truth, shape.samples, plane, |k| counts.contains(k));
        for (i, per_k) in per_image.into_iter().enumerate() {
            for (k, value) in per_k {
                if let Some(value) = value {
                    rows.push(identity.row(i, k, "var_corr_oracle", value));
                }
            }
        }
    }
    Ok(rows)
}

/// The rows of `record`'s cell at every k of `counts`, scored from its stored samples.
pub fn rescore(out: &Path, record: &CellRecord, counts: &SampleCounts) -> Result<Vec<MetricRow>> {
    let c = &record.cell;
    let dir = cell_dir(out, &c.key);
    let samples_path = dir.join("samples.npy");
    let ann_path = out.join("data").join(&c.dataset).join("annotations.npy");
    let read = |p: &Path| NpyArray::read(p).with_context(|| format!("reading {}", p.display()));
    let samples = read(&samples_path)?;
    let ann = read(&ann_path)?;
    let (
        NpyData::F32(sample_values),
        NpyData::U8(ann_values),
        &[images, n, h, w],
        &[ann_images, m, ah, aw],
    ) = (
        &samples.data,
        &ann.data,
        samples.shape.as_slice(),
        ann.shape.as_slice(),
    )
    else {
        anyhow::bail!(
            "{} {:?} and {} {:?}: expected float32 (N, n, H, W) samples and u8 (N, m, H, W) \
             annotations",
            samples_path.display(),
            samples.shape,
            ann_path.display(),
            ann.shape
        );
    };
    if (ann_images, ah, aw) != (images, h, w) {
        anyhow::bail!(
            "{}: shape {:?} does not match the samples {:?}",
            ann_path.display(),
            ann.shape,
            samples.shape
        );
    }
    let shape = DatasetShape {
        images,
        samples: n,
        annotators: m,
        height: h,
        width: w,
    };
    let truth_path = out.join("data").join(&c.dataset).join("variance.npy");
    let truth = if truth_path.is_file() {
        match read(&truth_path)?.data {
            NpyData::F32(v) => Some(v),
            _ => anyhow::bail!("{}: expected float32", truth_path.display()),
        }
    } else {
        None
    };
    let rows = score_cell(
        c,
        sample_values,
        ann_values,
        shape,
        counts,
        truth.as_deref(),
    )?;
    write_atomic(
        &dir.join("rows.json"),
        serde_json::to_string(&rows)?.as_bytes(),
    )?;
    Ok(rows)
}
