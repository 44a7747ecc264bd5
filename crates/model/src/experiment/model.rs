//! Resolution of the `model:` block into a [`UNetConfig`]: a preset (its image channels follow
//! the dataset) with optional overrides, or a full `unet:` block checked against the dataset.

use fmseg_data::FieldError;

use super::spec::{ModelSpec, UNetPreset};
use crate::unet::UNetConfig;

fn invalid(field: &str, message: String) -> FieldError {
    FieldError::new(field, message)
}

impl ModelSpec {
    /// The network for `channels`-channel images of side `size` (errors name `model.<field>`).
    pub(super) fn resolve(&self, channels: usize, size: usize) -> Result<UNetConfig, FieldError> {
        let overrides = self.model_channels.is_some()
            || self.channel_mult.is_some()
            || self.num_res_blocks.is_some()
            || self.attention_resolutions.is_some()
            || self.dropout.is_some();
        let unet = match (self.preset, &self.unet) {
            (Some(_), Some(_)) => {
                return Err(invalid("model", "give `preset` or `unet`, not both".into()));
            }
            (None, None) => return Err(invalid("model", "give `preset` or `unet`".into())),
            (None, Some(_)) if overrides => {
                return Err(invalid(
                    "model",
                    "overrides apply to `preset` only; edit the `unet` block".into(),
                ));
            }
            (None, Some(unet)) => unet.clone(),
            (Some(preset), None) => {
                let mut unet = match preset {
                    UNetPreset::CpuSmall => UNetConfig::cpu_small(),
                    UNetPreset::LidcCondition => UNetConfig::lidc_condition(),
                    UNetPreset::MmisCondition => UNetConfig::mmis_condition(),
                }
                .with_image_channels(channels);
                unet.model_channels = self.model_channels.unwrap_or(unet.model_channels);
                unet.channel_mult = self.channel_mult.clone().unwrap_or(unet.channel_mult);
                unet.num_res_blocks = self.num_res_blocks.unwrap_or(unet.num_res_blocks);
                unet.attention_resolutions = self
                    .attention_resolutions
                    .clone()
                    .unwrap_or(unet.attention_resolutions);
                unet.dropout = self.dropout.unwrap_or(unet.dropout);
                unet
            }
        };
        let field = if self.unet.is_some() {
            "model.unet"
        } else {
            "model"
        };
        if unet.d_cond_image != channels {
            let msg = format!(
                "d_cond_image {} but the dataset has {channels} image channels",
                unet.d_cond_image
            );
            return Err(invalid(&format!("{field}.d_cond_image"), msg));
        }
        if unet.mask_channels() != 1 || unet.out_channels != 1 {
            return Err(invalid(
                &format!("{field}.in_channels"),
                "the mask needs 1 input and 1 output channel".into(),
            ));
        }
        unet.plan().map_err(|e| invalid(field, e.to_string()))?;
        let factor = unet.downsample_factor();
        if !size.is_multiple_of(factor) {
            let msg =
                format!("image side {size} is not divisible by the downsampling factor {factor}");
            return Err(invalid(&format!("{field}.channel_mult"), msg));
        }
        Ok(unet)
    }
}

#[cfg(test)]
mod tests {
    use fmseg_data::FieldError;

    use crate::experiment::{DataShape, ModelSpec, TrainingSpec, resolve_flow};
    use crate::flow::{CfgDropMode, FlowMatching};
    use crate::training::TrainConfig;
    use crate::unet::UNetConfig;

    fn load(
        model: &str,
        training: &str,
        data: DataShape,
    ) -> Result<(FlowMatching, TrainConfig), FieldError> {
        let model: ModelSpec = serde_yaml::from_str(model).unwrap();
        let training: TrainingSpec = serde_yaml::from_str(training).unwrap();
        resolve_flow(&model, &training, data)
    }

    const MMIS: DataShape = DataShape {
        channels: 3,
        size: 64,
        train_count: 30,
    };
    const TINY: DataShape = DataShape {
        channels: 1,
        size: 32,
        train_count: 8,
    };

    #[test]
    fn defaults_are_the_official_values() {
        let (objective, t) = load("{preset: lidc-condition}", "{steps: 5}", MMIS).unwrap();
        assert_eq!(
            (t.lr, t.betas, t.weight_decay, t.batch_size),
            (1e-4, [0.9, 0.95], 0.01, 24)
        );
        assert_eq!((t.ema_decay, t.flip, t.seed), (Some(0.999), true, 0));
        assert_eq!(objective.cfg_drop, CfgDropMode::PerBatch);
        assert_eq!(objective.cfg_drop_prob, 0.5);
        // The preset follows the dataset's 3 image channels.
        assert_eq!(objective.unet, UNetConfig::mmis_condition());
    }

    #[test]
    fn unet_block_and_conflicts() {
        let unet = serde_json::to_string(&UNetConfig::cpu_small()).unwrap();
        let training = "{steps: 1, batch_size: 8, ema: false}";
        let (objective, t) = load(&format!("{{unet: {unet}}}"), training, TINY).unwrap();
        assert_eq!(objective.unet, UNetConfig::cpu_small());
        assert_eq!(t.ema_decay, None);
        let both = format!("{{preset: cpu-small, unet: {unet}}}");
        assert_eq!(load(&both, training, TINY).unwrap_err().field, "model");
        let three = DataShape {
            channels: 3,
            ..TINY
        };
        let err = load(&format!("{{unet: {unet}}}"), training, three).unwrap_err();
        assert_eq!(err.field, "model.unet.d_cond_image");
        let err = load(
            "{preset: cpu-small}",
            "{steps: 1, batch_size: 8, cfg_drop_prob: 1.5}",
            TINY,
        )
        .unwrap_err();
        assert_eq!(err.field, "training.cfg_drop_prob");
        let err = load("{preset: cpu-small}", "{steps: 1, batch_size: 9}", TINY).unwrap_err();
        assert_eq!(err.field, "training.batch_size");
    }
}
