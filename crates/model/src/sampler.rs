//! The seam every segmentation method implements: given a batch of images, a sample count and a
//! seed, return soft masks in [0, 1] plus the cost of drawing them. The flow model, Prob-UNet,
//! PHiSeg and CIMD all implement [`SegmentationSampler`], so the runner treats them alike
//! (style-anchors §8.2: candle's `WithForward`, linfa's `Predict`).
//!
//! Noise is drawn from a seeded CPU generator ([`seeded_normal`]) and uploaded, so CPU and GPU
//! runs — and every prefix of a sample-count sweep — see the same draws.

use burn::tensor::{Device, Tensor, TensorData};
use fmseg_data::rng::Rng;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The methods compared in the paper; ids as used in configs and result tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MethodId {
    /// Conditional flow matching (the paper's method).
    #[serde(rename = "flow")]
    Flow,
    /// Probabilistic U-Net (Kohl et al. 2018).
    #[serde(rename = "prob-unet")]
    ProbUnet,
    /// PHiSeg (Baumgartner et al. 2019).
    #[serde(rename = "phiseg")]
    Phiseg,
    /// CIMD (Rahman et al. 2023), a diffusion model.
    #[serde(rename = "cimd")]
    Cimd,
}

impl MethodId {
    /// Every method, in table order.
    pub const ALL: [MethodId; 4] = [Self::Flow, Self::ProbUnet, Self::Phiseg, Self::Cimd];

    /// The id string (`flow`, `prob-unet`, `phiseg`, `cimd`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Flow => "flow",
            Self::ProbUnet => "prob-unet",
            Self::Phiseg => "phiseg",
            Self::Cimd => "cimd",
        }
    }

    /// Parses an id string.
    pub fn parse(id: &str) -> Option<Self> {
        id.parse().ok()
    }
}

fmseg_data::closed_names!(MethodId, MethodId::as_str);

/// Soft masks drawn for a batch of images, on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleSet {
    /// B×n×H×W values in [0, 1], row-major.
    pub masks: Vec<f32>,
    /// `[B, n, H, W]`.
    pub shape: [usize; 4],
    /// Network evaluations per image-sample (for the flow model: solver stages × guidance passes).
    pub nfe: usize,
    /// Wall-clock seconds spent drawing the whole set.
    pub seconds: f64,
}

/// Why sampling failed.
#[derive(Debug, Error)]
pub enum SampleError {
    /// The request is inconsistent with the model (channels, sizes, count 0, ...).
    #[error("invalid sampling request: {0}")]
    InvalidRequest(String),
    /// The backend failed while reading results back.
    #[error("reading samples back from the device: {0}")]
    Readback(String),
}

/// A model that draws plausible segmentations of images.
pub trait SegmentationSampler {
    /// The method id.
    fn method(&self) -> MethodId;

    /// Draws `count` soft masks for each image.
    ///
    /// # Shapes
    /// `images`: `[B, C, H, W]`, min–max normalised to [0, 1] → `SampleSet::shape = [B, count, H, W]`.
    fn sample(&self, images: Tensor<4>, count: usize, seed: u64) -> Result<SampleSet, SampleError>;
}

/// A `[d0, d1, d2, d3]` tensor of standard normal draws from the seeded CPU generator of
/// `(seed, stream)`, uploaded to `device`.
pub fn seeded_normal(shape: [usize; 4], seed: u64, stream: u64, device: &Device) -> Tensor<4> {
    let values = seeded_normal_values(shape.iter().product(), seed, stream);
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// The first `len` standard normal draws of the seeded CPU generator of `(seed, stream)`, on the
/// host: the values [`seeded_normal`] uploads, row-major.
pub fn seeded_normal_values(len: usize, seed: u64, stream: u64) -> Vec<f32> {
    let mut rng = Rng::for_item(seed, stream);
    (0..len).map(|_| rng.normal() as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_ids_round_trip() {
        for m in MethodId::ALL {
            assert_eq!(MethodId::parse(m.as_str()), Some(m));
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{}\"", m.as_str()));
        }
        assert_eq!(MethodId::parse("unet"), None);
    }

    #[test]
    fn seeded_noise_is_reproducible() {
        let device = Device::flex();
        let a = seeded_normal([1, 1, 2, 3], 5, 0, &device).into_data();
        let b = seeded_normal([1, 1, 2, 3], 5, 0, &device).into_data();
        let c = seeded_normal([1, 1, 2, 3], 5, 1, &device).into_data();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
