//! Sinusoidal embedding of the flow time and the time MLP (`time_embed`).
//!
//! Paper §1.4 "Time embedding" / guided-diffusion `timestep_embedding`: the raw flow time
//! t ∈ [0, 1] (never scaled by 999 or 1000) is expanded to `[cos(t·f_0..), sin(t·f_0..)]` (cos
//! half first) with `f_i = exp(−ln(10000)·i/half)`, `half = model_channels / 2`, then mapped by
//! `Linear(C→4C) → SiLU → Linear(4C→4C)` (official keys `time_embed.0` and `time_embed.2`).
//! The frequencies reproduce PyTorch's float32 arithmetic: ln(10000) is computed in f64, cast
//! to f32, then multiplied by `i` and divided by `half` in f32.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::silu;
use burn::tensor::{Device, FloatDType, Tensor, TensorData};

use crate::precision::to_dtype;

/// `max_period` of the official sinusoid.
pub const MAX_PERIOD: f64 = 10_000.0;

/// The `dim / 2` frequencies `f_i = exp(−ln(10000)·i/half)`, in PyTorch's f32 operation order.
pub fn timestep_frequencies(dim: usize) -> Vec<f32> {
    let half = dim / 2;
    let neg_log = -(MAX_PERIOD.ln() as f32);
    (0..half)
        .map(|i| (neg_log * i as f32 / half as f32).exp())
        .collect()
}

/// Sinusoidal features of the flow time.
///
/// # Shapes
///
/// - `t`: `[B]`, raw flow time
/// - returns `[B, dim]`: `[cos(t·f), sin(t·f)]`, plus one zero column when `dim` is odd
pub fn timestep_embedding(t: Tensor<1>, dim: usize) -> Tensor<2> {
    let freqs = frequency_row(dim, &t.device());
    embed_with(t, freqs, dim)
}

/// The frequencies as a `[1, dim / 2]` row on `device`.
fn frequency_row(dim: usize, device: &Device) -> Tensor<2> {
    let freqs = timestep_frequencies(dim);
    let half = freqs.len();
    Tensor::<2>::from_data(TensorData::new(freqs, [1, half]), device)
}

/// [`timestep_embedding`] with the frequency row `[1, dim / 2]` given.
fn embed_with(t: Tensor<1>, freqs: Tensor<2>, dim: usize) -> Tensor<2> {
    let device = t.device();
    let args = t.unsqueeze_dim::<2>(1) * freqs; // [B, half]
    let mut parts = vec![args.clone().cos(), args.sin()];
    if dim % 2 == 1 {
        let batch = parts[0].dims()[0];
        parts.push(Tensor::zeros([batch, 1], &device));
    }
    Tensor::cat(parts, 1) // [B, dim]
}

/// The time MLP `Linear(C→4C) → SiLU → Linear(4C→4C)`.
#[derive(Module, Debug)]
pub struct TimeEmbed {
    /// `time_embed.0`, C → 4C.
    pub(crate) linear_in: Linear,
    /// `time_embed.2`, 4C → 4C.
    pub(crate) linear_out: Linear,
    /// C, the sinusoid width.
    pub(crate) model_channels: usize,
    /// The sinusoid's frequencies `[1, C / 2]`, uploaded once with the module (a constant: not
    /// a parameter, not exported, moved with the module).
    pub(crate) freqs: Tensor<2>,
}

impl TimeEmbed {
    /// A randomly initialised (PyTorch-default bounds) time MLP for `model_channels` = C.
    pub fn new(model_channels: usize, device: &Device) -> Self {
        let width = 4 * model_channels;
        Self {
            linear_in: LinearConfig::new(model_channels, width).init(device),
            linear_out: LinearConfig::new(width, width).init(device),
            model_channels,
            freqs: frequency_row(model_channels, device),
        }
    }

    /// The sinusoid and the embedding.
    ///
    /// # Shapes
    ///
    /// - `t`: `[B]`
    /// - returns (`[B, C]` sinusoid, `[B, 4C]` embedding)
    pub fn forward_with_sinusoid(&self, t: Tensor<1>) -> (Tensor<2>, Tensor<2>) {
        let sinusoid = embed_with(t, self.freqs.clone(), self.model_channels);
        // The sinusoid stays in the time's f32; the MLP runs in its weights' type.
        let weights = FloatDType::from(self.linear_in.weight.val().dtype());
        let hidden = silu(self.linear_in.forward(to_dtype(sinusoid.clone(), weights)));
        (sinusoid, self.linear_out.forward(hidden))
    }

    /// The embedding `[B, 4C]` of `t` `[B]`.
    pub fn forward(&self, t: Tensor<1>) -> Tensor<2> {
        self.forward_with_sinusoid(t).1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_follow_the_official_formula() {
        let f = timestep_frequencies(64);
        assert_eq!(f.len(), 32);
        assert_eq!(f[0], 1.0);
        // f_i = 10000^(-i/32): f_16 = 10000^(-1/2) = 0.01.
        assert!((f[16] - 0.01).abs() < 1e-8, "{}", f[16]);
        // The f32 operation order (as PyTorch) differs from exact arithmetic by a few ulp.
        let exact_31 = (-(10000f64.ln()) * 31.0 / 32.0).exp();
        assert!(
            (f64::from(f[31]) / exact_31 - 1.0).abs() < 1e-6,
            "{}",
            f[31]
        );
    }

    #[test]
    fn embedding_is_cos_half_then_sin_half() {
        let device = Device::flex();
        let t = Tensor::<1>::from_data(TensorData::new(vec![0.0f32, 0.5], [2]), &device);
        let e = timestep_embedding(t, 8)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        // t = 0: cos = 1, sin = 0.
        assert_eq!(&e[..8], &[1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
        // t = 0.5, dim 8 → half 4, f = [1, 10000^-1/4, 10000^-1/2, 10000^-3/4].
        for (i, f) in [1.0f64, 0.1, 0.01, 0.001].iter().enumerate() {
            let (c, s) = ((0.5 * f).cos() as f32, (0.5 * f).sin() as f32);
            assert!((e[8 + i] - c).abs() < 1e-6, "cos {i}: {} vs {c}", e[8 + i]);
            assert!(
                (e[12 + i] - s).abs() < 1e-6,
                "sin {i}: {} vs {s}",
                e[12 + i]
            );
        }
    }

    #[test]
    fn odd_width_is_zero_padded() {
        let device = Device::flex();
        let t = Tensor::<1>::from_data(TensorData::new(vec![0.3f32], [1]), &device);
        let e = timestep_embedding(t, 5);
        assert_eq!(e.dims(), [1, 5]);
        assert_eq!(e.into_data().try_to_vec::<f32>().unwrap()[4], 0.0);
    }

    #[test]
    fn mlp_maps_to_four_c() {
        let device = Device::flex();
        let mlp = TimeEmbed::new(32, &device);
        let t = Tensor::<1>::from_data(TensorData::new(vec![0.1f32, 0.9, 0.4], [3]), &device);
        let (s, e) = mlp.forward_with_sinusoid(t);
        assert_eq!(s.dims(), [3, 32]);
        assert_eq!(e.dims(), [3, 128]);
    }
}
