//! The variational-bound pieces of improved DDPM / guided-diffusion (`losses.py`).

use burn::tensor::Tensor;

/// KL(N(μ₁, e^{lv₁}) ‖ N(μ₂, e^{lv₂})) per element, in nats:
/// `½(−1 + lv₂ − lv₁ + e^{lv₁−lv₂} + (μ₁−μ₂)² e^{−lv₂})`.
pub fn normal_kl(
    mean1: Tensor<4>,
    logvar1: Tensor<4>,
    mean2: Tensor<4>,
    logvar2: Tensor<4>,
) -> Tensor<4> {
    let diff = (logvar1.clone() - logvar2.clone()).exp();
    let sq = (mean1 - mean2).square() * logvar2.clone().neg().exp();
    (logvar2 - logvar1 + diff + sq - 1.0).mul_scalar(0.5)
}

/// guided-diffusion's tanh approximation of the standard normal CDF.
fn approx_standard_normal_cdf(x: Tensor<4>) -> Tensor<4> {
    let c = (2.0 / std::f64::consts::PI).sqrt();
    let inner = (x.clone() + x.powi_scalar(3).mul_scalar(0.044715)).mul_scalar(c);
    (inner.tanh() + 1.0).mul_scalar(0.5)
}

/// Log-likelihood (nats) per element of data `x ∈ [−1, 1]` discretised to 256 bins under
/// N(μ, e^{2·log_scale}), with open-ended edge bins (guided-diffusion
/// `discretized_gaussian_log_likelihood`).
pub fn discretized_gaussian_log_likelihood(
    x: Tensor<4>,
    mean: Tensor<4>,
    log_scale: Tensor<4>,
) -> Tensor<4> {
    let centered = x.clone() - mean;
    let inv_std = log_scale.neg().exp();
    let cdf_plus = approx_standard_normal_cdf((centered.clone() + 1.0 / 255.0) * inv_std.clone());
    let cdf_min = approx_standard_normal_cdf((centered - 1.0 / 255.0) * inv_std);
    let log_cdf_plus = cdf_plus.clone().clamp_min(1e-12).log();
    let log_one_minus_cdf_min = (cdf_min.clone().neg() + 1.0).clamp_min(1e-12).log();
    let log_delta = (cdf_plus - cdf_min).clamp_min(1e-12).log();
    let upper = log_delta.mask_where(x.clone().greater_elem(0.999), log_one_minus_cdf_min);
    upper.mask_where(x.lower_elem(-0.999), log_cdf_plus)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn t(v: Vec<f32>) -> Tensor<4> {
        let n = v.len();
        Tensor::from_data(TensorData::new(v, [1, 1, 1, n]), &Device::flex())
    }

    #[test]
    fn normal_kl_closed_forms() {
        // Equal → 0; N(1, 1) vs N(0, 1) → ½; N(0, e²) vs N(0, 1) → ½(−1 − 2 + e²).
        let e2 = std::f32::consts::E.powi(2);
        let kl = normal_kl(
            t(vec![0.0, 1.0, 0.0]),
            t(vec![0.3, 0.0, 2.0]),
            t(vec![0.0, 0.0, 0.0]),
            t(vec![0.3, 0.0, 0.0]),
        );
        let v = kl.into_data().try_to_vec::<f32>().unwrap();
        let expected = [0.0, 0.5, 0.5 * (-3.0 + e2)];
        for (a, b) in v.iter().zip(expected) {
            assert!((a - b).abs() < 1e-5, "{v:?}");
        }
    }

    #[test]
    fn edge_bins_are_open_ended() {
        // x = 1 with μ = 1 and σ = e⁻⁸: P(x > 1 − 1/255) ≈ 1 → log-likelihood ≈ 0.
        let ll = discretized_gaussian_log_likelihood(
            t(vec![1.0, -1.0]),
            t(vec![1.0, -1.0]),
            t(vec![-8.0, -8.0]),
        );
        let v = ll.into_data().try_to_vec::<f32>().unwrap();
        assert!(v.iter().all(|x| x.abs() < 1e-4), "{v:?}");
        // σ = e⁻⁵: the edge bin holds 1 − Φ(−e⁵/255) = Φ(0.582) ≈ 0.7197.
        let ll = discretized_gaussian_log_likelihood(t(vec![1.0]), t(vec![1.0]), t(vec![-5.0]));
        assert!((ll.into_scalar::<f32>() - 0.7197f32.ln()).abs() < 2e-3);
        // μ far on the other side → very unlikely.
        let far = discretized_gaussian_log_likelihood(t(vec![1.0]), t(vec![-1.0]), t(vec![-3.0]));
        assert!(far.into_scalar::<f32>() < -20.0);
    }
}
