//! The cells of an experiment: every (dataset, method variant, seed) with its resolved
//! configuration and keys (`super::key`), and `plan.json`, which lists them for `fmseg collect`.
//!
//! Two keys per cell: the training key (method, network, loop settings, seed, training data —
//! not the log/checkpoint periods, which do not change results) names `models/<key>/` and is
//! shared by cells that differ only in sampling settings (guidance, solver, NFE, EMA vs raw
//! weights, dropout at sampling); the cell key adds the sampling settings, the test set and the
//! largest sample count, and names `cells/<key>/`. The device is in neither.

use fmseg_model::experiment::{DataShape, TrainingSpec};
use fmseg_model::training::TrainError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ablation::{Variant, set_path, variants};
use super::counts::SampleCounts;
use super::data::LoadedDataset;
use super::key::key_of;
use super::method::{MethodConfig, ResolvedMethod};
use super::spec::{FigureSpec, MethodEntry};
use super::spec_file::{ExperimentError, SpecFile};
use crate::backend::DeviceChoice;
use crate::report::rows::{MethodColumn, RowIdentity};

/// One planned cell as `plan.json` and `cell.json` list it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedCell {
    /// Cell key.
    pub key: String,
    /// Training key (`None` for the oracle).
    pub train_key: Option<String>,
    /// What samples.
    pub method: MethodColumn,
    /// Table label.
    pub label: String,
    /// Ablation values, `field=value` joined by `;` (empty for a plain method block).
    pub variant: String,
    /// First variant of its method block (drawn in the per-method figures).
    pub primary: bool,
    /// Dataset id.
    pub dataset: String,
    /// Training and sampling seed.
    pub seed: u64,
}

/// A dataset as `plan.json` lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlannedDataset {
    /// Id.
    pub id: String,
    /// What determines it.
    pub fingerprint: Value,
    /// Where it was read from.
    #[serde(default)]
    pub source: Value,
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
    pub spec: Value,
    /// Sample counts scored.
    pub sample_counts: SampleCounts,
    /// Figure settings.
    pub figures: FigureSpec,
    /// Datasets.
    pub datasets: Vec<PlannedDataset>,
    /// Cells in plan order.
    pub cells: Vec<PlannedCell>,
}

impl PlannedCell {
    /// What every long row of this cell says about where it came from.
    pub fn identity(&self) -> RowIdentity<'_> {
        RowIdentity {
            method: self.method,
            variant: &self.variant,
            label: &self.label,
            dataset: &self.dataset,
            seed: self.seed,
        }
    }
}

/// What a cell runs.
#[derive(Debug, Clone)]
pub enum CellKind {
    /// Draws from the known answer distribution (synthetic datasets).
    Oracle,
    /// A trained method.
    Model(Box<ResolvedMethod>),
}

/// One cell of the experiment.
#[derive(Debug, Clone)]
pub struct Cell {
    /// Its identity, as `plan.json` lists it.
    pub planned: PlannedCell,
    /// Index into the experiment's datasets.
    pub dataset: usize,
    /// Samples drawn per image (the largest sample count).
    pub samples: usize,
    /// What runs.
    pub kind: CellKind,
    /// The resolved configuration the key hashes (also written to the manifest).
    pub resolved: Value,
    /// The learning curve to score before the cell is done (`learning_curve:`, model cells).
    pub curve: Option<CurvePlan>,
}

/// A cell's learning curve: its model's checkpoints at multiples of `every` steps, each scored
/// on the dataset's validation images with `samples` samples per image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurvePlan {
    /// Steps between scored checkpoints.
    pub every: u64,
    /// Samples per validation image.
    pub samples: usize,
}

impl Cell {
    /// The method, when the cell trains one.
    pub fn method(&self) -> Option<&MethodConfig> {
        match &self.kind {
            CellKind::Oracle => None,
            CellKind::Model(r) => Some(&r.method),
        }
    }
}

/// A method block after the grid: its `training:` block with `seed` set, resolved for `shape`
/// (errors name `methods[i]...` with the file's line).
pub fn resolve_block(
    file: &SpecFile,
    block: usize,
    value: &serde_yaml::Value,
    seed: u64,
    shape: DataShape,
) -> Result<(MethodEntry, ResolvedMethod), ExperimentError> {
    let prefix = format!("methods[{block}]");
    let entry: MethodEntry =
        serde_yaml::from_value(value.clone()).map_err(|e| file.invalid(&prefix, e.to_string()))?;
    let mut training_value = entry.training.clone();
    set_path(&mut training_value, "seed", serde_yaml::Value::from(seed));
    let devices = take_devices(&mut training_value)
        .map_err(|e| file.invalid(&format!("{prefix}.training.devices"), e))?;
    let training: TrainingSpec = serde_yaml::from_value(training_value)
        .map_err(|e| file.invalid(&format!("{prefix}.training"), e.to_string()))?;
    let mut resolved = MethodConfig::resolve(&entry, &training, shape)
        .map_err(|e| file.field_error(e.within(&prefix)))?;
    if !devices.is_empty()
        && let Err(TrainError::Config { message, .. }) =
            resolved.training.check_devices(devices.len())
    {
        return Err(file.invalid(&format!("{prefix}.training.devices"), message));
    }
    resolved.devices = devices;
    Ok((entry, resolved))
}

/// [`resolve_block`] for a variant of the grid: when the variant fails but its unmodified block
/// resolves, the ablation's values are at fault, and the error names `ablation.axes` and the
/// variant instead of the method block the user did not change.
pub fn resolve_variant(
    file: &SpecFile,
    variant: &Variant,
    seed: u64,
    shape: DataShape,
) -> Result<(MethodEntry, ResolvedMethod), ExperimentError> {
    resolve_block(file, variant.block, &variant.value, seed, shape).map_err(|e| {
        let plain = &file.spec.methods[variant.block];
        if variant.variant.is_empty()
            || resolve_block(file, variant.block, plain, seed, shape).is_err()
        {
            return e;
        }
        let cause = match &e {
            ExperimentError::Invalid { field, message, .. } => format!("{field}: {message}"),
            other => other.to_string(),
        };
        file.invalid(
            "ablation.axes",
            format!(
                "variant '{}' of '{}': {cause}",
                variant.variant, variant.label
            ),
        )
    })
}

/// Removes `devices:` from a `training:` mapping and parses it (a list of device names).
fn take_devices(training: &mut serde_yaml::Value) -> Result<Vec<DeviceChoice>, String> {
    let Some(value) = training
        .as_mapping_mut()
        .and_then(|m| m.remove(serde_yaml::Value::from("devices")))
    else {
        return Ok(Vec::new());
    };
    let devices: Vec<DeviceChoice> = serde_yaml::from_value(value).map_err(|e| e.to_string())?;
    if devices.is_empty() {
        return Err("give at least one device, or leave the key out".into());
    }
    Ok(devices)
}

/// The training key's JSON: method, model, loop settings without the log/checkpoint periods,
/// and the data.
fn train_resolved(r: &ResolvedMethod, data: &Value) -> Value {
    let mut training = serde_json::to_value(&r.training).unwrap_or_default();
    if let Value::Object(m) = &mut training {
        m.remove("log_every");
        m.remove("checkpoint_every");
    }
    let mut key = json!({
        "method": r.method.id().as_str(),
        "model": r.method.model_json(),
        "training": training,
        "data": data,
    });
    // The number of data-parallel shards changes the draws (not which devices hold them).
    if r.devices.len() > 1 {
        key["shards"] = json!(r.devices.len());
    }
    key
}

/// The learning curve of `label` on dataset `d` (`learning_curve:`), or why it cannot be
/// scored: the dataset has no validation images, or `every` is not a multiple of the method's
/// checkpoint period.
fn curve_plan(
    file: &SpecFile,
    d: usize,
    data: &LoadedDataset,
    method: &ResolvedMethod,
    label: &str,
) -> Result<Option<CurvePlan>, ExperimentError> {
    let Some(spec) = &file.spec.learning_curve else {
        return Ok(None);
    };
    if data.validation.is_none() {
        let synthetic = file.spec.datasets[d].synthetic.is_some();
        return Err(if synthetic {
            file.invalid(
                &format!("datasets[{d}].synthetic.validation_count"),
                "learning_curve needs validation images: give validation_count (and \
                 validation_start, default 20000)",
            )
        } else {
            file.invalid(
                "learning_curve",
                format!(
                    "dataset '{}' has no validation images: give datasets[{d}].split.validation \
                     (an index range beside `train` and `test`)",
                    data.id
                ),
            )
        });
    }
    if spec.samples == 0 {
        return Err(file.invalid("learning_curve.samples", "must be at least 1"));
    }
    let period = method.training.checkpoint_every;
    if period == 0 {
        return Err(file.invalid(
            "learning_curve",
            format!(
                "{label}: training.checkpoint_every is 0, so there are no checkpoints to score"
            ),
        ));
    }
    let every = spec.every.unwrap_or(period);
    if every == 0 || !every.is_multiple_of(period) {
        return Err(file.invalid(
            "learning_curve.every",
            format!(
                "{every}: must be a multiple of {label}'s training.checkpoint_every ({period})"
            ),
        ));
    }
    Ok(Some(CurvePlan {
        every,
        samples: spec.samples,
    }))
}

/// Every cell of the experiment, datasets outermost, then variants, then seeds; oracle cells
/// (synthetic datasets, when `oracle: true`) first within their dataset.
pub fn plan(file: &SpecFile, datasets: &[LoadedDataset]) -> Result<Vec<Cell>, ExperimentError> {
    let spec = &file.spec;
    if spec.seeds.is_empty() {
        return Err(file.invalid("seeds", "give at least one seed"));
    }
    if let Some(seed) = spec
        .seeds
        .iter()
        .enumerate()
        .find_map(|(i, s)| spec.seeds[..i].contains(s).then_some(s))
    {
        return Err(file.invalid(
            "seeds",
            format!("seed {seed} is listed twice (it would repeat every row)"),
        ));
    }
    let n = spec.sample_counts.max();
    let variants = variants(file)?;
    let mut cells = Vec::new();
    for (d, data) in datasets.iter().enumerate() {
        let shape = data.shape();
        let [images, _, h, w] = data.test.shape;
        if let Some(message) = crate::memory::refusal(
            &format!("sample_counts up to {n}"),
            crate::memory::Need::elements(&[images, n, h, w], 4).times(2),
            &format!(
                "{images} test images of '{}' × {n} samples × {h}×{w} float32, twice: the \
                 samples and the scored copy",
                data.id
            ),
        ) {
            return Err(file.invalid("sample_counts", message));
        }
        if spec.oracle && data.test.oracles.is_some() {
            for &seed in &spec.seeds {
                let resolved = json!({
                    "method": "oracle", "data": data.fingerprint, "seed": seed, "samples": n,
                });
                cells.push(Cell {
                    planned: PlannedCell {
                        key: key_of(&resolved),
                        train_key: None,
                        method: MethodColumn::Oracle,
                        label: "oracle".into(),
                        variant: String::new(),
                        primary: true,
                        dataset: data.id.clone(),
                        seed,
                    },
                    dataset: d,
                    samples: n,
                    kind: CellKind::Oracle,
                    resolved,
                    curve: None,
                });
            }
        }
        for v in &variants {
            for &seed in &spec.seeds {
                let (_, method) = resolve_variant(file, v, seed, shape)?;
                let train = train_resolved(&method, &data.fingerprint);
                let train_key = key_of(&train);
                let mut resolved = json!({
                    "train_key": train_key,
                    "train": train,
                    "sampling": method.method.sampling_json(),
                    "seed": seed,
                    "samples": n,
                });
                let curve = curve_plan(file, d, data, &method, &v.label)?;
                if let (Some(c), Some((_, validation))) = (curve, &data.validation) {
                    resolved["curve"] = json!({
                        "every": c.every, "samples": c.samples, "validation": validation,
                    });
                }
                cells.push(Cell {
                    planned: PlannedCell {
                        key: key_of(&resolved),
                        train_key: Some(train_key),
                        method: MethodColumn::Model(method.method.id()),
                        label: v.label.clone(),
                        variant: v.variant.clone(),
                        primary: v.primary,
                        dataset: data.id.clone(),
                        seed,
                    },
                    dataset: d,
                    samples: n,
                    kind: CellKind::Model(Box::new(method)),
                    resolved,
                    curve,
                });
            }
        }
    }
    Ok(cells)
}
