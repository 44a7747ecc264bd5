//! The YAML training spec of the baselines (`fmseg train --experiment FILE.yaml` with
//! `method: prob-unet | phiseg | cimd`). Same `dataset:` / `training:` blocks as the flow spec
//! ([`fmseg_model::experiment`]); `model:` is the method's config struct (unknown keys refused;
//! `image_channels` / `image_size` default to the dataset's and must match it when given).
//!
//! ```yaml
//! method: prob-unet
//! dataset: { preset: tiny, size: 32, train_count: 64 }
//! model: { filters: [16, 32, 64], convs_per_block: 2 }
//! training: { steps: 150, batch_size: 8 }
//! ```

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use fmseg_data::synth::SynthConfig;
use fmseg_model::MethodId;
use fmseg_model::dataset::TrainSource;
use fmseg_model::experiment::{
    DataShape, DatasetSpec, ExperimentError, TrainingSpec, parse_yaml, resolve_training,
    synthetic_metadata,
};
use fmseg_model::training::{TrainConfig, TrainError, TrainSummary, train};
use serde::Deserialize;

use crate::cimd::{CimdConfig, CimdObjective};
use crate::phiseg::{PhisegConfig, PhisegObjective};
use crate::prob_unet::{ProbUnetConfig, ProbUnetObjective};

/// The whole baseline experiment file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineSpec {
    /// `prob-unet`, `phiseg` or `cimd`.
    pub method: String,
    /// Training data (as the flow spec).
    pub dataset: DatasetSpec,
    /// The method's config (absent keys take the method's defaults).
    #[serde(default)]
    pub model: Option<serde_yaml::Value>,
    /// The loop settings (as the flow spec; the `cfg_drop*` keys are ignored).
    pub training: TrainingSpec,
    /// Output folder (the command line's `--out` wins).
    #[serde(default)]
    pub out: Option<PathBuf>,
}

/// The top-level `method:` of an experiment file (absent = `flow`), read without
/// interpreting the rest; an unknown id is refused naming the `method` field.
pub fn peek_method(text: &str, path: &Path) -> Result<MethodId, ExperimentError> {
    let value: serde_yaml::Value = parse_yaml(text, path)?;
    match value.get("method") {
        None | Some(serde_yaml::Value::Null) => Ok(MethodId::Flow),
        Some(v) => v.as_str().and_then(MethodId::parse).ok_or_else(|| {
            invalid(
                path,
                "method",
                format!("{v:?}: expected flow, prob-unet, phiseg or cimd"),
            )
        }),
    }
}

/// A resolved baseline model configuration.
#[derive(Debug, Clone, PartialEq)]
pub enum BaselineConfig {
    /// Prob-UNet.
    ProbUnet(ProbUnetConfig),
    /// PHiSeg.
    Phiseg(PhisegConfig),
    /// CIMD.
    Cimd(CimdConfig),
}

impl BaselineConfig {
    /// The method id.
    pub fn method(&self) -> MethodId {
        match self {
            Self::ProbUnet(_) => MethodId::ProbUnet,
            Self::Phiseg(_) => MethodId::Phiseg,
            Self::Cimd(_) => MethodId::Cimd,
        }
    }
}

/// A resolved, validated baseline experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineExperiment {
    /// The synthetic dataset.
    pub dataset: SynthConfig,
    /// First training item index.
    pub train_start: u64,
    /// Number of training items.
    pub train_count: usize,
    /// The model.
    pub model: BaselineConfig,
    /// The loop settings.
    pub training: TrainConfig,
    /// The output folder the file asks for, if any.
    pub out: Option<PathBuf>,
}

fn invalid(file: &Path, field: &str, message: impl Into<String>) -> ExperimentError {
    ExperimentError::Invalid {
        path: file.to_path_buf(),
        field: field.to_string(),
        message: message.into(),
    }
}

/// `model:` with `image_channels` / `image_size` filled from the dataset (or checked against it).
fn model_value(
    model: Option<&serde_yaml::Value>,
    channels: usize,
    size: usize,
    file: &Path,
) -> Result<serde_yaml::Value, ExperimentError> {
    let mut map = match model {
        None | Some(serde_yaml::Value::Null) => serde_yaml::Mapping::new(),
        Some(serde_yaml::Value::Mapping(m)) => m.clone(),
        Some(_) => return Err(invalid(file, "model", "expected a mapping")),
    };
    for (key, want) in [("image_channels", channels), ("image_size", size)] {
        let k = serde_yaml::Value::from(key);
        match map.get(&k) {
            None => {
                map.insert(k, serde_yaml::Value::from(want as u64));
            }
            Some(v) if v.as_u64() == Some(want as u64) => {}
            Some(v) => {
                return Err(invalid(
                    file,
                    &format!("model.{key}"),
                    format!("{v:?} differs from the dataset's {want}"),
                ));
            }
        }
    }
    Ok(serde_yaml::Value::Mapping(map))
}

fn parse_config<T: serde::de::DeserializeOwned>(
    value: serde_yaml::Value,
    file: &Path,
) -> Result<T, ExperimentError> {
    serde_yaml::from_value(value).map_err(|e| ExperimentError::Parse {
        path: file.to_path_buf(),
        message: format!("model: {e}"),
    })
}

impl BaselineSpec {
    /// Validates the spec (errors name `file` and the dotted field) and resolves it.
    pub fn resolve(&self, file: &Path) -> Result<BaselineExperiment, ExperimentError> {
        let method = MethodId::parse(&self.method)
            .filter(|m| *m != MethodId::Flow)
            .ok_or_else(|| {
                invalid(
                    file,
                    "method",
                    format!(
                        "'{}': expected flow, prob-unet, phiseg or cimd",
                        self.method
                    ),
                )
            })?;
        let d = &self.dataset;
        let (dataset, shape) = d.resolve(file)?;
        let (model, training) =
            resolve_baseline(method, self.model.as_ref(), &self.training, shape, file)?;
        Ok(BaselineExperiment {
            dataset,
            train_start: d.train_start,
            train_count: d.train_count,
            model,
            training,
            out: self.out.clone(),
        })
    }
}

/// A baseline's `model:` and `training:` blocks resolved for `data` (any dataset): the method's
/// validated config (`image_channels` / `image_size` filled from the data or checked against it)
/// and the loop settings. Errors name `file` and the dotted field.
pub fn resolve_baseline(
    method: MethodId,
    model: Option<&serde_yaml::Value>,
    training: &TrainingSpec,
    data: DataShape,
    file: &Path,
) -> Result<(BaselineConfig, TrainConfig), ExperimentError> {
    let value = model_value(model, data.channels, data.size, file)?;
    let bad = |e: crate::ConfigError| {
        invalid(
            file,
            &format!("model.{}", e.field),
            format!("{} ({})", e.reason, e.value),
        )
    };
    let config = match method {
        MethodId::ProbUnet => {
            let c: ProbUnetConfig = parse_config(value, file)?;
            c.validate().map_err(bad)?;
            BaselineConfig::ProbUnet(c)
        }
        MethodId::Phiseg => {
            let c: PhisegConfig = parse_config(value, file)?;
            c.validate().map_err(bad)?;
            BaselineConfig::Phiseg(c)
        }
        MethodId::Cimd => {
            let c: CimdConfig = parse_config(value, file)?;
            c.validate().map_err(bad)?;
            BaselineConfig::Cimd(c)
        }
        MethodId::Flow => {
            return Err(invalid(file, "method", "flow is not a baseline"));
        }
    };
    Ok((config, resolve_training(training, data, file)?))
}

impl BaselineConfig {
    /// Trains this model with the shared loop into `out` (`device` is an autodiff device);
    /// `meta` is merged into the folder's `config.json`.
    pub fn train(
        &self,
        training: &TrainConfig,
        meta: &serde_json::Value,
        source: &dyn TrainSource,
        out: &Path,
        device: &Device,
        resume: bool,
    ) -> Result<TrainSummary, TrainError> {
        match self {
            Self::ProbUnet(c) => train(
                &ProbUnetObjective::new(c.clone()),
                source,
                training,
                meta,
                out,
                device,
                resume,
            ),
            Self::Phiseg(c) => train(
                &PhisegObjective::new(c.clone()),
                source,
                training,
                meta,
                out,
                device,
                resume,
            ),
            Self::Cimd(c) => train(
                &CimdObjective::new(c.clone()),
                source,
                training,
                meta,
                out,
                device,
                resume,
            ),
        }
    }
}

impl BaselineExperiment {
    /// Parses and resolves YAML text; `path` names the file in errors.
    pub fn from_yaml_str(text: &str, path: &Path) -> Result<Self, ExperimentError> {
        parse_yaml::<BaselineSpec>(text, path)?.resolve(path)
    }

    /// The fields this experiment adds to the run's `config.json`.
    pub fn metadata(&self) -> serde_json::Value {
        synthetic_metadata(&self.dataset, self.train_start, self.train_count)
    }

    /// Trains the model with the shared loop into `out` (`device` is an autodiff device).
    pub fn train(
        &self,
        source: &dyn TrainSource,
        out: &Path,
        device: &Device,
        resume: bool,
    ) -> Result<TrainSummary, TrainError> {
        self.model.train(
            &self.training,
            &self.metadata(),
            source,
            out,
            device,
            resume,
        )
    }
}
