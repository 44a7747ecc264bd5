//! Unit tests that need the whole network (config parsing, layout, shapes, weight round trips).

mod config;
mod forward;
mod weights;

use super::{NamedTensor, UNet, UNetConfig};
use burn::tensor::Device;

/// SplitMix64 uniform in [-1, 1).
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(super) fn uniform(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// Parameters drawn like the fixtures (weights ~ U·√(3/fan_in), GN gamma ≈ 1, small biases), so
/// that no zero-initialised layer hides a path.
pub(super) fn random_tensors(unet: &UNet, seed: u64) -> Vec<NamedTensor> {
    let mut rng = Rng::new(seed);
    unet.parameter_shapes()
        .into_iter()
        .map(|(key, shape)| {
            let n: usize = shape.iter().product();
            let data = if shape.len() > 1 {
                let fan_in: usize = shape[1..].iter().product();
                let bound = (3.0 / fan_in as f32).sqrt();
                (0..n).map(|_| rng.uniform() * bound).collect()
            } else if key.ends_with(".weight") {
                (0..n).map(|_| 1.0 + 0.1 * rng.uniform()).collect()
            } else {
                (0..n).map(|_| 0.05 * rng.uniform()).collect()
            };
            (key, shape, data)
        })
        .collect()
}

/// A small network with random (non-zero) parameters.
pub(super) fn random_unet(config: &UNetConfig, seed: u64) -> UNet {
    let unet = config.init(&Device::flex());
    let tensors = random_tensors(&unet, seed);
    unet.load_named_tensors(tensors, "random").unwrap()
}

/// A 2-level, 1-block network with attention at factor 2 (cheap but complete).
pub(super) fn tiny_config() -> UNetConfig {
    UNetConfig {
        channel_mult: vec![1, 2],
        num_res_blocks: 1,
        attention_resolutions: vec![2],
        ..UNetConfig::cpu_small()
    }
}
