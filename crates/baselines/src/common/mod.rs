//! Pieces shared by the three baselines: config errors, the loss output type, the loss
//! reduction convention, host-seeded noise and conversion of device masks into a
//! [`SampleSet`].

mod blocks;
pub mod objective;
pub mod params;
pub mod passes;

pub(crate) use blocks::conv1x1;
pub use blocks::{AxisAlignedEncoder, ConvBlock, ConvEncoder, tile_latent};

use burn::tensor::{Device, Tensor, TensorData};
use fmseg_data::rng::Rng;
use fmseg_model::SampleError;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A config value that the baselines refuse, with the field named.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("invalid `{field}` = {value}: {reason}")]
pub struct ConfigError {
    /// The config field (dotted for nested fields).
    pub field: &'static str,
    /// The refused value, rendered.
    pub value: String,
    /// Why it is refused.
    pub reason: String,
}

impl ConfigError {
    /// A refusal of `field` = `value`.
    pub fn new(field: &'static str, value: impl ToString, reason: impl Into<String>) -> Self {
        Self {
            field,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

impl From<ConfigError> for fmseg_data::FieldError {
    fn from(e: ConfigError) -> Self {
        Self::new(e.field, format!("{} ({})", e.reason, e.value))
    }
}

/// Refuses `field` when `bad` holds.
pub(crate) fn ensure(
    ok: bool,
    field: &'static str,
    value: impl ToString,
    reason: &str,
) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(field, value, reason))
    }
}

/// One loss evaluation: the scalar to back-propagate plus its named parts (for logging).
#[derive(Debug, Clone)]
pub struct LossOutput {
    /// The total loss, shape `[1]`.
    pub total: Tensor<1>,
    /// Named (unweighted) terms, each shape `[1]`, e.g. `("reconstruction", ..)`, `("kl", ..)`.
    pub terms: Vec<(&'static str, Tensor<1>)>,
}

impl LossOutput {
    /// The named term, if present.
    pub fn term(&self, name: &str) -> Option<&Tensor<1>> {
        self.terms.iter().find(|(n, _)| *n == name).map(|(_, t)| t)
    }

    /// Every term read back to the host (for logging), total first under `"total"`.
    pub fn to_host(&self) -> Vec<(&'static str, f32)> {
        let mut out = vec![("total", self.total.clone().into_scalar::<f32>())];
        out.extend(
            self.terms
                .iter()
                .map(|(n, t)| (*n, t.clone().into_scalar::<f32>())),
        );
        out
    }
}

/// How a per-pixel reconstruction loss is reduced to a scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reduction {
    /// Mean over pixels and batch (scale independent of the image size).
    Mean,
    /// Sum over pixels, mean over the batch: the authors' code (Kohl's `ce_loss`, PHiSeg).
    #[default]
    SumPixelsMeanBatch,
}

impl Reduction {
    /// Reduces a per-pixel loss `[B, C, H, W]` to `[1]`.
    pub fn reduce(self, per_pixel: Tensor<4>) -> Tensor<1> {
        let batch = per_pixel.dims()[0].max(1);
        match self {
            Self::Mean => per_pixel.mean(),
            Self::SumPixelsMeanBatch => per_pixel.sum().div_scalar(batch as f64),
        }
    }
}

/// Numerically stable binary cross-entropy with logits, per pixel:
/// `max(x, 0) − x·y + log(1 + exp(−|x|))`.
pub fn bce_with_logits(logits: Tensor<4>, targets: Tensor<4>) -> Tensor<4> {
    let relu = logits.clone().clamp_min(0.0);
    let soft = logits.clone().abs().neg().exp().log1p();
    relu - logits * targets + soft
}

/// A tensor of standard normal draws from the host generator `rng`, uploaded to `device`.
pub fn normal_tensor<const D: usize>(
    rng: &mut Rng,
    shape: [usize; D],
    device: &Device,
) -> Tensor<D> {
    let len: usize = shape.iter().product();
    let values: Vec<f32> = (0..len).map(|_| rng.normal() as f32).collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// Checks a sampling request: non-autodiff device, non-zero count, image shape.
pub(crate) fn check_request(
    images: &Tensor<4>,
    count: usize,
    channels: usize,
    size: usize,
) -> Result<(), SampleError> {
    let [_, c, h, w] = images.dims();
    let bad = |m: String| Err(SampleError::InvalidRequest(m));
    if count == 0 {
        return bad("count must be at least 1".into());
    }
    if images.device().is_autodiff() {
        return bad("sample on a plain device (Module::valid() and plain-device images)".into());
    }
    if c != channels {
        return bad(format!(
            "images have {c} channels, the model expects {channels}"
        ));
    }
    if h != size || w != size {
        return bad(format!(
            "images are {h}x{w}, the model expects {size}x{size}"
        ));
    }
    Ok(())
}
