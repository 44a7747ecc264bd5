//! Learning curves (`learning_curve:`): a cell's model scored at its training checkpoints on
//! the dataset's validation images, so a reader sees whether the comparison is at convergence.
//!
//! For every checkpoint `models/<train key>/checkpoints/step-S/` with `S` a multiple of the
//! plan's `every`, the model with those weights (the method's `sampling.weights`: the EMA shadow
//! or the raw weights) draws `samples` samples per validation image with the cell's seed and
//! sampling settings (the noise of chunk `c` from the same seed as the test images' chunk `c`),
//! and GED, SNCC and Dice of the mean (paper metrics, k = `samples`) are averaged over the images
//! with normal 95 % intervals. The result is `cells/<key>/curve.csv`, written atomically before
//! the cell's `cell.json`, so an interrupted cell keeps a finished curve and redoes an unfinished
//! one.

use std::path::Path;

use anyhow::{Context, Result};
use burn::tensor::{Device, Tensor};
use fmseg_data::atomic::write_atomic;
use fmseg_metrics::{DatasetShape, Prefixes, Scores, evaluate_images};
use fmseg_model::folder::Snapshot;
use fmseg_model::training::{CheckpointState, checkpoints};

use super::data::TestSet;
use super::execute::{CHUNK, chunk_seed};
use super::layout::{cell_dir, model_dir};
use super::plan::{Cell, CellKind, CurvePlan};

/// The file name of a cell's learning curve.
pub const CURVE_FILE: &str = "curve.csv";

/// The header of [`CURVE_FILE`].
pub const CURVE_HEADER: &str =
    "step,seconds,images,ged,ged_lo,ged_hi,sncc,sncc_lo,sncc_hi,dice,dice_lo,dice_hi";

/// A metric's mean over the validation images and its normal 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Mean.
    pub mean: f64,
    /// Lower end of the interval.
    pub lo: f64,
    /// Upper end of the interval.
    pub hi: f64,
}

impl Estimate {
    /// Mean ± 1.96 standard errors of `values` (a zero-width interval for one value).
    pub fn of(values: &[f64]) -> Self {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = if values.len() > 1 {
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        let half = 1.96 * (var / n).sqrt();
        Self {
            mean,
            lo: mean - half,
            hi: mean + half,
        }
    }
}

/// One scored checkpoint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    /// Training steps done.
    pub step: u64,
    /// Training wall-clock seconds at that step.
    pub seconds: f64,
    /// Validation images scored.
    pub images: usize,
    /// GED (lower is better).
    pub ged: Estimate,
    /// SNCC (higher is better).
    pub sncc: Estimate,
    /// Dice of the mean sample with the mean annotation.
    pub dice: Estimate,
}

impl CurvePoint {
    fn csv_line(&self) -> String {
        let e = |x: &Estimate| format!("{},{},{}", x.mean, x.lo, x.hi);
        format!(
            "{},{:.3},{},{},{},{}",
            self.step,
            self.seconds,
            self.images,
            e(&self.ged),
            e(&self.sncc),
            e(&self.dice)
        )
    }

    fn parse(line: &str) -> Option<Self> {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 12 {
            return None;
        }
        let num = |i: usize| f[i].parse::<f64>().ok();
        let est = |i: usize| {
            Some(Estimate {
                mean: num(i)?,
                lo: num(i + 1)?,
                hi: num(i + 2)?,
            })
        };
        Some(Self {
            step: f[0].parse().ok()?,
            seconds: num(1)?,
            images: f[2].parse().ok()?,
            ged: est(3)?,
            sncc: est(6)?,
            dice: est(9)?,
        })
    }
}

/// The text of a curve file.
pub fn curve_csv(points: &[CurvePoint]) -> String {
    let mut text = format!("{CURVE_HEADER}\n");
    for p in points {
        text.push_str(&p.csv_line());
        text.push('\n');
    }
    text
}

/// A curve file read back (`None` when absent or not a curve file: the cell's curve is redone).
pub fn read_curve(path: &Path) -> Option<Vec<CurvePoint>> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    if lines.next()? != CURVE_HEADER {
        return None;
    }
    lines.map(CurvePoint::parse).collect()
}

/// Scores `cell`'s learning curve unless its `curve.csv` exists; returns the points.
pub fn ensure_curve(
    cell: &Cell,
    plan: CurvePlan,
    validation: &TestSet,
    out: &Path,
    device: &Device,
) -> Result<Vec<CurvePoint>> {
    let p = &cell.planned;
    let path = cell_dir(out, &p.key).join(CURVE_FILE);
    if let Some(points) = read_curve(&path) {
        return Ok(points);
    }
    let (CellKind::Model(method), Some(key)) = (&cell.kind, &p.train_key) else {
        anyhow::bail!("{}: only trained methods have a learning curve", p.label);
    };
    let dir = model_dir(out, key);
    let steps: Vec<(u64, std::path::PathBuf)> = checkpoints(&dir)
        .with_context(|| format!("listing the checkpoints of {}", dir.display()))?
        .into_iter()
        .filter(|(s, _)| s.is_multiple_of(plan.every))
        .collect();
    let mut points = Vec::with_capacity(steps.len());
    for (step, at) in steps {
        let state_path = at.join("state.json");
        let state: CheckpointState = std::fs::read_to_string(&state_path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .with_context(|| format!("reading {}", state_path.display()))?;
        let sampler = method
            .method
            .load_sampler(&dir, Snapshot::Step(step), device)
            .with_context(|| format!("loading {} at step {step}", p.label))?;
        let samples = draw_all(
            validation,
            plan.samples,
            p.seed,
            device,
            |images, n, seed| {
                sampler
                    .sample(images, n, seed)
                    .map(|set| set.masks)
                    .with_context(|| format!("sampling {} at step {step}", p.label))
            },
        )?;
        let point = score_point(step, state.seconds, &samples, validation, plan.samples)?;
        eprintln!(
            "[{}] learning curve: step {step}: GED {:.4}, SNCC {:.4}, Dice {:.4} on {} validation images",
            p.label, point.ged.mean, point.sncc.mean, point.dice.mean, point.images
        );
        points.push(point);
    }
    std::fs::create_dir_all(path.parent().unwrap_or(out))
        .with_context(|| format!("creating the folder of {}", path.display()))?;
    write_atomic(&path, curve_csv(&points).as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(points)
}

/// `n` samples of every image of `set`, `[N, n, H, W]`, drawn in chunks of [`CHUNK`] images
/// with the chunk seeds of the test images.
fn draw_all(
    set: &TestSet,
    n: usize,
    seed: u64,
    device: &Device,
    mut sample: impl FnMut(Tensor<4>, usize, u64) -> Result<Vec<f32>>,
) -> Result<Vec<f32>> {
    let [count, _, h, w] = set.shape;
    let mut values = Vec::with_capacity(count * n * h * w);
    for (ci, start) in (0..count).step_by(CHUNK).enumerate() {
        let end = (start + CHUNK).min(count);
        values.extend(sample(
            set.images_tensor(start, end, device),
            n,
            chunk_seed(seed, ci),
        )?);
    }
    Ok(values)
}

/// GED, SNCC and Dice at k = `n` of `samples` (`[N, n, H, W]`) against `set`'s annotations.
fn score_point(
    step: u64,
    seconds: f64,
    samples: &[f32],
    set: &TestSet,
    n: usize,
) -> Result<CurvePoint> {
    let [images, _, height, width] = set.shape;
    let shape = DatasetShape {
        images,
        samples: n,
        annotators: set.raters,
        height,
        width,
    };
    let per_image = evaluate_images(samples, &set.annotations, shape, Prefixes::Last)
        .context("scoring the validation samples")?;
    let last: Vec<&Scores> = per_image
        .iter()
        .filter_map(|per_k| per_k.last().map(|s| &s.scores))
        .collect();
    let of = |f: fn(&Scores) -> f64| Estimate::of(&last.iter().map(|s| f(s)).collect::<Vec<_>>());
    Ok(CurvePoint {
        step,
        seconds,
        images,
        ged: of(|s| s.ged),
        sncc: of(|s| s.sncc),
        dice: of(|s| s.dice),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn estimates_and_the_file_round_trip() {
        let e = Estimate::of(&[1.0, 2.0, 3.0]);
        assert_eq!(e.mean, 2.0);
        // sd 1, n 3: half-width 1.96/√3.
        assert!((e.hi - e.mean - 1.96 / 3f64.sqrt()).abs() < 1e-12);
        assert_eq!(Estimate::of(&[0.5]).lo, 0.5);
        let point = CurvePoint {
            step: 100,
            seconds: 12.5,
            images: 3,
            ged: e,
            sncc: Estimate::of(&[0.8, 0.9]),
            dice: Estimate::of(&[0.7]),
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CURVE_FILE);
        std::fs::write(&path, curve_csv(&[point, point])).unwrap();
        assert_eq!(read_curve(&path).unwrap(), vec![point, point]);
        std::fs::write(&path, "step,loss\n1,2\n").unwrap();
        assert!(read_curve(&path).is_none(), "another header is not a curve");
        std::fs::write(&path, format!("{CURVE_HEADER}\n1,2\n")).unwrap();
        assert!(read_curve(&path).is_none(), "a short row is not a curve");
    }
}
