//! `fmseg train` support: [`Cimd`] as a [`BaselineModel`] of the shared training loop.

use burn::tensor::{Device, Tensor};
use fmseg_data::rng::Rng;

use super::{Cimd, CimdConfig};
use crate::common::objective::{BaselineModel, BaselineObjective};
use crate::{ConfigError, LossOutput};

impl BaselineModel for Cimd {
    type Config = CimdConfig;
    const METHOD: &'static str = "cimd";

    fn build(config: &CimdConfig, device: &Device) -> Result<Self, ConfigError> {
        Cimd::new(config, device)
    }

    fn batch_loss(&self, images: Tensor<4>, masks: Tensor<4>, rng: &mut Rng) -> LossOutput {
        self.loss(images, masks, rng)
    }
}

/// The training objective of [`Cimd`].
pub type CimdObjective = BaselineObjective<Cimd>;
