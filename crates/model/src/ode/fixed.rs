//! Fixed uniform-grid explicit Runge–Kutta methods (torchdiffeq `euler`, `midpoint`, `rk4`
//! semantics; Heun added). With `n` steps on `[t0, t1]`, `h = (t1 − t0)/n` and the k-th step
//! starts at `t0 + k·h` (computed from k, not accumulated, so the grid has no drift).
//!
//! Per step from `(t, x)`:
//! - Euler: `x ← x + h·v(t, x)`.
//! - Midpoint (the paper's): `k1 = v(t, x)`, `x_mid = x + h/2·k1`, `x ← x + h·v(t + h/2, x_mid)`.
//! - Heun: `k1 = v(t, x)`, `k2 = v(t + h, x + h·k1)`, `x ← x + h/2·(k1 + k2)`.
//! - RK4: the classical 1/6·(k1 + 2k2 + 2k3 + k4) scheme.
//!
//! torchdiffeq's `rk4` is the 3/8-rule variant; both are order 4 but not bitwise equal.

use burn::tensor::Tensor;

use super::{OdeError, OdeSolution, Solver, VelocityField};

/// Integrates with a fixed-grid `method` (not [`Solver::Dopri5`]) and `steps` uniform steps.
///
/// # Shapes
/// `x0`: `[B, C, H, W]` → `OdeSolution::x` of the same shape.
pub fn solve_fixed(
    field: &impl VelocityField,
    method: Solver,
    x0: Tensor<4>,
    t0: f64,
    t1: f64,
    steps: usize,
) -> Result<OdeSolution, OdeError> {
    let stages = method
        .stages()
        .ok_or_else(|| OdeError::InvalidConfig("dopri5 is not a fixed-grid method".to_string()))?;
    if steps == 0 {
        return Err(OdeError::InvalidConfig("steps must be at least 1".into()));
    }
    let h = (t1 - t0) / steps as f64;
    let mut x = x0;
    for k in 0..steps {
        let t = t0 + k as f64 * h;
        x = step(field, method, x, t, h);
    }
    Ok(OdeSolution {
        x,
        nfe: stages * steps,
        steps,
        rejected: 0,
    })
}

/// One step of a fixed-grid method from `(t, x)` with step `h`.
pub(crate) fn step(
    field: &impl VelocityField,
    method: Solver,
    x: Tensor<4>,
    t: f64,
    h: f64,
) -> Tensor<4> {
    match method {
        Solver::Euler => x.clone() + field.velocity(x, t) * h,
        Solver::Midpoint => {
            let k1 = field.velocity(x.clone(), t);
            let x_mid = x.clone() + k1 * (h / 2.0);
            x + field.velocity(x_mid, t + h / 2.0) * h
        }
        Solver::Heun => {
            let k1 = field.velocity(x.clone(), t);
            let k2 = field.velocity(x.clone() + k1.clone() * h, t + h);
            x + (k1 + k2) * (h / 2.0)
        }
        Solver::Rk4 => {
            let k1 = field.velocity(x.clone(), t);
            let k2 = field.velocity(x.clone() + k1.clone() * (h / 2.0), t + h / 2.0);
            let k3 = field.velocity(x.clone() + k2.clone() * (h / 2.0), t + h / 2.0);
            let k4 = field.velocity(x.clone() + k3.clone() * h, t + h);
            x + (k1 + k2 * 2.0 + k3 * 2.0 + k4) * (h / 6.0)
        }
        Solver::Dopri5 => unreachable_fixed(x),
    }
}

// `solve_fixed` rejects Dopri5 before stepping; keep the state unchanged if ever reached.
fn unreachable_fixed(x: Tensor<4>) -> Tensor<4> {
    x
}
