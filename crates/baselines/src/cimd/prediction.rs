//! What CIMD's denoiser predicts in its first output channel (guided-diffusion's
//! `ModelMeanType`: `EPSILON`, `START_X`; and the v-parameterisation of Salimans & Ho 2022,
//! arXiv 2202.00512), and how the sampler turns that prediction into x̂0.
//!
//! With x_t = √ᾱ·x0 + √(1−ᾱ)·ε:
//! - ε-prediction (the released code): x̂0 = x_t/√ᾱ − √(1/ᾱ − 1)·ε̂. An ε error is multiplied by
//!   √((1−ᾱ)/ᾱ) (157× at t = 999 of the linear schedule), so an under-trained denoiser's x̂0 at
//!   high noise is a smoothed sign of the starting noise (`../shared/docs/cimd-diagnosis.md`).
//! - x0-prediction: the denoiser outputs x̂0 directly; its error is not amplified.
//! - v-prediction: v = √ᾱ·ε − √(1−ᾱ)·x0, x̂0 = √ᾱ·x_t − √(1−ᾱ)·v̂; also bounded.
//!
//! Every coefficient is a per-row `[B, 1, 1, 1]` tensor (training) or a `[1, 1, 1, 1]` one
//! (sampling), built by [`super::model::coef`].

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// The denoiser's regression target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Prediction {
    /// The noise ε (guided-diffusion `EPSILON`, the released CIMD code).
    #[default]
    Epsilon,
    /// The clean mask x0 ∈ [−1, 1] (guided-diffusion `START_X`).
    X0,
    /// The velocity v = √ᾱ·ε − √(1−ᾱ)·x0.
    V,
}

/// √ᾱ_t and √(1−ᾱ_t) per row, `[B, 1, 1, 1]`.
#[derive(Clone)]
pub struct NoiseLevel {
    /// √ᾱ_t.
    pub signal: Tensor<4>,
    /// √(1−ᾱ_t).
    pub noise: Tensor<4>,
}

impl Prediction {
    /// Whether this is the default ε-prediction.
    pub fn is_epsilon(&self) -> bool {
        *self == Prediction::Epsilon
    }

    /// The training target `[B, 1, H, W]` for clean masks `x0` and noise `eps`.
    pub fn target(self, x0: Tensor<4>, eps: Tensor<4>, level: &NoiseLevel) -> Tensor<4> {
        match self {
            Prediction::Epsilon => eps,
            Prediction::X0 => x0,
            Prediction::V => eps * level.signal.clone() - x0 * level.noise.clone(),
        }
    }

    /// x̂0 `[B, 1, H, W]` (unclipped) from the denoiser's first channel at noisy masks `x_t`.
    pub fn x0_hat(self, output: Tensor<4>, x_t: Tensor<4>, level: &NoiseLevel) -> Tensor<4> {
        match self {
            Prediction::Epsilon => (x_t - output * level.noise.clone()) / level.signal.clone(),
            Prediction::X0 => output,
            Prediction::V => x_t * level.signal.clone() - output * level.noise.clone(),
        }
    }

    /// ε̂ `[B, 1, H, W]` implied by `x0_hat` at `x_t` (for the DDIM update and the released
    /// code's prior, which sees ε̂): `(x_t − √ᾱ·x̂0)/√(1−ᾱ)`.
    pub fn eps_hat(x0_hat: Tensor<4>, x_t: Tensor<4>, level: &NoiseLevel) -> Tensor<4> {
        (x_t - x0_hat * level.signal.clone()) / level.noise.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn t(v: Vec<f32>) -> Tensor<4> {
        let n = v.len();
        Tensor::from_data(TensorData::new(v, [1, 1, 1, n]), &Device::flex())
    }

    fn scalar(v: f32) -> Tensor<4> {
        t(vec![v])
    }

    fn close(a: Tensor<4>, b: Tensor<4>) {
        let (a, b) = (
            a.into_data().try_to_vec::<f32>().unwrap(),
            b.into_data().try_to_vec::<f32>().unwrap(),
        );
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-5, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn the_exact_target_gives_back_x0_and_eps() {
        // ᾱ = 0.36: √ᾱ = 0.6, √(1−ᾱ) = 0.8.
        let level = NoiseLevel {
            signal: scalar(0.6),
            noise: scalar(0.8),
        };
        let x0 = t(vec![-1.0, 1.0, 1.0, -1.0]);
        let eps = t(vec![0.3, -1.2, 2.0, 0.0]);
        let x_t = x0.clone() * level.signal.clone() + eps.clone() * level.noise.clone();
        for p in [Prediction::Epsilon, Prediction::X0, Prediction::V] {
            let target = p.target(x0.clone(), eps.clone(), &level);
            let x0_hat = p.x0_hat(target, x_t.clone(), &level);
            close(x0_hat.clone(), x0.clone());
            close(
                Prediction::eps_hat(x0_hat, x_t.clone(), &level),
                eps.clone(),
            );
        }
    }

    #[test]
    fn only_epsilon_amplifies_an_error_at_high_noise() {
        // ᾱ = 1e-4 (t ≈ 999): an output error of 0.01 moves x̂0 by 0.01·√(1−ᾱ)/√ᾱ ≈ 1 under ε,
        // by 0.01 under x0 and by ≈ 0.01 under v.
        let a: f32 = 1e-4;
        let level = NoiseLevel {
            signal: scalar(a.sqrt()),
            noise: scalar((1.0 - a).sqrt()),
        };
        let x_t = scalar(0.5);
        for (p, bound) in [
            (Prediction::Epsilon, 2.0),
            (Prediction::X0, 0.011),
            (Prediction::V, 0.011),
        ] {
            let a0 = p
                .x0_hat(scalar(0.2), x_t.clone(), &level)
                .into_scalar::<f32>();
            let a1 = p
                .x0_hat(scalar(0.21), x_t.clone(), &level)
                .into_scalar::<f32>();
            let moved = (a1 - a0).abs();
            assert!(moved < bound, "{p:?}: {moved}");
            if p == Prediction::Epsilon {
                assert!(moved > 0.9, "{moved}");
            }
        }
        assert_eq!(
            serde_json::from_str::<Prediction>(r#""x0""#).unwrap(),
            Prediction::X0
        );
    }
}
