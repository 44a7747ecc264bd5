//! Adaptive Dormand–Prince 5(4) (torchdiffeq `dopri5`; Hairer, Nørsett & Wanner, *Solving
//! Ordinary Differential Equations I*, §II.4–5).
//!
//! Seven stages with FSAL (the last stage of an accepted step is the first of the next, so a step
//! costs 6 new evaluations), the 5th-order solution is propagated, and the embedded 4th-order one
//! gives the error estimate. The error norm is the RMS over all elements of
//! `err / (atol + rtol·max(|x|, |x_new|))`; a step is accepted when it is ≤ 1. The next step is
//! `h·clamp(0.9·norm^(−1/5), 0.2, 10)`. The first step follows Hairer's heuristic
//! `h0 = 0.01·‖x0‖/‖v(t0, x0)‖` (scaled norms), capped at the interval length.

use burn::tensor::Tensor;

use super::{OdeError, OdeSolution, SolverConfig, VelocityField};

const C: [f64; 6] = [1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0, 1.0, 1.0];
const A: [&[f64]; 6] = [
    &[1.0 / 5.0],
    &[3.0 / 40.0, 9.0 / 40.0],
    &[44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0],
    &[
        19372.0 / 6561.0,
        -25360.0 / 2187.0,
        64448.0 / 6561.0,
        -212.0 / 729.0,
    ],
    &[
        9017.0 / 3168.0,
        -355.0 / 33.0,
        46732.0 / 5247.0,
        49.0 / 176.0,
        -5103.0 / 18656.0,
    ],
    &[
        35.0 / 384.0,
        0.0,
        500.0 / 1113.0,
        125.0 / 192.0,
        -2187.0 / 6784.0,
        11.0 / 84.0,
    ],
];
/// 5th-order weights minus the embedded 4th-order weights (7 stages).
const E: [f64; 7] = [
    35.0 / 384.0 - 5179.0 / 57600.0,
    0.0,
    500.0 / 1113.0 - 7571.0 / 16695.0,
    125.0 / 192.0 - 393.0 / 640.0,
    -2187.0 / 6784.0 + 92097.0 / 339200.0,
    11.0 / 84.0 - 187.0 / 2100.0,
    -1.0 / 40.0,
];

fn combine(x: &Tensor<4>, h: f64, coeffs: &[f64], ks: &[Tensor<4>]) -> Tensor<4> {
    let mut out = x.clone();
    for (&c, k) in coeffs.iter().zip(ks) {
        if c != 0.0 {
            out = out + k.clone() * (h * c);
        }
    }
    out
}

/// RMS of `v / (atol + rtol·scale)`.
fn scaled_rms(v: &Tensor<4>, scale: &Tensor<4>, atol: f64, rtol: f64) -> f64 {
    let ratio = v.clone() / (scale.clone() * rtol + atol);
    let mean_sq = (ratio.clone() * ratio).mean().into_scalar::<f32>() as f64;
    mean_sq.sqrt()
}

/// Integrates adaptively from `(t0, x0)` to `t1` with `config.atol`, `config.rtol` and at most
/// `config.max_steps` attempted steps.
///
/// # Shapes
/// `x0`: `[B, C, H, W]` → `OdeSolution::x` of the same shape. The error norm pools the whole
/// batch, so batched solves share one step-size sequence.
pub fn solve_dopri5(
    field: &impl VelocityField,
    x0: Tensor<4>,
    t0: f64,
    t1: f64,
    config: &SolverConfig,
) -> Result<OdeSolution, OdeError> {
    let (atol, rtol) = (config.atol, config.rtol);
    if !(atol > 0.0 && rtol >= 0.0 && atol.is_finite() && rtol.is_finite()) {
        return Err(OdeError::InvalidConfig(format!(
            "dopri5 needs atol > 0 and rtol ≥ 0, got {atol}, {rtol}"
        )));
    }
    let span = t1 - t0;
    let mut x = x0;
    let mut nfe = 0;
    let (mut steps, mut rejected) = (0, 0);
    if span == 0.0 {
        return Ok(OdeSolution {
            x,
            nfe,
            steps,
            rejected,
        });
    }
    let dir = span.signum();
    let mut t = t0;
    let mut k1 = field.velocity(x.clone(), t);
    nfe += 1;
    let abs_x = x.clone().abs();
    let d0 = scaled_rms(&x, &abs_x, atol, rtol);
    let d1 = scaled_rms(&k1, &abs_x, atol, rtol);
    let mut h = if d0 < 1e-5 || d1 < 1e-5 {
        1e-6
    } else {
        0.01 * d0 / d1
    };
    h = h.min(span.abs()) * dir;
    while (t1 - t) * dir > 0.0 {
        if steps + rejected >= config.max_steps {
            return Err(OdeError::MaxSteps {
                t,
                steps: steps + rejected,
            });
        }
        if (t + h - t1) * dir > 0.0 {
            h = t1 - t;
        }
        let mut ks = vec![k1.clone()];
        for (c, a) in C.iter().zip(A) {
            let xi = combine(&x, h, a, &ks);
            ks.push(field.velocity(xi, t + c * h));
        }
        nfe += 6;
        let x_new = combine(&x, h, A[5], &ks);
        let err = combine(&x.zeros_like(), h, &E, &ks);
        let scale = x.clone().abs().max_pair(x_new.clone().abs());
        let norm = scaled_rms(&err, &scale, atol, rtol);
        if !norm.is_finite() {
            return Err(OdeError::StepUnderflow { t });
        }
        let factor = if norm == 0.0 {
            10.0
        } else {
            (0.9 * norm.powf(-0.2)).clamp(0.2, 10.0)
        };
        if norm <= 1.0 {
            t = if (t + h - t1) * dir >= 0.0 { t1 } else { t + h };
            x = x_new;
            k1 = ks.pop().unwrap_or(k1);
            steps += 1;
        } else {
            rejected += 1;
        }
        h *= factor;
        if h.abs() < 1e-12 * span.abs().max(1.0) {
            return Err(OdeError::StepUnderflow { t });
        }
    }
    Ok(OdeSolution {
        x,
        nfe,
        steps,
        rejected,
    })
}
