//! The method registry: every method of the paper's comparison as one [`MethodConfig`], resolved
//! from an experiment's method block, trained, loaded from its model folder as a
//! [`SegmentationSampler`] and described by its cache-key JSON. `fmseg train`, `fmseg sample`
//! and `fmseg run` all go through it, so adding a method touches this type only.
//!
//! Defaults of the flow sampler are the paper's (§1.2): midpoint, 100 steps, w = 0.3, EMA
//! weights, the official 1/255 decode.

use std::path::Path;

use burn::tensor::Device;
use fmseg_baselines::BaselineConfig;
use fmseg_baselines::common::passes::DEFAULT_MAX_BATCH;
use fmseg_baselines::experiment::resolve_baseline;
use fmseg_data::FieldError;
use fmseg_model::checkpoint_load::WeightSelection;
use fmseg_model::dataset::TrainSource;
use fmseg_model::experiment::{DataShape, ModelSpec, TrainingSpec, resolve_flow};
use fmseg_model::flow::FlowMatching;
use fmseg_model::flow::load::read_objective;
use fmseg_model::flow::sampling::{Decode, FlowSamplerConfig};
use fmseg_model::folder::{FolderError, Snapshot, folder_method};
use fmseg_model::ode::SolverConfig;
use fmseg_model::precision::Precision;
use fmseg_model::training::{TrainConfig, TrainError, TrainSummary, train_on};
use fmseg_model::{MethodId, SegmentationSampler, Solver};
use serde_json::{Value, json};
use thiserror::Error;

use super::spec::{MethodEntry, SamplingSpec};
use crate::backend::DeviceChoice;

/// A method with its model and sampling settings, ready to train and sample.
#[derive(Debug, Clone, PartialEq)]
pub enum MethodConfig {
    /// Conditional flow matching (the paper's method).
    Flow {
        /// Network and CFG condition drop.
        objective: FlowMatching,
        /// Solver, guidance, decode.
        sampling: FlowSamplerConfig,
        /// EMA or raw weights.
        weights: WeightSelection,
    },
    /// Prob-UNet, PHiSeg or CIMD.
    Baseline {
        /// The model as trained.
        config: BaselineConfig,
        /// EMA or raw weights.
        weights: WeightSelection,
        /// CIMD's sampling-step override (checked at resolution, applied when loading).
        steps: Option<usize>,
        /// Rows per network pass when sampling (`sampling.max_batch`, default 64).
        max_batch: usize,
    },
}

/// A method block resolved: the method and its training-loop settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedMethod {
    /// The method.
    pub method: MethodConfig,
    /// The loop settings.
    pub training: TrainConfig,
    /// `training.devices`: data-parallel training over these devices (the first holds the
    /// model and the optimiser); empty: the run's device.
    pub devices: Vec<DeviceChoice>,
}

/// Why a model folder could not be turned into a sampler.
#[derive(Debug, Error)]
pub enum LoadError {
    /// The folder's files are missing or malformed.
    #[error(transparent)]
    Folder(#[from] FolderError),
    /// The flow weights do not fit the network.
    #[error(transparent)]
    Flow(#[from] fmseg_model::flow::load::LoadError),
}

/// The flow sampler settings of a `sampling:` block or of `fmseg sample`'s flags (paper
/// defaults for absent keys); errors name the key.
pub fn flow_sampling(s: &SamplingSpec) -> Result<FlowSamplerConfig, FieldError> {
    let solver = s.solver.unwrap_or(Solver::Midpoint);
    let steps = s.steps.unwrap_or(100);
    let tol = s.tol.unwrap_or(1e-5);
    let guidance = s.guidance.unwrap_or(0.3);
    if steps == 0 {
        return Err(FieldError::new("steps", "must be at least 1"));
    }
    if !guidance.is_finite() || guidance < -1.0 {
        return Err(FieldError::new("guidance", "must be a finite number ≥ -1"));
    }
    if tol.is_nan() || tol <= 0.0 {
        return Err(FieldError::new("tol", "must be positive"));
    }
    let mut solver = SolverConfig::fixed(solver, steps);
    solver.atol = tol;
    solver.rtol = tol;
    Ok(FlowSamplerConfig {
        solver,
        guidance,
        max_batch: s.max_batch.unwrap_or(DEFAULT_MAX_BATCH),
        decode: if s.unquantised.unwrap_or(false) {
            Decode::Unquantised
        } else {
            Decode::Quantised
        },
        dropout_at_sampling: s.dropout_at_sampling.unwrap_or(false),
        precision: s.precision.unwrap_or_default(),
    })
}

/// Refuses the flow-only sampling keys for a baseline.
fn refuse_flow_keys(s: &SamplingSpec, method: MethodId) -> Result<(), FieldError> {
    for (name, set) in [
        ("solver", s.solver.is_some()),
        ("tol", s.tol.is_some()),
        ("guidance", s.guidance.is_some()),
        ("dropout_at_sampling", s.dropout_at_sampling.is_some()),
        ("unquantised", s.unquantised.is_some()),
        (
            "precision",
            s.precision.is_some_and(|p| p != Precision::F32),
        ),
    ] {
        if set {
            return Err(FieldError::new(
                name,
                format!("applies to the flow model, not {method}"),
            ));
        }
    }
    Ok(())
}

impl MethodConfig {
    /// Resolves a method block (its `training:` already parsed) for data of `shape`. Errors name
    /// the field relative to the block (`model.channel_mult`, `sampling.steps`).
    pub fn resolve(
        entry: &MethodEntry,
        training: &TrainingSpec,
        shape: DataShape,
    ) -> Result<ResolvedMethod, FieldError> {
        let s = &entry.sampling;
        let weights = s.weights.unwrap_or_default();
        if s.max_batch == Some(0) {
            return Err(FieldError::new("sampling.max_batch", "must be at least 1"));
        }
        if entry.method == MethodId::Flow {
            let model: ModelSpec = match &entry.model {
                Some(m) => serde_yaml::from_value(m.clone())
                    .map_err(|e| FieldError::new("model", e.to_string()))?,
                None => return Err(FieldError::new("model", "missing")),
            };
            let (objective, training) = resolve_flow(&model, training, shape)?;
            let sampling = flow_sampling(s).map_err(|e| e.within("sampling"))?;
            let method = Self::Flow {
                objective,
                sampling,
                weights,
            };
            return Ok(ResolvedMethod {
                method,
                training,
                devices: Vec::new(),
            });
        }
        refuse_flow_keys(s, entry.method).map_err(|e| e.within("sampling"))?;
        let (config, training) =
            resolve_baseline(entry.method, entry.model.as_ref(), training, shape)?;
        if let Some(steps) = s.steps {
            config
                .with_sampling_steps(steps)
                .map_err(|m| FieldError::new("sampling.steps", m))?;
        }
        let method = Self::Baseline {
            config,
            weights,
            steps: s.steps,
            max_batch: s.max_batch.unwrap_or(DEFAULT_MAX_BATCH),
        };
        Ok(ResolvedMethod {
            method,
            training,
            devices: Vec::new(),
        })
    }

    /// The method of a trained model folder with the given sampling settings (`fmseg sample`):
    /// the flow model samples with `flow`; a baseline's config comes from its `config.json`,
    /// with the step override applied (refused for methods without one) and `flow.max_batch`
    /// as its pass bound.
    pub fn from_folder(
        dir: &Path,
        flow: FlowSamplerConfig,
        weights: WeightSelection,
        steps: Option<usize>,
    ) -> Result<Self, LoadError> {
        match folder_method(dir)? {
            MethodId::Flow => Ok(Self::Flow {
                objective: read_objective(dir, weights)?,
                sampling: flow,
                weights,
            }),
            _ => {
                let config = BaselineConfig::from_folder(dir)?;
                if let Some(n) = steps {
                    config
                        .with_sampling_steps(n)
                        .map_err(|m| FolderError::new(dir, format!("--steps {m}")))?;
                }
                Ok(Self::Baseline {
                    config,
                    weights,
                    steps,
                    max_batch: flow.max_batch,
                })
            }
        }
    }

    /// The float type the method samples in (baselines: f32).
    pub fn precision(&self) -> Precision {
        match self {
            Self::Flow { sampling, .. } => sampling.precision,
            Self::Baseline { .. } => Precision::F32,
        }
    }

    /// The method id.
    pub fn id(&self) -> MethodId {
        match self {
            Self::Flow { .. } => MethodId::Flow,
            Self::Baseline { config, .. } => config.method(),
        }
    }

    /// The model part of the cache key (network and what changes the trained weights).
    pub fn model_json(&self) -> Value {
        match self {
            Self::Flow { objective, .. } => json!({
                "unet": objective.unet,
                "cfg_drop_prob": objective.cfg_drop_prob,
                "cfg_drop": objective.cfg_drop,
            }),
            Self::Baseline { config, .. } => config.to_json(),
        }
    }

    /// The sampling part of the cache key.
    pub fn sampling_json(&self) -> Value {
        match self {
            Self::Flow {
                sampling, weights, ..
            } => {
                let solver = sampling.solver;
                let mut key = json!({
                    "solver": solver.solver.name(),
                    "steps": solver.steps,
                    "tol": if solver.solver == Solver::Dopri5 { json!(solver.atol) } else { Value::Null },
                    "guidance": sampling.guidance,
                    "weights": weights,
                    "dropout_at_sampling": sampling.dropout_at_sampling,
                    "unquantised": sampling.decode == Decode::Unquantised,
                });
                if sampling.precision != Precision::F32 {
                    key["precision"] = json!(sampling.precision); // f32 keys stay as before
                }
                key
            }
            Self::Baseline { weights, steps, .. } => json!({ "weights": weights, "steps": steps }),
        }
    }

    /// Trains the model into `dir` with the shared loop on `devices` (autodiff devices; several
    /// = data parallel, [`fmseg_model::training::parallel`]); `meta` is merged into the
    /// folder's `config.json`; `on_start` gets the first step once the run is accepted (the
    /// settings, the data and any checkpoint resumed from).
    #[allow(clippy::too_many_arguments)]
    pub fn train(
        &self,
        training: &TrainConfig,
        meta: &Value,
        source: &dyn TrainSource,
        dir: &Path,
        devices: &[Device],
        resume: bool,
        on_start: &dyn Fn(u64),
    ) -> Result<TrainSummary, TrainError> {
        match self {
            Self::Flow { objective, .. } => train_on(
                objective, source, training, meta, dir, devices, resume, on_start,
            ),
            Self::Baseline { config, .. } => {
                config.train(training, meta, source, dir, devices, resume, on_start)
            }
        }
    }

    /// The trained model of `dir` (its exported weights, or a training checkpoint's) as a sampler
    /// on `device` (a plain, non-autodiff device).
    pub fn load_sampler(
        &self,
        dir: &Path,
        snapshot: Snapshot,
        device: &Device,
    ) -> Result<Box<dyn SegmentationSampler>, LoadError> {
        Ok(match self {
            Self::Flow {
                sampling, weights, ..
            } => Box::new(fmseg_model::flow::load::load_sampler(
                dir, *sampling, *weights, snapshot, device,
            )?),
            Self::Baseline {
                config,
                weights,
                steps,
                max_batch,
            } => {
                let config = match steps {
                    Some(n) => config
                        .with_sampling_steps(*n)
                        .map_err(|m| FolderError::new(dir, m))?,
                    None => config.clone(),
                };
                config.load_sampler(dir, *weights, snapshot, *max_batch, device)?
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(yaml: &str) -> Result<ResolvedMethod, FieldError> {
        let entry: MethodEntry = serde_yaml::from_str(yaml).unwrap();
        let training: TrainingSpec = serde_yaml::from_value(entry.training.clone()).unwrap();
        let shape = DataShape {
            channels: 1,
            size: 32,
            train_count: 8,
        };
        MethodConfig::resolve(&entry, &training, shape)
    }

    const FLOW: &str = "method: flow\nmodel: { preset: cpu-small, channel_mult: [1, 2], attention_resolutions: [] }\ntraining: { steps: 1, batch_size: 2 }\n";

    #[test]
    fn precision_enters_the_key_only_when_reduced() {
        let f32 = resolve(FLOW).unwrap().method;
        assert_eq!(f32.precision(), Precision::F32);
        assert!(f32.sampling_json().get("precision").is_none());
        let bf16 = resolve(&format!("{FLOW}sampling: {{ precision: bf16 }}\n"))
            .unwrap()
            .method;
        assert_eq!(bf16.precision(), Precision::Bf16);
        assert_eq!(bf16.sampling_json()["precision"], "bf16");
        // An explicit f32 is the default and keeps the key.
        let explicit = resolve(&format!("{FLOW}sampling: {{ precision: f32 }}\n")).unwrap();
        assert_eq!(explicit.method.sampling_json(), f32.sampling_json());
    }

    #[test]
    fn baselines_refuse_reduced_precision_naming_the_field() {
        let text = "method: prob-unet\ntraining: { steps: 1, batch_size: 2 }\n";
        let err = resolve(&format!("{text}sampling: {{ precision: f16 }}\n")).unwrap_err();
        assert_eq!(err.field, "sampling.precision");
        let ok = resolve(&format!(
            "{text}sampling: {{ precision: f32, max_batch: 7 }}\n"
        ));
        match ok.unwrap().method {
            MethodConfig::Baseline { max_batch, .. } => assert_eq!(max_batch, 7),
            other => panic!("{other:?}"),
        }
    }
}
