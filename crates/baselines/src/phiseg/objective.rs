//! `fmseg train` support: [`Phiseg`] as a [`BaselineModel`] of the shared training loop.

use burn::tensor::{Device, Tensor};
use fmseg_data::rng::Rng;
use fmseg_model::MethodId;

use super::{Phiseg, PhisegConfig};
use crate::common::objective::{BaselineModel, BaselineObjective};
use crate::{ConfigError, LossOutput};

impl BaselineModel for Phiseg {
    type Config = PhisegConfig;
    const METHOD: MethodId = MethodId::Phiseg;

    fn validate(config: &PhisegConfig) -> Result<(), ConfigError> {
        config.validate()
    }

    fn build(config: &PhisegConfig, device: &Device) -> Result<Self, ConfigError> {
        Phiseg::new(config, device)
    }

    fn term_names(config: &PhisegConfig) -> Vec<&'static str> {
        super::model::term_names(config)
    }

    fn batch_loss(&self, images: Tensor<4>, masks: Tensor<4>, rng: &mut Rng) -> LossOutput {
        self.loss(images, masks, rng)
    }
}

/// The training objective of [`Phiseg`].
pub type PhisegObjective = BaselineObjective<Phiseg>;
