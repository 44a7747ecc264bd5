//! Resolution of the `model:` block into a [`UNetConfig`]: a preset (its image channels follow
//! the dataset) with optional overrides, or a full `unet:` block checked against the dataset.

use super::ExperimentError;
use super::spec::{ModelSpec, UNetPreset};
use crate::unet::UNetConfig;

impl ModelSpec {
    pub(super) fn resolve(
        &self,
        channels: usize,
        size: usize,
        invalid: &dyn Fn(&str, String) -> ExperimentError,
    ) -> Result<UNetConfig, ExperimentError> {
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
        let factor = 1usize << unet.channel_mult.len().saturating_sub(1);
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
    use std::path::Path;

    use crate::experiment::{Experiment, ExperimentError};
    use crate::flow::CfgDropMode;
    use crate::unet::UNetConfig;

    fn load(text: &str) -> Result<Experiment, ExperimentError> {
        Experiment::from_yaml_str(text, Path::new("spec.yaml"))
    }

    #[test]
    fn defaults_are_the_official_values() {
        let e = load("dataset: {preset: mmis-like, train_count: 30}\nmodel: {preset: lidc-condition}\ntraining: {steps: 5}\n").unwrap();
        let t = &e.training;
        assert_eq!(
            (t.lr, t.betas, t.weight_decay, t.batch_size),
            (1e-4, [0.9, 0.95], 0.01, 24)
        );
        assert_eq!((t.ema_decay, t.flip, t.seed), (Some(0.999), true, 0));
        assert_eq!(e.objective.cfg_drop, CfgDropMode::PerBatch);
        assert_eq!(e.objective.cfg_drop_prob, 0.5);
        // The preset follows the dataset's 3 image channels.
        assert_eq!(e.objective.unet, UNetConfig::mmis_condition());
    }

    #[test]
    fn unet_block_and_conflicts() {
        let unet = serde_json::to_string(&UNetConfig::cpu_small()).unwrap();
        let text = format!(
            "dataset: {{preset: tiny, train_count: 8}}\nmodel: {{unet: {unet}}}\ntraining: {{steps: 1, batch_size: 8, ema: false}}\n"
        );
        let e = load(&text).unwrap();
        assert_eq!(e.objective.unet, UNetConfig::cpu_small());
        assert_eq!(e.training.ema_decay, None);
        let both = text.replace("model: {unet:", "model: {preset: cpu-small, unet:");
        let err = load(&both).unwrap_err().to_string();
        assert!(
            err.contains("spec.yaml") && err.contains("`model`"),
            "{err}"
        );
        let mmis = text.replace("preset: tiny", "preset: mmis-like");
        let err = load(&mmis).unwrap_err().to_string();
        assert!(err.contains("model.unet.d_cond_image"), "{err}");
    }
}
