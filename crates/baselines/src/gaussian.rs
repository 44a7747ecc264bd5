//! Axis-aligned (diagonal) Gaussians with reparameterised sampling and the analytic KL.
//!
//! Used by every baseline: Prob-UNet's prior/posterior over a latent vector (Kohl et al. 2018,
//! paper-and-baselines §3.1, `AxisAlignedConvGaussian`), PHiSeg's spatial latents per level
//! (§3.2) and CIMD's AMN/ACN (§3.3). The distribution is parameterised by the mean μ and log σ,
//! as in the reference codes; the tensor rank `D` is 2 for latent vectors `[B, K]` and 4 for
//! latent maps `[B, K, H, W]`, axis 0 always being the batch.
//!
//! Noise is an explicit argument of [`DiagGaussian::rsample`]: training passes draws from a
//! host [`fmseg_data::rng::Rng`] (see [`crate::common::normal_tensor`]) and sampling passes
//! [`fmseg_model::seeded_normal`] draws, so both are reproducible and backend-independent.

use burn::tensor::Tensor;

/// `N(μ, diag(σ²))` per batch element.
#[derive(Debug, Clone)]
pub struct DiagGaussian<const D: usize> {
    /// μ, `[B, ...]`.
    pub mean: Tensor<D>,
    /// log σ, same shape as `mean`.
    pub log_std: Tensor<D>,
}

impl<const D: usize> DiagGaussian<D> {
    /// A Gaussian from μ and log σ of equal shape.
    ///
    /// # Panics
    ///
    /// If the shapes differ.
    pub fn new(mean: Tensor<D>, log_std: Tensor<D>) -> Self {
        assert_eq!(mean.dims(), log_std.dims(), "mean and log σ shapes differ");
        Self { mean, log_std }
    }

    /// The standard normal of the given shape on `mean`'s device.
    pub fn standard_like(mean: &Tensor<D>) -> Self {
        Self::new(mean.zeros_like(), mean.zeros_like())
    }

    /// σ = exp(log σ).
    pub fn std(&self) -> Tensor<D> {
        self.log_std.clone().exp()
    }

    /// The reparameterised draw `μ + σ·ε` for standard normal `noise` ε (gradients flow into
    /// μ and log σ).
    pub fn rsample(&self, noise: Tensor<D>) -> Tensor<D> {
        self.mean.clone() + self.std() * noise
    }

    /// KL(self ‖ other) per batch element, summed over all non-batch axes, shape `[B]`:
    ///
    /// `Σ_i log σ_p,i − log σ_q,i + (σ_q,i² + (μ_q,i − μ_p,i)²) / (2 σ_p,i²) − ½`.
    pub fn kl(&self, other: &Self) -> Tensor<1> {
        let var_ratio = (self.log_std.clone() - other.log_std.clone())
            .mul_scalar(2.0)
            .exp(); // σ_q² / σ_p²
        let mean_term = (self.mean.clone() - other.mean.clone()).square()
            / other.log_std.clone().mul_scalar(2.0).exp();
        let per_dim = (other.log_std.clone() - self.log_std.clone())
            + (var_ratio + mean_term).mul_scalar(0.5)
            - 0.5;
        let batch = per_dim.dims()[0];
        per_dim
            .reshape([batch as i32, -1])
            .sum_dim(1)
            .reshape([batch])
    }

    /// Log-density of `x` per batch element, summed over non-batch axes, shape `[B]`.
    pub fn log_prob(&self, x: Tensor<D>) -> Tensor<1> {
        let z = (x - self.mean.clone()) / self.std();
        let per_dim = z.square().mul_scalar(-0.5)
            - self.log_std.clone()
            - 0.5 * (2.0 * std::f64::consts::PI).ln();
        let batch = per_dim.dims()[0];
        per_dim
            .reshape([batch as i32, -1])
            .sum_dim(1)
            .reshape([batch])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn t2(values: Vec<f32>, shape: [usize; 2]) -> Tensor<2> {
        Tensor::from_data(TensorData::new(values, shape), &Device::flex())
    }

    fn host(t: Tensor<1>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn one_dimensional_kl_matches_closed_form() {
        // q = N(1, 0.5²), p = N(0, 1): KL = ln(1/0.5) + (0.25 + 1)/2 − 1/2 = ln 2 + 0.125.
        let q = DiagGaussian::new(t2(vec![1.0], [1, 1]), t2(vec![0.5f32.ln()], [1, 1]));
        let p = DiagGaussian::new(t2(vec![0.0], [1, 1]), t2(vec![0.0], [1, 1]));
        let kl = host(q.kl(&p))[0];
        let expected = 2f32.ln() + 0.125;
        assert!((kl - expected).abs() < 1e-6, "{kl} vs {expected}");
        // KL(p ‖ q) = ln 0.5 + (1 + 1)/(2·0.25) − 1/2 = −ln 2 + 3.5.
        let back = host(p.kl(&q))[0];
        assert!((back - (3.5 - 2f32.ln())).abs() < 1e-5, "{back}");
    }

    #[test]
    fn k_dimensional_kl_sums_per_batch_element() {
        // Element 0: identical distributions → 0. Element 1: μ_q = (1, 2, 0), σ_q = 1 against
        // the standard normal → ½·Σμ² = 2.5. Element 2: σ_q = e on 3 dims vs σ_p = 1:
        // 3·(−1 + (e² − 1)/2).
        let e = std::f32::consts::E;
        let mean = t2(vec![0.3, -0.2, 0.1, 1.0, 2.0, 0.0, 0.0, 0.0, 0.0], [3, 3]);
        let log_std = t2(vec![0.1, 0.2, -0.3, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0], [3, 3]);
        let pm = t2(vec![0.3, -0.2, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [3, 3]);
        let pl = t2(vec![0.1, 0.2, -0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [3, 3]);
        let kl = host(DiagGaussian::new(mean, log_std).kl(&DiagGaussian::new(pm, pl)));
        let expected = [0.0, 2.5, 3.0 * (-1.0 + (e * e - 1.0) / 2.0)];
        for (a, b) in kl.iter().zip(expected) {
            assert!((a - b).abs() < 1e-5, "{kl:?} vs {expected:?}");
        }
    }

    #[test]
    fn spatial_kl_and_log_prob_reduce_over_all_axes() {
        let device = Device::flex();
        let mean = Tensor::<4>::ones([2, 2, 3, 3], &device);
        let q = DiagGaussian::new(mean.clone(), mean.zeros_like());
        let p = DiagGaussian::standard_like(&mean);
        // ½·μ² per dim over 18 dims.
        assert_eq!(host(q.kl(&p)), vec![9.0, 9.0]);
        // log N(0; 0, 1) per dim = −½ ln 2π.
        let lp = host(p.log_prob(mean.zeros_like()));
        let expected = -9.0 * (2.0 * std::f32::consts::PI).ln();
        assert!((lp[0] - expected).abs() < 1e-4, "{lp:?}");
    }

    #[test]
    fn rsample_is_mean_plus_sigma_noise() {
        let q = DiagGaussian::new(
            t2(vec![1.0, -1.0], [1, 2]),
            t2(vec![2f32.ln(), 0.0], [1, 2]),
        );
        let z = q.rsample(t2(vec![0.5, 2.0], [1, 2]));
        assert_eq!(z.into_data().try_to_vec::<f32>().unwrap(), vec![2.0, 1.0]);
    }
}
