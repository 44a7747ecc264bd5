//! The cells of an experiment: every (dataset, method variant, seed) with its resolved
//! configuration and a key derived from it. A variant is a `methods[i]` block, or one grid point
//! of the ablation applied to it. Two keys per cell: the training key (method, network, loop
//! settings, seed, training data — not the log/checkpoint periods, which do not change results)
//! names `models/<key>/` and is shared by cells that differ only in sampling settings (guidance,
//! solver, NFE, EMA vs raw weights, dropout at sampling); the cell key adds the sampling settings,
//! the test set and the largest sample count, and names `cells/<key>/`. Keys are the first 12 hex
//! digits of the sha256 of the canonical (key-sorted) JSON, so an edit of the YAML reruns exactly
//! the cells whose resolved configuration changed.

use fmseg_baselines::experiment::{BaselineConfig, resolve_baseline};
use fmseg_model::MethodId;
use fmseg_model::experiment::{DataShape, ExperimentError, ModelSpec, TrainingSpec, resolve_flow};
use fmseg_model::flow::FlowMatching;
use fmseg_model::ode::Solver;
use fmseg_model::training::TrainConfig;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::data::LoadedDataset;
use super::spec::{MethodEntry, SamplingSpec, SpecError, SpecFile, Weights};

/// How a flow cell samples (paper §1.2; defaults: midpoint, 100 steps, w = 0.3, EMA).
#[derive(Debug, Clone, PartialEq)]
pub struct FlowSampling {
    /// ODE solver.
    pub solver: Solver,
    /// Solver steps.
    pub steps: usize,
    /// dopri5 tolerance.
    pub tol: f64,
    /// CFG scale.
    pub guidance: f64,
    /// EMA or raw weights.
    pub weights: Weights,
    /// Dropout kept active while sampling.
    pub dropout_at_sampling: bool,
    /// Skip the 1/255 quantisation.
    pub unquantised: bool,
    /// States per network pass.
    pub max_batch: usize,
}

/// What a cell runs.
#[derive(Debug, Clone)]
pub enum CellKind {
    /// Draws from the known answer distribution (synthetic datasets).
    Oracle,
    /// The flow model.
    Flow {
        /// Network and CFG drop.
        objective: FlowMatching,
        /// Loop settings.
        training: TrainConfig,
        /// Sampling settings.
        sampling: FlowSampling,
    },
    /// A baseline.
    Baseline {
        /// The model.
        config: BaselineConfig,
        /// Loop settings.
        training: TrainConfig,
        /// EMA or raw weights.
        weights: Weights,
        /// CIMD sampling steps override.
        steps: Option<usize>,
    },
}

/// One cell of the experiment.
#[derive(Debug, Clone)]
pub struct Cell {
    /// Cell key (12 hex digits).
    pub key: String,
    /// Training key, `None` for the oracle.
    pub train_key: Option<String>,
    /// Method id (`flow`, `prob-unet`, `phiseg`, `cimd`, `oracle`).
    pub method: String,
    /// Row label in tables and figures.
    pub label: String,
    /// Ablation values, `field=value` joined by `;` (empty for a plain method block).
    pub variant: String,
    /// Whether this is the first variant of its method block (used for the per-method figures).
    pub primary: bool,
    /// Index into the experiment's datasets.
    pub dataset: usize,
    /// Dataset id.
    pub dataset_id: String,
    /// Training and sampling seed.
    pub seed: u64,
    /// Samples drawn per image (the largest sample count).
    pub samples: usize,
    /// What runs.
    pub kind: CellKind,
    /// The resolved configuration the key hashes (also written to the manifest).
    pub resolved: Value,
}

impl Cell {
    /// The cell as `plan.json` and `cell.json` list it.
    pub fn planned(&self) -> super::collect::PlannedCell {
        super::collect::PlannedCell {
            key: self.key.clone(),
            train_key: self.train_key.clone(),
            method: self.method.clone(),
            label: self.label.clone(),
            variant: self.variant.clone(),
            primary: self.primary,
            dataset: self.dataset_id.clone(),
            seed: self.seed,
        }
    }
}

/// A method block after the ablation grid: its YAML, label and ablation values.
#[derive(Debug, Clone)]
pub struct Variant {
    /// Index of the `methods[i]` block it came from.
    pub block: usize,
    /// The block with the grid values set.
    pub value: serde_yaml::Value,
    /// Label.
    pub label: String,
    /// `field=value;...`.
    pub variant: String,
    /// First variant of its block.
    pub primary: bool,
}

/// The canonical JSON text of `v` (object keys sorted at every level).
pub fn canonical(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let body: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&map[k])))
                .collect();
            format!("{{{}}}", body.join(","))
        }
        Value::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(canonical).collect::<Vec<_>>().join(",")
            )
        }
        other => other.to_string(),
    }
}

/// The 12-hex-digit key of a resolved configuration.
pub fn key_of(v: &Value) -> String {
    let digest = Sha256::digest(canonical(v).as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

fn yaml_text(v: &serde_yaml::Value) -> String {
    match v {
        serde_yaml::Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// Expands the ablation grid over the method blocks.
pub fn variants(file: &SpecFile) -> Result<Vec<Variant>, SpecError> {
    let spec = &file.spec;
    if spec.methods.is_empty() {
        return Err(file.invalid("methods", "at least one method is needed"));
    }
    let label_of = |i: usize, v: &serde_yaml::Value| -> String {
        v.get("label")
            .or_else(|| v.get("method"))
            .map(yaml_text)
            .unwrap_or_else(|| format!("method-{i}"))
    };
    let mut out = Vec::new();
    let target = match &spec.ablation {
        None => None,
        Some(a) => {
            let idx = match &a.method {
                None => 0,
                Some(name) => (0..spec.methods.len())
                    .find(|&i| label_of(i, &spec.methods[i]) == *name)
                    .or_else(|| {
                        (0..spec.methods.len()).find(|&i| {
                            spec.methods[i].get("method").map(yaml_text).as_deref()
                                == Some(name.as_str())
                        })
                    })
                    .ok_or_else(|| {
                        file.invalid("ablation.method", format!("no method block '{name}'"))
                    })?,
            };
            if a.axes.is_empty() {
                return Err(file.invalid("ablation.axes", "at least one axis is needed"));
            }
            for (j, axis) in a.axes.iter().enumerate() {
                if axis.values.is_empty() {
                    return Err(file.invalid(&format!("ablation.axes[{j}].values"), "empty"));
                }
                let first = axis.field.split('.').next().unwrap_or_default();
                if !matches!(first, "model" | "training" | "sampling") {
                    return Err(file.invalid(
                        &format!("ablation.axes[{j}].field"),
                        format!(
                            "'{}': must start with model., training. or sampling.",
                            axis.field
                        ),
                    ));
                }
            }
            Some((idx, a))
        }
    };
    for (i, block) in spec.methods.iter().enumerate() {
        let base = label_of(i, block);
        match target {
            Some((idx, ablation)) if idx == i => {
                let mut grid: Vec<Vec<(String, serde_yaml::Value)>> = vec![Vec::new()];
                for axis in &ablation.axes {
                    grid = grid
                        .into_iter()
                        .flat_map(|point| {
                            axis.values.iter().map(move |v| {
                                let mut p = point.clone();
                                p.push((axis.field.clone(), v.clone()));
                                p
                            })
                        })
                        .collect();
                }
                for (g, point) in grid.into_iter().enumerate() {
                    let mut value = block.clone();
                    for (field, v) in &point {
                        set_path(&mut value, field, v.clone());
                    }
                    let short: Vec<String> = point
                        .iter()
                        .map(|(f, v)| {
                            format!("{}={}", f.rsplit('.').next().unwrap_or(f), yaml_text(v))
                        })
                        .collect();
                    let long: Vec<String> = point
                        .iter()
                        .map(|(f, v)| format!("{f}={}", yaml_text(v)))
                        .collect();
                    out.push(Variant {
                        block: i,
                        value,
                        label: format!("{base} ({})", short.join(", ")),
                        variant: long.join(";"),
                        primary: g == 0,
                    });
                }
            }
            _ => out.push(Variant {
                block: i,
                value: block.clone(),
                label: base,
                variant: String::new(),
                primary: true,
            }),
        }
    }
    let mut seen = std::collections::HashSet::new();
    for v in &out {
        if !seen.insert(v.label.clone()) {
            return Err(file.invalid(
                &format!("methods[{}].label", v.block),
                format!(
                    "label '{}' is used twice; give each block a unique `label`",
                    v.label
                ),
            ));
        }
        if v.label.contains(['\n', '"']) {
            return Err(file.invalid(
                &format!("methods[{}].label", v.block),
                "no quotes or newlines",
            ));
        }
    }
    Ok(out)
}

fn set_path(value: &mut serde_yaml::Value, field: &str, v: serde_yaml::Value) {
    let mut cur = value;
    let parts: Vec<&str> = field.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        if !cur.is_mapping() {
            *cur = serde_yaml::Value::Mapping(serde_yaml::Mapping::new());
        }
        let serde_yaml::Value::Mapping(map) = cur else {
            return;
        };
        let key = serde_yaml::Value::from(*part);
        if i + 1 == parts.len() {
            map.insert(key, v);
            return;
        }
        cur = map
            .entry(key)
            .or_insert_with(|| serde_yaml::Value::Mapping(serde_yaml::Mapping::new()));
    }
}

fn experiment_error(file: &SpecFile, block: usize, e: ExperimentError) -> SpecError {
    match e {
        ExperimentError::Invalid { field, message, .. } => {
            file.invalid(&format!("methods[{block}].{field}"), message)
        }
        ExperimentError::Parse { message, .. } => {
            file.invalid(&format!("methods[{block}]"), message)
        }
        ExperimentError::Read { source, .. } => {
            file.invalid(&format!("methods[{block}]"), source.to_string())
        }
    }
}

/// Every cell of the experiment, datasets outermost, then variants, then seeds; oracle cells
/// (synthetic datasets, when `oracle: true`) first within their dataset.
pub fn plan(file: &SpecFile, datasets: &[LoadedDataset]) -> Result<Vec<Cell>, SpecError> {
    let spec = &file.spec;
    let mut counts = spec.sample_counts.clone();
    counts.sort_unstable();
    counts.dedup();
    if counts.first() == Some(&0) || counts.is_empty() {
        return Err(file.invalid("sample_counts", "give counts of at least 1"));
    }
    if spec.seeds.is_empty() {
        return Err(file.invalid("seeds", "give at least one seed"));
    }
    let n = counts.last().copied().unwrap_or(1);
    let variants = variants(file)?;
    let mut cells = Vec::new();
    for (d, data) in datasets.iter().enumerate() {
        let shape = DataShape {
            channels: data.channels(),
            size: data.size(),
            train_count: data.train_count,
        };
        if spec.oracle && data.test.oracles.is_some() {
            for &seed in &spec.seeds {
                let resolved = json!({
                    "method": "oracle", "data": data.fingerprint, "seed": seed, "samples": n,
                });
                cells.push(Cell {
                    key: key_of(&resolved),
                    train_key: None,
                    method: "oracle".into(),
                    label: "oracle".into(),
                    variant: String::new(),
                    primary: true,
                    dataset: d,
                    dataset_id: data.id.clone(),
                    seed,
                    samples: n,
                    kind: CellKind::Oracle,
                    resolved,
                });
            }
        }
        for v in &variants {
            let i = v.block;
            let entry: MethodEntry = serde_yaml::from_value(v.value.clone())
                .map_err(|e| file.invalid(&format!("methods[{i}]"), e.to_string()))?;
            let method = MethodId::parse(&entry.method).ok_or_else(|| {
                file.invalid(
                    &format!("methods[{i}].method"),
                    format!(
                        "'{}': expected flow, prob-unet, phiseg or cimd",
                        entry.method
                    ),
                )
            })?;
            for &seed in &spec.seeds {
                let mut training_value = entry.training.clone();
                set_path(&mut training_value, "seed", serde_yaml::Value::from(seed));
                let training: TrainingSpec = serde_yaml::from_value(training_value)
                    .map_err(|e| file.invalid(&format!("methods[{i}].training"), e.to_string()))?;
                let (kind, model_json, train_cfg, sampling_json) =
                    resolve_method(file, i, method, &entry, &training, shape)?;
                let mut key_training = serde_json::to_value(&train_cfg).unwrap_or_default();
                if let Value::Object(m) = &mut key_training {
                    m.remove("log_every");
                    m.remove("checkpoint_every");
                }
                let train_resolved = json!({
                    "method": method.as_str(),
                    "model": model_json,
                    "training": key_training,
                    "data": data.fingerprint,
                });
                let train_key = key_of(&train_resolved);
                let resolved = json!({
                    "train_key": train_key,
                    "train": train_resolved,
                    "sampling": sampling_json,
                    "seed": seed,
                    "samples": n,
                });
                cells.push(Cell {
                    key: key_of(&resolved),
                    train_key: Some(train_key),
                    method: method.as_str().into(),
                    label: v.label.clone(),
                    variant: v.variant.clone(),
                    primary: v.primary,
                    dataset: d,
                    dataset_id: data.id.clone(),
                    seed,
                    samples: n,
                    kind,
                    resolved,
                });
            }
        }
    }
    Ok(cells)
}

type Resolved = (CellKind, Value, TrainConfig, Value);

fn resolve_method(
    file: &SpecFile,
    i: usize,
    method: MethodId,
    entry: &MethodEntry,
    training: &TrainingSpec,
    shape: DataShape,
) -> Result<Resolved, SpecError> {
    let s: &SamplingSpec = &entry.sampling;
    let field = |f: &str| format!("methods[{i}].sampling.{f}");
    let weights = s.weights.unwrap_or(Weights::Ema);
    if s.max_batch == Some(0) {
        return Err(file.invalid(&field("max_batch"), "must be at least 1"));
    }
    if method == MethodId::Flow {
        let model: ModelSpec = match &entry.model {
            Some(m) => serde_yaml::from_value(m.clone())
                .map_err(|e| file.invalid(&format!("methods[{i}].model"), e.to_string()))?,
            None => return Err(file.invalid(&format!("methods[{i}].model"), "missing")),
        };
        let (objective, train_cfg) = resolve_flow(&model, training, shape, &file.path)
            .map_err(|e| experiment_error(file, i, e))?;
        let solver_name = s.solver.clone().unwrap_or_else(|| "midpoint".into());
        let solver = Solver::parse(&solver_name).ok_or_else(|| {
            file.invalid(
                &field("solver"),
                format!("'{solver_name}': expected euler, midpoint, heun, rk4 or dopri5"),
            )
        })?;
        let sampling = FlowSampling {
            solver,
            steps: s.steps.unwrap_or(100),
            tol: s.tol.unwrap_or(1e-5),
            guidance: s.guidance.unwrap_or(0.3),
            weights,
            dropout_at_sampling: s.dropout_at_sampling.unwrap_or(false),
            unquantised: s.unquantised.unwrap_or(false),
            max_batch: s.max_batch.unwrap_or(64),
        };
        if sampling.steps == 0 {
            return Err(file.invalid(&field("steps"), "must be at least 1"));
        }
        if !sampling.guidance.is_finite() || sampling.guidance < -1.0 {
            return Err(file.invalid(&field("guidance"), "must be a finite number ≥ -1"));
        }
        if sampling.tol.is_nan() || sampling.tol <= 0.0 {
            return Err(file.invalid(&field("tol"), "must be positive"));
        }
        let model_json = json!({
            "unet": objective.unet,
            "cfg_drop_prob": objective.cfg_drop_prob,
            "cfg_drop": objective.cfg_drop,
        });
        let sampling_json = json!({
            "solver": solver_name,
            "steps": sampling.steps,
            "tol": if solver == Solver::Dopri5 { json!(sampling.tol) } else { Value::Null },
            "guidance": sampling.guidance,
            "weights": weights,
            "dropout_at_sampling": sampling.dropout_at_sampling,
            "unquantised": sampling.unquantised,
        });
        return Ok((
            CellKind::Flow {
                objective,
                training: train_cfg.clone(),
                sampling,
            },
            model_json,
            train_cfg,
            sampling_json,
        ));
    }
    for (name, set) in [
        ("solver", s.solver.is_some()),
        ("tol", s.tol.is_some()),
        ("guidance", s.guidance.is_some()),
        ("dropout_at_sampling", s.dropout_at_sampling.is_some()),
        ("unquantised", s.unquantised.is_some()),
    ] {
        if set {
            return Err(file.invalid(
                &field(name),
                format!("applies to the flow model, not {method}"),
            ));
        }
    }
    let (config, train_cfg) =
        resolve_baseline(method, entry.model.as_ref(), training, shape, &file.path)
            .map_err(|e| experiment_error(file, i, e))?;
    let model_json = match &config {
        BaselineConfig::ProbUnet(c) => serde_json::to_value(c),
        BaselineConfig::Phiseg(c) => serde_json::to_value(c),
        BaselineConfig::Cimd(c) => serde_json::to_value(c),
    }
    .unwrap_or_default();
    if let Some(steps) = s.steps {
        match &config {
            BaselineConfig::Cimd(c) if steps >= 1 && steps <= c.timesteps => {}
            BaselineConfig::Cimd(c) => {
                return Err(file.invalid(
                    &field("steps"),
                    format!(
                        "{steps}: CIMD sampling steps must be in 1..={} (T)",
                        c.timesteps
                    ),
                ));
            }
            _ => {
                return Err(file.invalid(
                    &field("steps"),
                    format!("applies to flow and cimd, not {method}"),
                ));
            }
        }
    }
    let sampling_json = json!({ "weights": weights, "steps": s.steps });
    Ok((
        CellKind::Baseline {
            config,
            training: train_cfg.clone(),
            weights,
            steps: s.steps,
        },
        model_json,
        train_cfg,
        sampling_json,
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_ignore_object_key_order_and_change_with_any_value() {
        let a = json!({"b": 1, "a": {"y": [1, 2], "x": "s"}});
        let b = json!({"a": {"x": "s", "y": [1, 2]}, "b": 1});
        assert_eq!(canonical(&a), r#"{"a":{"x":"s","y":[1,2]},"b":1}"#);
        assert_eq!(key_of(&a), key_of(&b));
        assert_eq!(key_of(&a).len(), 12);
        assert_ne!(
            key_of(&a),
            key_of(&json!({"b": 2, "a": {"y": [1, 2], "x": "s"}}))
        );
        assert_ne!(
            key_of(&a),
            key_of(&json!({"b": 1, "a": {"y": [2, 1], "x": "s"}}))
        );
    }

    #[test]
    fn set_path_creates_and_replaces_nested_keys() {
        let mut v: serde_yaml::Value = serde_yaml::from_str("sampling: { steps: 4 }").unwrap();
        set_path(&mut v, "sampling.guidance", serde_yaml::Value::from(1.5));
        set_path(&mut v, "training.seed", serde_yaml::Value::from(3));
        set_path(&mut v, "sampling.steps", serde_yaml::Value::from(8));
        let text = serde_yaml::to_string(&v).unwrap();
        assert!(
            text.contains("guidance: 1.5") && text.contains("seed: 3") && text.contains("steps: 8")
        );
    }
}
