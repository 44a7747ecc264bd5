//! Metric against the number of function evaluations (NFE) per sample, one line per ODE solver
//! (euler, midpoint, heun, rk4, dopri5 each with a fixed colour and marker), log-scaled x axis and
//! 95 % CI bands.

use std::path::{Path, PathBuf};

use super::lines::{Line, LineFigure, LinePanel, TickRule, collect_legend};
use fmseg_model::Solver;

use super::{FigureError, LegendEntry, save, solver_colour, solver_style};

/// One point of a metric-vs-NFE curve: the mean over test images and its 95 % CI.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NfePoint {
    /// Function evaluations per sample (points with 0 are skipped: the axis is logarithmic).
    pub nfe: usize,
    /// The metric's mean.
    pub mean: f64,
    /// Lower end of the 95 % confidence interval.
    pub lo: f64,
    /// Upper end of the 95 % confidence interval.
    pub hi: f64,
}

/// GED (or any metric, named by `y_label`) against NFE per sample, one line per
/// `(solver, points)`: log-scaled x axis with ticks at 1, 2, 5, 10, 20, 50, … within the data range, lines with markers, translucent CI bands, legend on the right. Solvers have fixed
/// colours and markers ([`solver_colour`], [`solver_style`]); non-finite values are skipped.
///
/// Writes `{stem}.png` and `{stem}.svg` (900×600 plus the legend column); returns both paths, PNG
/// first. Errors with [`FigureError::Empty`] when no solver has a finite point.
pub fn metric_vs_nfe(
    stem: &Path,
    title: &str,
    y_label: &str,
    series: &[(Solver, Vec<NfePoint>)],
) -> Result<Vec<PathBuf>, FigureError> {
    let lines: Vec<Line> = series
        .iter()
        .map(|(solver, points)| {
            let entry = LegendEntry {
                label: solver.to_string(),
                colour: solver_colour(*solver),
                style: solver_style(*solver),
            };
            Line::new(
                entry,
                points.iter().map(|p| (p.nfe as f64, p.mean, p.lo, p.hi)),
            )
        })
        .collect();
    let panel = LinePanel {
        x_label: "function evaluations per sample (NFE)".into(),
        y_label: y_label.to_string(),
        lines,
        ticks: TickRule::Decades,
    };
    if !panel.has_data() {
        return Err(FigureError::Empty {
            path: stem.to_path_buf(),
            what: "no solver with a finite point".into(),
        });
    }
    let legend = collect_legend(&panel.lines);
    let fig = LineFigure {
        title: title.to_string(),
        panels: vec![panel],
        cols: 1,
        panel_size: (900, 556),
        legend,
    };
    save(stem, &fig)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::test_util::check_outputs;
    use super::*;

    fn solver(name: &str, evals_per_step: usize) -> (Solver, Vec<NfePoint>) {
        let points = [1usize, 2, 4, 8, 16]
            .iter()
            .map(|&steps| {
                let mean = 0.2 + 0.3 / (steps * evals_per_step) as f64;
                NfePoint {
                    nfe: steps * evals_per_step,
                    mean,
                    lo: mean - 0.01,
                    hi: mean + 0.01,
                }
            })
            .collect();
        (name.parse::<Solver>().unwrap(), points)
    }

    #[test]
    fn metric_vs_nfe_writes_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("ged_vs_nfe");
        let series = vec![solver("euler", 1), solver("midpoint", 2), solver("rk4", 4)];
        let paths = metric_vs_nfe(&stem, "GED vs NFE", "GED ↓", &series).unwrap();
        check_outputs(&paths, &stem, None, &["euler", "midpoint", "rk4", "NFE"]);
    }

    #[test]
    fn empty_and_non_finite_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("e");
        assert!(matches!(
            metric_vs_nfe(&stem, "t", "y", &[]),
            Err(FigureError::Empty { .. })
        ));
        let mut s = solver("heun", 2);
        s.1[0].mean = f64::INFINITY;
        s.1[1].lo = f64::NAN;
        s.1[2].nfe = 0;
        let paths = metric_vs_nfe(&stem, "t", "GED", &[s]).unwrap();
        check_outputs(&paths, &stem, None, &["heun"]);
    }
}
