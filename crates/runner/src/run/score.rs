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
use fmseg_metrics::{DatasetShape, Prefixes, evaluate_images};

use super::counts::SampleCounts;
use super::layout::{CellRecord, cell_dir};
use super::plan::PlannedCell;
use crate::report::rows::MetricRow;

/// The rows of `cell` at every k of `counts`.
///
/// # Shapes
/// `samples`: N×n×H×W soft values; `annotations`: N×m×H×W binary, as `shape` says.
pub fn score_cell(
    cell: &PlannedCell,
    samples: &[f32],
    annotations: &[u8],
    shape: DatasetShape,
    counts: &SampleCounts,
) -> Result<Vec<MetricRow>> {
    let per_image = evaluate_images(samples, annotations, shape, Prefixes::All)
        .with_context(|| format!("scoring {}", cell.label))?;
    let identity = cell.identity();
    Ok(per_image
        .iter()
        .enumerate()
        .flat_map(|(i, per_k)| identity.image_rows(i, per_k, |k| counts.contains(k)))
        .collect())
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
    let rows = score_cell(c, sample_values, ann_values, shape, counts)?;
    write_atomic(
        &dir.join("rows.json"),
        serde_json::to_string(&rows)?.as_bytes(),
    )?;
    Ok(rows)
}
