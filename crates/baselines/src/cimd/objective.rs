//! `fmseg train` support: [`Cimd`] as a [`BaselineModel`] of the shared training loop.

use burn::tensor::{Device, Tensor};
use fmseg_data::rng::Rng;
use fmseg_model::MethodId;

use super::{Cimd, CimdConfig};
use crate::common::objective::{BaselineModel, BaselineObjective};
use crate::{ConfigError, LossOutput};

impl BaselineModel for Cimd {
    type Config = CimdConfig;
    const METHOD: MethodId = MethodId::Cimd;

    fn validate(config: &CimdConfig) -> Result<(), ConfigError> {
        config.validate()
    }

    fn with_sampling_steps(config: &CimdConfig, steps: usize) -> Result<CimdConfig, String> {
        if steps == 0 || steps > config.timesteps {
            return Err(format!(
                "{steps}: CIMD sampling steps must be in 1..={} (T)",
                config.timesteps
            ));
        }
        Ok(CimdConfig {
            sampling_steps: steps,
            ..config.clone()
        })
    }

    fn build(config: &CimdConfig, device: &Device) -> Result<Self, ConfigError> {
        Cimd::new(config, device)
    }

    fn term_names(_config: &CimdConfig) -> Vec<&'static str> {
        vec!["mse", "vb", "kl"]
    }

    fn batch_loss(&self, images: Tensor<4>, masks: Tensor<4>, rng: &mut Rng) -> LossOutput {
        self.loss(images, masks, rng)
    }
}

/// The training objective of [`Cimd`].
pub type CimdObjective = BaselineObjective<Cimd>;
