//! One generic [`Objective`] for the baselines: the method's `loss(...).total` on the batch's
//! images `[B, C, H, W]` and one-annotator masks `[B, 1, H, W]`, parameters exported by path
//! ([`super::params`]), and `config.json` fields `{"method": id, "<id>": config}`.

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use fmseg_data::rng::Rng;
use fmseg_model::dataset::Batch;
use fmseg_model::training::{Objective, TrainError};
use fmseg_model::unet::NamedTensor;
use fmseg_model::{MethodId, SegmentationSampler};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::params::{export_params, import_params};
use super::passes::PassSampler;
use crate::{ConfigError, LossOutput};

/// What a baseline model provides to [`BaselineObjective`], the experiment resolver and the
/// folder loader (`crate::experiment`, `crate::load`): each is written once, generic over it.
pub trait BaselineModel: Module + SegmentationSampler + PassSampler + Sized + 'static {
    /// The method's serde config (unknown keys refused, explicit defaults).
    type Config: Serialize + DeserializeOwned + Clone + PartialEq + std::fmt::Debug;
    /// The method id.
    const METHOD: MethodId;
    /// Checks every value of a config, naming the refused field.
    fn validate(config: &Self::Config) -> Result<(), ConfigError>;
    /// The config sampling with `steps` respaced steps, for methods whose sampler has a step
    /// count (CIMD); `Err` with the reason for the others or an out-of-range count.
    fn with_sampling_steps(config: &Self::Config, steps: usize) -> Result<Self::Config, String> {
        let _ = (config, steps);
        Err(format!("applies to flow and cimd, not {}", Self::METHOD))
    }
    /// A freshly initialised model.
    fn build(config: &Self::Config, device: &Device) -> Result<Self, ConfigError>;
    /// The names of [`BaselineModel::batch_loss`]'s terms under `config`, in order.
    fn term_names(config: &Self::Config) -> Vec<&'static str>;
    /// The method's training loss.
    fn batch_loss(&self, images: Tensor<4>, masks: Tensor<4>, rng: &mut Rng) -> LossOutput;
}

/// Trains a [`BaselineModel`] with the shared loop.
#[derive(Debug, Clone)]
pub struct BaselineObjective<M: BaselineModel> {
    /// The model's configuration.
    pub config: M::Config,
}

impl<M: BaselineModel> BaselineObjective<M> {
    /// The objective of `config`.
    pub fn new(config: M::Config) -> Self {
        Self { config }
    }
}

/// The batch as device tensors: images `[B, C, H, W]`, masks `[B, 1, H, W]`.
pub fn batch_tensors(batch: &Batch, device: &Device) -> (Tensor<4>, Tensor<4>) {
    let [b, c, h, w] = batch.shape;
    let images = Tensor::from_data(TensorData::new(batch.images.clone(), [b, c, h, w]), device);
    let masks = Tensor::from_data(TensorData::new(batch.masks.clone(), [b, 1, h, w]), device);
    (images, masks)
}

impl<M: BaselineModel> Objective for BaselineObjective<M> {
    type Model = M;

    fn name(&self) -> &'static str {
        M::METHOD.as_str()
    }

    fn init_model(&self, device: &Device) -> Result<M, TrainError> {
        M::build(&self.config, device).map_err(TrainError::model)
    }

    fn loss(&self, model: &M, batch: &Batch, rng: &mut Rng, device: &Device) -> Tensor<1> {
        let (images, masks) = batch_tensors(batch, device);
        model.batch_loss(images, masks, rng).total
    }

    fn term_names(&self) -> Vec<&'static str> {
        M::term_names(&self.config)
    }

    fn loss_with_terms(
        &self,
        model: &M,
        batch: &Batch,
        rng: &mut Rng,
        device: &Device,
    ) -> (Tensor<1>, Option<Tensor<1>>) {
        let (images, masks) = batch_tensors(batch, device);
        let out = model.batch_loss(images, masks, rng);
        let terms: Vec<Tensor<1>> = out.terms.into_iter().map(|(_, t)| t.detach()).collect();
        (
            out.total,
            (!terms.is_empty()).then(|| Tensor::cat(terms, 0)),
        )
    }

    fn export(&self, model: &M) -> Result<Vec<NamedTensor>, TrainError> {
        export_params(model).map_err(TrainError::model)
    }

    fn import(&self, model: M, tensors: Vec<NamedTensor>, source: &str) -> Result<M, TrainError> {
        import_params(model, tensors, source).map_err(TrainError::model)
    }

    fn describe(&self) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        out.insert("method".into(), M::METHOD.as_str().into());
        out.insert(
            M::METHOD.as_str().into(),
            serde_json::to_value(&self.config).unwrap_or(serde_json::Value::Null),
        );
        serde_json::Value::Object(out)
    }
}
