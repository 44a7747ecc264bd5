//! A baseline's method block of an experiment file (`methods[i]` with `method: prob-unet |
//! phiseg | cimd`, read by `fmseg run` and `fmseg train` alike): `model:` is the method's config
//! struct (unknown keys refused; `image_channels` / `image_size` default to the dataset's and
//! must match it when given), `training:` the shared loop settings
//! ([`fmseg_model::experiment::TrainingSpec`]).
//!
//! ```yaml
//! - method: prob-unet
//!   model: { filters: [16, 32, 64], convs_per_block: 2 }
//!   training: { steps: 150, batch_size: 8 }
//! ```

use fmseg_data::FieldError;
use fmseg_model::MethodId;
use fmseg_model::experiment::{DataShape, TrainingSpec, resolve_training};
use fmseg_model::training::TrainConfig;

use crate::method::BaselineConfig;

/// `model:` with `image_channels` / `image_size` filled from the dataset (or checked against it).
fn model_value(
    model: Option<&serde_yaml::Value>,
    channels: usize,
    size: usize,
) -> Result<serde_yaml::Value, FieldError> {
    let mut map = match model {
        None | Some(serde_yaml::Value::Null) => serde_yaml::Mapping::new(),
        Some(serde_yaml::Value::Mapping(m)) => m.clone(),
        Some(_) => return Err(FieldError::new("model", "expected a mapping")),
    };
    for (key, want) in [("image_channels", channels), ("image_size", size)] {
        let k = serde_yaml::Value::from(key);
        match map.get(&k) {
            None => {
                map.insert(k, serde_yaml::Value::from(want as u64));
            }
            Some(v) if v.as_u64() == Some(want as u64) => {}
            Some(v) => {
                return Err(FieldError::new(
                    format!("model.{key}"),
                    format!("{v:?} differs from the dataset's {want}"),
                ));
            }
        }
    }
    Ok(serde_yaml::Value::Mapping(map))
}

/// A baseline's `model:` and `training:` blocks resolved for `data` (any dataset): the method's
/// validated config and the loop settings. Errors name the field relative to the method block
/// (`model.latent_dim`, `training.batch_size`).
pub fn resolve_baseline(
    method: MethodId,
    model: Option<&serde_yaml::Value>,
    training: &TrainingSpec,
    data: DataShape,
) -> Result<(BaselineConfig, TrainConfig), FieldError> {
    if method == MethodId::Flow {
        return Err(FieldError::new("method", "flow is not a baseline"));
    }
    let value = model_value(model, data.channels, data.size)?;
    let config = BaselineConfig::from_value(method, value).map_err(|e| e.within("model"))?;
    Ok((config, resolve_training(training, data)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn training() -> TrainingSpec {
        serde_yaml::from_str("{steps: 2, batch_size: 4}").unwrap()
    }

    const DATA: DataShape = DataShape {
        channels: 1,
        size: 32,
        train_count: 8,
    };

    #[test]
    fn fills_the_image_shape_and_names_refused_fields() {
        let (config, t) = resolve_baseline(MethodId::ProbUnet, None, &training(), DATA).unwrap();
        assert_eq!(config.to_json()["image_size"], 32);
        assert_eq!(t.batch_size, 4);
        let wrong: serde_yaml::Value = serde_yaml::from_str("{image_size: 64}").unwrap();
        let err = resolve_baseline(MethodId::Phiseg, Some(&wrong), &training(), DATA).unwrap_err();
        assert_eq!(err.field, "model.image_size");
        let bad: serde_yaml::Value = serde_yaml::from_str("{latent_dim: 0}").unwrap();
        let err = resolve_baseline(MethodId::ProbUnet, Some(&bad), &training(), DATA).unwrap_err();
        assert_eq!(err.field, "model.latent_dim", "{err}");
        let typo: serde_yaml::Value = serde_yaml::from_str("{laten_dim: 3}").unwrap();
        let err = resolve_baseline(MethodId::Cimd, Some(&typo), &training(), DATA).unwrap_err();
        assert!(
            err.field == "model" && err.message.contains("laten_dim"),
            "{err}"
        );
        let err = resolve_baseline(MethodId::Flow, None, &training(), DATA).unwrap_err();
        assert_eq!(err.field, "method");
    }
}
