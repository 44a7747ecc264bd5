//! One generic [`Objective`] for the baselines: the method's `loss(...).total` on the batch's
//! images `[B, C, H, W]` and one-annotator masks `[B, 1, H, W]`, parameters exported by path
//! ([`super::params`]), and `config.json` fields `{"method": id, "<id>": config}`.

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use fmseg_data::rng::Rng;
use fmseg_model::dataset::Batch;
use fmseg_model::training::{Objective, TrainError};
use fmseg_model::unet::NamedTensor;
use serde::Serialize;

use super::params::{export_params, import_params};
use crate::{ConfigError, LossOutput};

/// What a baseline model provides to [`BaselineObjective`].
pub trait BaselineModel: Module + Sized + 'static {
    /// The method's serde config.
    type Config: Serialize + Clone + std::fmt::Debug;
    /// The method id (`prob-unet`, `phiseg`, `cimd`).
    const METHOD: &'static str;
    /// A freshly initialised model.
    fn build(config: &Self::Config, device: &Device) -> Result<Self, ConfigError>;
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
        M::METHOD
    }

    fn init_model(&self, device: &Device) -> Result<M, TrainError> {
        M::build(&self.config, device).map_err(TrainError::model)
    }

    fn loss(&self, model: &M, batch: &Batch, rng: &mut Rng, device: &Device) -> Tensor<1> {
        let (images, masks) = batch_tensors(batch, device);
        model.batch_loss(images, masks, rng).total
    }

    fn export(&self, model: &M) -> Result<Vec<NamedTensor>, TrainError> {
        export_params(model).map_err(TrainError::model)
    }

    fn import(&self, model: M, tensors: Vec<NamedTensor>, source: &str) -> Result<M, TrainError> {
        import_params(model, tensors, source).map_err(TrainError::model)
    }

    fn describe(&self) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        out.insert("method".into(), M::METHOD.into());
        out.insert(
            M::METHOD.into(),
            serde_json::to_value(&self.config).unwrap_or(serde_json::Value::Null),
        );
        serde_json::Value::Object(out)
    }
}
