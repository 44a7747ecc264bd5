//! Convergence orders on `dx/dt = a·x` (exact `x0·e^{a(t1−t0)}`), Dopri5 tolerance and NFE counts.

use std::cell::Cell;

use burn::tensor::{Device, Tensor, TensorData};

use super::*;

/// `v = a·x`, counting its calls.
struct Linear {
    a: f64,
    calls: Cell<usize>,
}

impl VelocityField for Linear {
    fn velocity(&self, x: Tensor<4>, _t: f64) -> Tensor<4> {
        self.calls.set(self.calls.get() + 1);
        x * self.a
    }
}

fn x0() -> Tensor<4> {
    let values = vec![1.0f32, -0.5, 0.25, 2.0];
    Tensor::from_data(TensorData::new(values, [1, 1, 2, 2]), &Device::flex())
}

fn max_error(x: Tensor<4>, a: f64, span: f64) -> f64 {
    let exact = x0() * (a * span).exp();
    (x - exact).abs().max().into_scalar::<f32>() as f64
}

fn observed_order(solver: Solver, a: f64, n: usize) -> f64 {
    let field = Linear {
        a,
        calls: Cell::new(0),
    };
    let coarse = solve(&field, x0(), 0.0, 1.0, &SolverConfig::fixed(solver, n)).unwrap();
    let fine = solve(&field, x0(), 0.0, 1.0, &SolverConfig::fixed(solver, 2 * n)).unwrap();
    (max_error(coarse.x, a, 1.0) / max_error(fine.x, a, 1.0)).log2()
}

#[test]
fn fixed_grid_methods_converge_at_their_order() {
    for (solver, order, n) in [
        (Solver::Euler, 1.0, 64),
        (Solver::Midpoint, 2.0, 16),
        (Solver::Heun, 2.0, 16),
        (Solver::Rk4, 4.0, 4),
    ] {
        let p = observed_order(solver, 1.5, n);
        assert!(
            (p - order).abs() < 0.25,
            "{solver:?}: observed order {p}, expected {order}"
        );
    }
}

#[test]
fn nfe_counts_are_exact() {
    for (solver, steps, nfe) in [
        (Solver::Euler, 10, 10),
        (Solver::Midpoint, 100, 200),
        (Solver::Heun, 7, 14),
        (Solver::Rk4, 5, 20),
    ] {
        let field = Linear {
            a: -1.0,
            calls: Cell::new(0),
        };
        let sol = solve(&field, x0(), 0.0, 1.0, &SolverConfig::fixed(solver, steps)).unwrap();
        assert_eq!((sol.nfe, sol.steps), (nfe, steps), "{solver:?}");
        assert_eq!(field.calls.get(), nfe, "{solver:?}");
    }
}

#[test]
fn backward_interval_inverts_forward() {
    let field = Linear {
        a: 0.8,
        calls: Cell::new(0),
    };
    let config = SolverConfig::fixed(Solver::Rk4, 20);
    let fwd = solve(&field, x0(), 0.0, 1.0, &config).unwrap();
    let back = solve(&field, fwd.x, 1.0, 0.0, &config).unwrap();
    let diff = (back.x - x0()).abs().max().into_scalar::<f32>();
    assert!(diff < 1e-5, "{diff}");
}

#[test]
fn dopri5_reaches_tolerance_and_counts_evaluations() {
    for (tol, bound) in [(1e-3, 1e-2), (1e-6, 1e-4)] {
        let field = Linear {
            a: 2.0,
            calls: Cell::new(0),
        };
        let sol = solve(&field, x0(), 0.0, 1.0, &SolverConfig::dopri5(tol, tol)).unwrap();
        let err = max_error(sol.x, 2.0, 1.0);
        assert!(err < bound, "tol {tol}: error {err}");
        assert_eq!(sol.nfe, 1 + 6 * (sol.steps + sol.rejected));
        assert_eq!(field.calls.get(), sol.nfe);
    }
    let loose = Linear {
        a: 2.0,
        calls: Cell::new(0),
    };
    let tight = Linear {
        a: 2.0,
        calls: Cell::new(0),
    };
    solve(&loose, x0(), 0.0, 1.0, &SolverConfig::dopri5(1e-3, 1e-3)).unwrap();
    solve(&tight, x0(), 0.0, 1.0, &SolverConfig::dopri5(1e-6, 1e-6)).unwrap();
    assert!(tight.calls.get() > loose.calls.get());
}

#[test]
fn dopri5_max_steps_and_bad_config_are_errors() {
    let field = Linear {
        a: 2.0,
        calls: Cell::new(0),
    };
    let mut config = SolverConfig::dopri5(1e-7, 1e-7);
    config.max_steps = 2;
    assert!(matches!(
        solve(&field, x0(), 0.0, 1.0, &config),
        Err(OdeError::MaxSteps { .. })
    ));
    assert!(solve(&field, x0(), 0.0, 1.0, &SolverConfig::dopri5(0.0, 1e-3)).is_err());
    assert!(
        solve(
            &field,
            x0(),
            0.0,
            1.0,
            &SolverConfig::fixed(Solver::Euler, 0)
        )
        .is_err()
    );
}

#[test]
fn solver_names_round_trip() {
    for s in [
        Solver::Euler,
        Solver::Midpoint,
        Solver::Heun,
        Solver::Rk4,
        Solver::Dopri5,
    ] {
        let name = serde_json::to_string(&s).unwrap();
        assert_eq!(Solver::parse(name.trim_matches('"')), Some(s));
    }
    let c: SolverConfig = serde_json::from_str(r#"{"solver":"midpoint"}"#).unwrap();
    assert_eq!(c, SolverConfig::paper());
}
