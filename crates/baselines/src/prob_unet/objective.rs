//! `fmseg train` support: [`ProbUnet`] as a [`BaselineModel`] of the shared training loop.

use burn::tensor::{Device, Tensor};
use fmseg_data::rng::Rng;
use fmseg_model::MethodId;

use super::{ProbUnet, ProbUnetConfig};
use crate::common::objective::{BaselineModel, BaselineObjective};
use crate::{ConfigError, LossOutput};

impl BaselineModel for ProbUnet {
    type Config = ProbUnetConfig;
    const METHOD: MethodId = MethodId::ProbUnet;

    fn validate(config: &ProbUnetConfig) -> Result<(), ConfigError> {
        config.validate()
    }

    fn build(config: &ProbUnetConfig, device: &Device) -> Result<Self, ConfigError> {
        ProbUnet::new(config, device)
    }

    fn term_names(_config: &ProbUnetConfig) -> Vec<&'static str> {
        vec!["reconstruction", "kl"]
    }

    fn batch_loss(&self, images: Tensor<4>, masks: Tensor<4>, rng: &mut Rng) -> LossOutput {
        self.loss(images, masks, rng)
    }
}

/// The training objective of [`ProbUnet`].
pub type ProbUnetObjective = BaselineObjective<ProbUnet>;
