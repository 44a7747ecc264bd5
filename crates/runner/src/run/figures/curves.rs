//! Metric-vs-k curves: one metric against the number of samples k on a log2-spaced x axis, a
//! line with markers per series and a translucent 95 % confidence band, plus the multi-panel
//! version with a shared legend (drawn by [`super::lines`]).

use std::path::{Path, PathBuf};

use crate::report::rows::MethodColumn;

use super::lines::{Line, LineFigure, LinePanel, TickRule, collect_legend};
use super::{FigureError, LegendEntry, method_colour, save};

/// One point of a metric-vs-k curve: the mean over test images and its 95 % CI.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    /// The number of samples k (points with k = 0 are skipped: the axis is logarithmic).
    pub k: usize,
    /// The metric's mean.
    pub mean: f64,
    /// Lower end of the 95 % confidence interval.
    pub lo: f64,
    /// Upper end of the 95 % confidence interval.
    pub hi: f64,
}

/// One curve of a metric-vs-k figure.
#[derive(Debug, Clone, PartialEq)]
pub struct CurveSeries {
    /// The method id, which picks the colour ([`method_colour`]).
    pub method: MethodColumn,
    /// Legend text, e.g. `"flow"` or `"flow (w = 1.0)"`.
    pub label: String,
    /// 0 for the main setting; > 0 keeps the method's colour but changes dash and marker.
    pub variant: usize,
    /// The points, in any order (sorted by k when drawn); non-finite values are skipped.
    pub points: Vec<CurvePoint>,
}

/// Converts metric-vs-k series into drawable lines.
fn lines_of(series: &[CurveSeries]) -> Vec<Line> {
    series
        .iter()
        .map(|s| {
            let entry = LegendEntry {
                label: s.label.clone(),
                colour: method_colour(s.method),
                style: s.variant,
            };
            Line::new(
                entry,
                s.points.iter().map(|p| (p.k as f64, p.mean, p.lo, p.hi)),
            )
        })
        .collect()
}

/// One metric against the number of samples k: x axis log2-spaced with a tick and integer label
/// at every k present (1, 2, 4, 8, 16, …), a line with markers per series and a translucent 95 %
/// CI band (`lo..hi`), `y_label` on the y axis (e.g. `"GED ↓"`), the title on top and the legend
/// to the right of the plot (never over the data). Non-finite values and k = 0 are skipped.
///
/// Writes `{stem}.png` (900 px wide plus the legend column, 600 px tall) and `{stem}.svg`;
/// returns both paths, PNG first. Errors with [`FigureError::Empty`] when no series has a finite
/// point.
pub fn metric_vs_k(
    stem: &Path,
    title: &str,
    y_label: &str,
    series: &[CurveSeries],
) -> Result<Vec<PathBuf>, FigureError> {
    metrics_panel(stem, title, &[(y_label.to_string(), series.to_vec())]).map_err(|e| match e {
        FigureError::Empty { path, .. } => FigureError::Empty {
            path,
            what: "no series with a finite point".into(),
        },
        other => other,
    })
}

/// Several metrics side by side in one figure, one panel per `(y_label, series)` (at most four
/// per row, then wrapping), each against k as in [`metric_vs_k`], with one shared legend on the
/// right listing every distinct (label, method, variant). A panel without finite data says so.
///
/// Writes `{stem}.png` and `{stem}.svg` (900×600 for one panel, 440×440 per panel otherwise,
/// plus the legend column); returns both paths, PNG first. Errors with [`FigureError::Empty`]
/// when there are no panels or no panel has a finite point.
pub fn metrics_panel(
    stem: &Path,
    title: &str,
    panels: &[(String, Vec<CurveSeries>)],
) -> Result<Vec<PathBuf>, FigureError> {
    panels_against(stem, title, "number of samples k", panels)
}

/// [`metrics_panel`] with another x axis: the points' `k` is the x value named by `x_label`
/// (e.g. training steps for learning curves), log2-spaced with a tick at every value present.
pub fn panels_against(
    stem: &Path,
    title: &str,
    x_label: &str,
    panels: &[(String, Vec<CurveSeries>)],
) -> Result<Vec<PathBuf>, FigureError> {
    let panels: Vec<LinePanel> = panels
        .iter()
        .map(|(y_label, series)| LinePanel {
            x_label: x_label.into(),
            y_label: y_label.clone(),
            lines: lines_of(series),
            ticks: TickRule::Present,
        })
        .collect();
    if !panels.iter().any(LinePanel::has_data) {
        return Err(FigureError::Empty {
            path: stem.to_path_buf(),
            what: "no panel with a finite point".into(),
        });
    }
    let legend = collect_legend(panels.iter().flat_map(|p| p.lines.iter()));
    let single = panels.len() == 1;
    let fig = LineFigure {
        title: title.to_string(),
        cols: panels.len().min(4),
        panel_size: if single { (900, 556) } else { (440, 440) },
        panels,
        legend,
    };
    save(stem, &fig)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::Figure;
    use super::super::test_util::check_outputs;
    use super::*;

    fn series(method: &str, label: &str, variant: usize, base: f64) -> CurveSeries {
        let points = [1, 2, 4, 8, 16]
            .iter()
            .enumerate()
            .map(|(i, &k)| {
                let mean = base - 0.05 * i as f64;
                CurvePoint {
                    k,
                    mean,
                    lo: mean - 0.03,
                    hi: mean + 0.03,
                }
            })
            .collect();
        CurveSeries {
            method: MethodColumn::of_name(method),
            label: label.into(),
            variant,
            points,
        }
    }

    #[test]
    fn metric_vs_k_writes_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("ged_vs_k");
        let s = vec![
            series("flow", "flow", 0, 0.5),
            series("flow", "flow (w = 1.0)", 1, 0.55),
            series("cimd", "cimd", 0, 0.6),
        ];
        let paths = metric_vs_k(&stem, "GED vs k", "GED ↓", &s).unwrap();
        let size = LineFigure {
            title: String::new(),
            panels: vec![LinePanel {
                x_label: String::new(),
                y_label: String::new(),
                lines: vec![],
                ticks: TickRule::Present,
            }],
            cols: 1,
            panel_size: (900, 556),
            legend: collect_legend(&lines_of(&s)),
        }
        .size();
        check_outputs(
            &paths,
            &stem,
            Some(size),
            &["flow (w = 1.0)", "cimd", "GED vs k"],
        );
    }

    #[test]
    fn metrics_panel_writes_all_panels() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("panel");
        let panels = vec![
            ("GED ↓".to_string(), vec![series("flow", "flow", 0, 0.5)]),
            (
                "SNCC ↑".to_string(),
                vec![series("phiseg", "phiseg", 0, 0.7)],
            ),
            ("Dice ↑".to_string(), vec![]),
        ];
        let paths = metrics_panel(&stem, "all", &panels).unwrap();
        check_outputs(&paths, &stem, None, &["flow", "phiseg", "no data"]);
    }

    #[test]
    fn empty_input_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("none");
        assert!(matches!(
            metric_vs_k(&stem, "t", "y", &[]),
            Err(FigureError::Empty { .. })
        ));
        assert!(matches!(
            metrics_panel(&stem, "t", &[]),
            Err(FigureError::Empty { .. })
        ));
        let nan = CurveSeries {
            method: MethodColumn::of_name("flow"),
            label: "flow".into(),
            variant: 0,
            points: vec![CurvePoint {
                k: 1,
                mean: f64::NAN,
                lo: 0.0,
                hi: 1.0,
            }],
        };
        assert!(matches!(
            metric_vs_k(&stem, "t", "y", &[nan]),
            Err(FigureError::Empty { .. })
        ));
        assert!(!dir.path().join("none.png").exists());
    }

    #[test]
    fn non_finite_values_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("nan");
        let mut s = series("flow", "flow", 0, 0.5);
        s.points[1].mean = f64::NAN;
        s.points[2].lo = f64::NEG_INFINITY;
        s.points[3].hi = f64::INFINITY;
        s.points.push(CurvePoint {
            k: 0,
            mean: 0.1,
            lo: 0.0,
            hi: 0.2,
        });
        let single = CurveSeries {
            method: MethodColumn::Oracle,
            label: "oracle".into(),
            variant: 0,
            points: vec![CurvePoint {
                k: 4,
                mean: 0.3,
                lo: 0.28,
                hi: 0.32,
            }],
        };
        let paths = metric_vs_k(&stem, "t", "GED", &[s, single]).unwrap();
        check_outputs(&paths, &stem, None, &["flow", "oracle"]);
    }

    #[test]
    fn a_single_point_renders() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("one");
        let s = CurveSeries {
            method: MethodColumn::Oracle,
            label: "oracle".into(),
            variant: 0,
            points: vec![CurvePoint {
                k: 8,
                mean: 0.3,
                lo: 0.3,
                hi: 0.3,
            }],
        };
        let paths = metric_vs_k(&stem, "t", "GED", &[s]).unwrap();
        check_outputs(&paths, &stem, None, &["oracle", "\n8\n"]);
    }
}
