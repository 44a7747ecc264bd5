//! Exact log-likelihood of a mask under the learned flow by the instantaneous change of
//! variables (Chen et al. 2018, "Neural ODEs" §4; Grathwohl et al. 2019, FFJORD §2–3), applied to
//! the paper's flow (§1.1: x0 ~ N(0, I) at t = 0, masks x1 = 2·mask − 1 at t = 1):
//!
//! `log p1(x1) = log N(x0; 0, I) − ∫₀¹ div v(x_t, t) dt`, with `x_t` obtained by integrating
//! the ODE backwards from `x1` at t = 1 to `x0` at t = 0. The state is augmented with the
//! running divergence integral and solved by any [`crate::ode`] solver.
//!
//! The divergence needs autodiff: the field is called on autodiff states and must support them
//! (a U-Net field should be built with `dropout = 0`, since burn's dropout is active on autodiff
//! tensors). Two estimators:
//! - [`Divergence::Exact`]: all D = C·H·W diagonal Jacobian entries. The state is replicated D
//!   times (in chunks of `chunk` copies per pass), copy i contributes `∂v_i/∂x_i` through one
//!   backward of `Σ v ⊙ I`, so each velocity evaluation costs ⌈D/chunk⌉ forward+backward passes on
//!   `chunk·B` states. Only for small images.
//! - [`Divergence::Hutchinson`]: `εᵀ(∂v/∂x)ε` with P Rademacher probes (seeded, held fixed
//!   along the trajectory as in FFJORD) by one vector–Jacobian product on a `P·B` batch. The
//!   estimate is the mean over probes; its standard error is `std_p / √P`.
//!
//! Results are in nats and in bits per pixel `−log p / (D·ln 2)`.

use burn::tensor::{Device, Int, Tensor, TensorData};
use fmseg_data::rng::Rng;
use thiserror::Error;

use crate::ode::{OdeError, SolverConfig, VelocityField, solve};

/// The divergence estimator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Divergence {
    /// Exact trace; `chunk` = state copies per autodiff pass (≥ 1).
    Exact {
        /// Copies per pass.
        chunk: usize,
    },
    /// Hutchinson trace estimate with `probes` Rademacher vectors drawn from `seed`.
    Hutchinson {
        /// Number of probes (≥ 2 for a standard error).
        probes: usize,
        /// Probe seed.
        seed: u64,
    },
}

/// Likelihood settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LikelihoodConfig {
    /// The solver of the backward integration.
    pub solver: SolverConfig,
    /// The divergence estimator.
    pub divergence: Divergence,
    /// Optional uniform dequantisation `x1 += width·(u − ½)`, u ~ U(0, 1) from `seed`.
    pub dequantise: Option<(f64, u64)>,
}

/// Per-image log-likelihoods.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLikelihood {
    /// `log p1(x1)` in nats, one per image.
    pub nats: Vec<f64>,
    /// `−log p1 / (D·ln 2)`.
    pub bits_per_pixel: Vec<f64>,
    /// Standard error of `nats` over probes (0 for the exact trace).
    pub std_error: Vec<f64>,
    /// Augmented-field evaluations of the solver.
    pub nfe: usize,
}

/// Why the likelihood could not be computed.
#[derive(Debug, Error)]
pub enum LikelihoodError {
    /// A setting or input is out of range.
    #[error("invalid likelihood request: {0}")]
    Invalid(String),
    /// The ODE solve failed.
    #[error(transparent)]
    Ode(#[from] OdeError),
    /// Autodiff returned no gradient or reading back failed.
    #[error("autodiff / readback: {0}")]
    Backend(String),
}

/// The augmented field on packed states `[B, 1, 1, D + P]`: velocity and divergence estimates.
struct Augmented<'a, F> {
    field: &'a F,
    shape: [usize; 4],
    divergence: Divergence,
    probes: Option<Tensor<2>>,
}

impl<F: VelocityField> Augmented<'_, F> {
    fn extra(&self) -> usize {
        match self.divergence {
            Divergence::Exact { .. } => 1,
            Divergence::Hutchinson { probes, .. } => probes,
        }
    }

    /// `x` `[B, D]` (plain) → `k` copies `[k·B, D]`, copy-major, as an autodiff leaf.
    fn copies(&self, x: &Tensor<2>, k: usize) -> Tensor<2> {
        let [b, d] = x.dims();
        let rows = x.clone().unsqueeze_dim::<3>(0).repeat_dim(0, k);
        rows.reshape([k * b, d]).autodiff().require_grad()
    }

    /// The field on `leaf` `[k·B, D]` → `[k·B, D]`.
    fn field_flat(&self, leaf: &Tensor<2>, t: f64) -> Tensor<2> {
        let [_, c, h, w] = self.shape;
        let [rows, d] = leaf.dims();
        let v = self
            .field
            .velocity(leaf.clone().reshape([rows, c, h, w]), t);
        v.reshape([rows, d])
    }

    /// `x` `[B, D]` (plain) → (v `[B, D]`, div `[B, extra]`).
    fn eval(&self, x: Tensor<2>, t: f64) -> (Tensor<2>, Tensor<2>) {
        match (self.divergence, &self.probes) {
            (Divergence::Hutchinson { probes, .. }, Some(eps)) => {
                self.hutchinson(x, t, probes, eps)
            }
            (Divergence::Exact { chunk }, _) => self.exact(x, t, chunk),
            (Divergence::Hutchinson { .. }, None) => self.exact(x, t, 1),
        }
    }

    /// P Rademacher estimates `εᵀ(∂v/∂x)ε`, one vector–Jacobian product on `[P·B, D]`.
    fn hutchinson(
        &self,
        x: Tensor<2>,
        t: f64,
        probes: usize,
        eps: &Tensor<2>,
    ) -> (Tensor<2>, Tensor<2>) {
        let b = x.dims()[0];
        let leaf = self.copies(&x, probes);
        let v = self.field_flat(&leaf, t);
        let grads = (v.clone() * eps.clone().autodiff()).sum().backward();
        let g = leaf.grad(&grads).unwrap_or_else(|| eps.zeros_like()); // εᵀJ
        let est = (g * eps.clone())
            .sum_dim(1)
            .reshape([probes, b])
            .transpose();
        (v.inner().narrow(0, 0, b), est)
    }

    /// The exact trace: copy i of the state contributes `∂v_i/∂x_i`, `chunk` copies per pass.
    fn exact(&self, x: Tensor<2>, t: f64, chunk: usize) -> (Tensor<2>, Tensor<2>) {
        let [b, d] = x.dims();
        let device = x.device();
        let chunk = chunk.clamp(1, d);
        let mut div = Tensor::<2>::zeros([b, 1], &device);
        let mut v_out = None;
        for start in (0..d).step_by(chunk) {
            let k = chunk.min(d - start);
            let leaf = self.copies(&x, k);
            let v = self.field_flat(&leaf, t);
            let rows = basis(start, k, d, &device)
                .unsqueeze_dim::<3>(1)
                .repeat_dim(1, b);
            let basis = rows.reshape([k * b, d]); // row (i, b) = e_{start+i}
            let grads = (v.clone() * basis.clone().autodiff()).sum().backward();
            let g = leaf.grad(&grads).unwrap_or_else(|| basis.zeros_like());
            let diag = (g * basis).sum_dim(1).reshape([k, b]);
            div = div + diag.sum_dim(0).reshape([b, 1]);
            v_out.get_or_insert_with(|| v.inner().narrow(0, 0, b));
        }
        (v_out.unwrap_or_else(|| x.zeros_like()), div)
    }
}

/// Rows `start..start+k` of the D×D identity, `[k, D]`, built on the device: row index
/// `start + r` compared with column index `c` (no host buffer of k·D floats, and no read-back
/// as `one_hot`'s range check would do).
fn basis(start: usize, k: usize, d: usize, device: &Device) -> Tensor<2> {
    let rows = Tensor::<1, Int>::arange(start as i64..(start + k) as i64, device)
        .reshape([k, 1])
        .expand([k, d]);
    let cols = Tensor::<1, Int>::arange(0..d as i64, device)
        .reshape([1, d])
        .expand([k, d]);
    rows.equal(cols).float()
}

impl<F: VelocityField> VelocityField for Augmented<'_, F> {
    fn velocity(&self, state: Tensor<4>, t: f64) -> Tensor<4> {
        let [b, c, h, w] = self.shape;
        let d = c * h * w;
        let e = self.extra();
        let x = state.reshape([b, d + e]).narrow(1, 0, d);
        let (v, div) = self.eval(x, t);
        Tensor::cat(vec![v, div], 1).reshape([b, 1, 1, d + e])
    }
}

/// `log p1` of `mask` `[B, C, H, W]` (values in [0, 1], typically {0, 1}) under `field`.
pub fn log_likelihood(
    field: &impl VelocityField,
    mask: Tensor<4>,
    config: &LikelihoodConfig,
) -> Result<LogLikelihood, LikelihoodError> {
    let shape = mask.dims();
    let [b, c, h, w] = shape;
    let d = c * h * w;
    let device = mask.device();
    if b == 0 || d == 0 {
        return Err(LikelihoodError::Invalid("empty mask batch".into()));
    }
    let mut x1 = mask * 2.0 - 1.0;
    if let Some((width, seed)) = config.dequantise {
        let mut rng = Rng::new(seed);
        let u: Vec<f32> = (0..b * d)
            .map(|_| (width * (rng.uniform() - 0.5)) as f32)
            .collect();
        x1 = x1 + Tensor::<4>::from_data(TensorData::new(u, shape), &device);
    }
    let probes = match config.divergence {
        Divergence::Exact { chunk: 0 } => {
            return Err(LikelihoodError::Invalid("chunk must be ≥ 1".into()));
        }
        Divergence::Exact { .. } => None,
        Divergence::Hutchinson { probes: 0, .. } => {
            return Err(LikelihoodError::Invalid("probes must be ≥ 1".into()));
        }
        Divergence::Hutchinson { probes, seed } => {
            let mut rng = Rng::new(seed);
            let eps: Vec<f32> = (0..probes * b * d)
                .map(|_| if rng.next_u64() & 1 == 1 { 1.0 } else { -1.0 })
                .collect();
            Some(Tensor::<2>::from_data(
                TensorData::new(eps, [probes * b, d]),
                &device,
            ))
        }
    };
    let aug = Augmented {
        field,
        shape,
        divergence: config.divergence,
        probes,
    };
    let e = aug.extra();
    let state = Tensor::cat(vec![x1.reshape([b, d]), Tensor::zeros([b, e], &device)], 1).reshape([
        b,
        1,
        1,
        d + e,
    ]);
    let solution = solve(&aug, state, 1.0, 0.0, &config.solver)?;
    let out = solution
        .x
        .reshape([b, d + e])
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|err| LikelihoodError::Backend(format!("{err:?}")))?;
    let half_log_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
    let (mut nats, mut bits, mut se) = (Vec::new(), Vec::new(), Vec::new());
    for row in out.chunks(d + e) {
        let log_p0: f64 = row[..d]
            .iter()
            .map(|&v| -0.5 * (v as f64).powi(2) - half_log_2pi)
            .sum();
        let acc: Vec<f64> = row[d..].iter().map(|&v| v as f64).collect();
        let mean = acc.iter().sum::<f64>() / e as f64;
        let var = if e > 1 {
            acc.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (e - 1) as f64
        } else {
            0.0
        };
        nats.push(log_p0 + mean);
        bits.push(-(log_p0 + mean) / (d as f64 * std::f64::consts::LN_2));
        se.push((var / e as f64).sqrt());
    }
    Ok(LogLikelihood {
        nats,
        bits_per_pixel: bits,
        std_error: se,
        nfe: solution.nfe,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basis_rows_are_identity_rows() {
        let device = Device::flex();
        let got = basis(2, 3, 6, &device)
            .into_data()
            .iter::<f32>()
            .collect::<Vec<_>>();
        let mut want = vec![0.0f32; 18];
        for r in 0..3 {
            want[r * 6 + 2 + r] = 1.0;
        }
        assert_eq!(got, want);
    }
}
