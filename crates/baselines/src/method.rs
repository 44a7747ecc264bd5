//! The baselines as one closed set: [`BaselineConfig`] holds a validated config of Prob-UNet,
//! PHiSeg or CIMD, and every operation on it (training, serialising, loading a sampler, the
//! CIMD step override) is written once, generic over [`BaselineModel`], and dispatched by the
//! single [`BaselineConfig::visit`] (style-anchors §3.2: an enum dispatching to a generic, as
//! candle's `WhichModel → training_loop::<M>`).

use std::path::Path;

use burn::tensor::Device;
use fmseg_data::FieldError;
use fmseg_model::MethodId;
use fmseg_model::dataset::TrainSource;
use fmseg_model::training::{TrainConfig, TrainError, TrainSummary, train_on};

use crate::cimd::{Cimd, CimdConfig};
use crate::common::objective::{BaselineModel, BaselineObjective};
use crate::phiseg::{Phiseg, PhisegConfig};
use crate::prob_unet::{ProbUnet, ProbUnetConfig};

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

impl From<ProbUnetConfig> for BaselineConfig {
    fn from(c: ProbUnetConfig) -> Self {
        Self::ProbUnet(c)
    }
}
impl From<PhisegConfig> for BaselineConfig {
    fn from(c: PhisegConfig) -> Self {
        Self::Phiseg(c)
    }
}
impl From<CimdConfig> for BaselineConfig {
    fn from(c: CimdConfig) -> Self {
        Self::Cimd(c)
    }
}

/// One operation over a baseline, written once for every [`BaselineModel`].
pub trait BaselineOp {
    /// What the operation returns.
    type Output;
    /// Runs the operation on method `M` with its `config`.
    fn apply<M: BaselineModel>(self, config: &M::Config) -> Self::Output
    where
        BaselineConfig: From<M::Config>;
}

/// Runs `op` with the model type of `method` (its default config as the argument); the one
/// place where a method id selects a baseline type (the flow model is refused).
pub fn with_method<O: BaselineOp<Output = Result<T, FieldError>>, T>(
    method: MethodId,
    op: O,
) -> Result<T, FieldError> {
    match method {
        MethodId::ProbUnet => op.apply::<ProbUnet>(&ProbUnetConfig::default()),
        MethodId::Phiseg => op.apply::<Phiseg>(&PhisegConfig::default()),
        MethodId::Cimd => op.apply::<Cimd>(&CimdConfig::default()),
        MethodId::Flow => Err(FieldError::new("", "flow is not a baseline")),
    }
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

    /// Runs `op` with this config's model type.
    pub fn visit<O: BaselineOp>(&self, op: O) -> O::Output {
        match self {
            Self::ProbUnet(c) => op.apply::<ProbUnet>(c),
            Self::Phiseg(c) => op.apply::<Phiseg>(c),
            Self::Cimd(c) => op.apply::<Cimd>(c),
        }
    }

    /// The config as JSON (the form `config.json` stores under the method id).
    pub fn to_json(&self) -> serde_json::Value {
        struct ToJson;
        impl BaselineOp for ToJson {
            type Output = serde_json::Value;
            fn apply<M: BaselineModel>(self, config: &M::Config) -> serde_json::Value {
                serde_json::to_value(config).unwrap_or(serde_json::Value::Null)
            }
        }
        self.visit(ToJson)
    }

    /// The config of `method` from a YAML value (a `config.json` object converts with
    /// `serde_yaml::to_value`), validated; the error names the refused field (as a
    /// [`crate::ConfigError`]) or is the parser's message (field `""`).
    pub fn from_value(method: MethodId, value: serde_yaml::Value) -> Result<Self, FieldError> {
        struct Parse(serde_yaml::Value);
        impl BaselineOp for Parse {
            type Output = Result<BaselineConfig, FieldError>;
            fn apply<M: BaselineModel>(self, _: &M::Config) -> Self::Output
            where
                BaselineConfig: From<M::Config>,
            {
                let config: M::Config = serde_yaml::from_value(self.0)
                    .map_err(|e| FieldError::new("", e.to_string()))?;
                M::validate(&config).map_err(FieldError::from)?;
                Ok(config.into())
            }
        }
        with_method(method, Parse(value))
    }

    /// This config sampling with `steps` respaced steps (CIMD); refused for the other methods
    /// and for counts outside `1..=T`.
    pub fn with_sampling_steps(&self, steps: usize) -> Result<Self, String> {
        struct Steps(usize);
        impl BaselineOp for Steps {
            type Output = Result<BaselineConfig, String>;
            fn apply<M: BaselineModel>(self, config: &M::Config) -> Self::Output
            where
                BaselineConfig: From<M::Config>,
            {
                M::with_sampling_steps(config, self.0).map(BaselineConfig::from)
            }
        }
        self.visit(Steps(steps))
    }

    /// Trains this model with the shared loop into `out` on `devices` (autodiff devices;
    /// several = data parallel);
    /// `meta` is merged into the folder's `config.json`; `on_start` gets the first step once the
    /// run is accepted.
    #[allow(clippy::too_many_arguments)]
    pub fn train(
        &self,
        training: &TrainConfig,
        meta: &serde_json::Value,
        source: &dyn TrainSource,
        out: &Path,
        devices: &[Device],
        resume: bool,
        on_start: &dyn Fn(u64),
    ) -> Result<TrainSummary, TrainError> {
        struct Train<'a> {
            training: &'a TrainConfig,
            meta: &'a serde_json::Value,
            source: &'a dyn TrainSource,
            out: &'a Path,
            devices: &'a [Device],
            resume: bool,
            on_start: &'a dyn Fn(u64),
        }
        impl BaselineOp for Train<'_> {
            type Output = Result<TrainSummary, TrainError>;
            fn apply<M: BaselineModel>(self, config: &M::Config) -> Self::Output {
                let objective = BaselineObjective::<M>::new(config.clone());
                train_on(
                    &objective,
                    self.source,
                    self.training,
                    self.meta,
                    self.out,
                    self.devices,
                    self.resume,
                    self.on_start,
                )
            }
        }
        self.visit(Train {
            training,
            meta,
            source,
            out,
            devices,
            resume,
            on_start,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_step_override() {
        for method in [MethodId::ProbUnet, MethodId::Phiseg, MethodId::Cimd] {
            let empty = serde_yaml::Value::Mapping(serde_yaml::Mapping::new());
            let config = BaselineConfig::from_value(method, empty).unwrap();
            assert_eq!(config.method(), method);
            let json = serde_yaml::to_value(config.to_json()).unwrap();
            let back = BaselineConfig::from_value(method, json).unwrap();
            assert_eq!(back, config);
        }
        let err = BaselineConfig::from_value(MethodId::Flow, serde_yaml::Value::Null);
        assert!(err.unwrap_err().message.contains("not a baseline"));
        let cimd = BaselineConfig::Cimd(CimdConfig::default());
        let BaselineConfig::Cimd(c) = cimd.with_sampling_steps(7).unwrap() else {
            panic!("CIMD stays CIMD");
        };
        assert_eq!(c.sampling_steps, 7);
        assert!(cimd.with_sampling_steps(0).is_err());
        let prob = BaselineConfig::ProbUnet(ProbUnetConfig::default());
        assert!(
            prob.with_sampling_steps(5)
                .unwrap_err()
                .contains("prob-unet")
        );
    }
}
