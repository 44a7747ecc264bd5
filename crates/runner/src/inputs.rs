//! Loading and validating the arrays given to `fmseg evaluate`; every problem is an
//! [`InputError`](crate::input_error::InputError) naming the file.

use std::path::Path;

use anyhow::Result;
use fmseg_data::npy::{NpyArray, NpyData};
use fmseg_metrics::DatasetShape;

use crate::input_error::input_error;

/// Samples and annotations ready for the metrics.
pub struct EvaluationInput {
    /// N×n×H×W soft samples.
    pub samples: Vec<f32>,
    /// N×m×H×W binary annotations.
    pub annotations: Vec<u8>,
    /// The shape.
    pub shape: DatasetShape,
}

fn read(path: &Path) -> Result<NpyArray> {
    NpyArray::read(path).map_err(input_error)
}

/// (N, k, H, W) from a rank-3 or rank-4 shape.
fn as_4d(path: &Path, what: &str, shape: &[usize]) -> Result<[usize; 4]> {
    match *shape {
        [k, h, w] => Ok([1, k, h, w]),
        [n, k, h, w] => Ok([n, k, h, w]),
        _ => Err(input_error(format!(
            "{}: {what} must have rank 4 (N, {}, H, W) or 3, got shape {shape:?}",
            path.display(),
            if what == "samples" { "n" } else { "m" }
        ))),
    }
}

fn multi_index(flat: usize, dims: [usize; 4]) -> [usize; 4] {
    let [_, k, h, w] = dims;
    [
        flat / (k * h * w),
        flat / (h * w) % k,
        flat / w % h,
        flat % w,
    ]
}

/// Reads and checks `--samples` and `--annotations`.
pub fn load_evaluation_input(
    samples_path: &Path,
    annotations_path: &Path,
) -> Result<EvaluationInput> {
    let s = read(samples_path)?;
    let a = read(annotations_path)?;
    let sd = as_4d(samples_path, "samples", &s.shape)?;
    let ad = as_4d(annotations_path, "annotations", &a.shape)?;
    if s.shape.len() != a.shape.len() {
        return Err(input_error(format!(
            "{} has rank {} but {} has rank {}: both must be 4-D (N images) or both 3-D (one image)",
            samples_path.display(),
            s.shape.len(),
            annotations_path.display(),
            a.shape.len()
        )));
    }
    if sd[0] != ad[0] || sd[2..] != ad[2..] {
        return Err(input_error(format!(
            "shapes do not match: {} is {:?} (N, n, H, W) but {} is {:?} (N, m, H, W)",
            samples_path.display(),
            s.shape,
            annotations_path.display(),
            a.shape
        )));
    }
    if sd.contains(&0) || ad[1] == 0 {
        return Err(input_error(format!(
            "{} {:?} / {} {:?}: every dimension must be non-empty",
            samples_path.display(),
            s.shape,
            annotations_path.display(),
            a.shape
        )));
    }
    let samples: Vec<f32> = match s.data {
        NpyData::F32(v) => v,
        NpyData::F64(v) => v.into_iter().map(|x| x as f32).collect(),
        _ => {
            return Err(input_error(format!(
                "{}: samples must be float32 (or float64) in [0, 1], got dtype {}",
                samples_path.display(),
                s.dtype
            )));
        }
    };
    if let Some(i) = samples.iter().position(|v| !(0.0..=1.0).contains(v)) {
        return Err(input_error(format!(
            "{}: value {} at index {:?} is not a probability in [0, 1]",
            samples_path.display(),
            samples[i],
            multi_index(i, sd)
        )));
    }
    let values = a.to_f64();
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(input_error(format!(
            "{}: annotation value {} at index {:?} is not finite",
            annotations_path.display(),
            values[i],
            multi_index(i, ad)
        )));
    }
    let annotations = values.iter().map(|&v| u8::from(v > 0.5)).collect();
    Ok(EvaluationInput {
        samples,
        annotations,
        shape: DatasetShape {
            images: sd[0],
            samples: sd[1],
            annotators: ad[1],
            height: sd[2],
            width: sd[3],
        },
    })
}
