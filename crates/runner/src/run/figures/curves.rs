//! Metric-vs-k curves: one metric against the number of samples k on a log2-spaced x axis, a
//! line with markers per series and a translucent 95 % confidence band, plus the multi-panel
//! version with a shared legend. The line-panel drawing here is shared with the NFE figure.
//!
//! Series styles: `style` 0 is a solid line with circles, 1 dashed with triangles, 2 dotted with
//! squares, 3 long-dashed with diamonds, 4 short-dashed with inverted triangles (then repeating),
//! so ablation variants of one method (same colour) stay distinguishable.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::RGBColor;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{
    DrawResult, Figure, FigureError, LegendEntry, method_colour, save, text_style, text_width,
};

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
    pub method: String,
    /// Legend text, e.g. `"flow"` or `"flow (w = 1.0)"`.
    pub label: String,
    /// 0 for the main setting; > 0 keeps the method's colour but changes dash and marker.
    pub variant: usize,
    /// The points, in any order (sorted by k when drawn); non-finite values are skipped.
    pub points: Vec<CurvePoint>,
}

/// A curve ready to draw: x values are raw (k or NFE), the axis shows them on a log scale.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    /// Legend entry (label, colour, style).
    pub entry: LegendEntry,
    /// `(x, mean, lo, hi)` sorted by x; x > 0, `mean` finite, `lo`/`hi` possibly non-finite.
    pub points: Vec<(f64, f64, f64, f64)>,
}

impl Line {
    /// Builds a line from raw points, dropping those with x ≤ 0 or a non-finite x or mean.
    pub fn new(entry: LegendEntry, raw: impl IntoIterator<Item = (f64, f64, f64, f64)>) -> Self {
        let mut points: Vec<_> = raw
            .into_iter()
            .filter(|p| p.0 > 0.0 && p.0.is_finite() && p.1.is_finite())
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        Self { entry, points }
    }
}

/// One chart panel: several lines against a log-scaled x axis.
#[derive(Debug, Clone)]
pub(crate) struct LinePanel {
    /// The x axis description.
    pub x_label: String,
    /// The y axis description.
    pub y_label: String,
    /// The lines.
    pub lines: Vec<Line>,
    /// Where the x ticks go.
    pub ticks: TickRule,
}

/// Where the ticks of a log-scaled x axis go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TickRule {
    /// At every x value present (thinned only where labels would overlap), e.g. k = 1, 2, 4, 8.
    Present,
    /// At 1, 2, 5, 10, 20, 50, … within the data range (for irregular values such as NFE).
    Decades,
}

impl LinePanel {
    /// Whether any line has a point to draw.
    pub fn has_data(&self) -> bool {
        self.lines.iter().any(|l| !l.points.is_empty())
    }
}

/// A figure of line panels in a grid with a shared legend on the right.
pub(crate) struct LineFigure {
    /// The figure title.
    pub title: String,
    /// The panels, row-major.
    pub panels: Vec<LinePanel>,
    /// Panels per row.
    pub cols: usize,
    /// Size of one panel in pixels, `(width, height)`.
    pub panel_size: (u32, u32),
    /// The shared legend, in order.
    pub legend: Vec<LegendEntry>,
}

/// Legend entries of all lines in order of first appearance, without duplicates.
pub(crate) fn collect_legend<'a>(lines: impl IntoIterator<Item = &'a Line>) -> Vec<LegendEntry> {
    let mut out: Vec<LegendEntry> = Vec::new();
    for l in lines {
        if !out.contains(&l.entry) {
            out.push(l.entry.clone());
        }
    }
    out
}

/// Height of the title band in pixels.
const TITLE_H: u32 = 44;
/// Legend text size in pixels.
const LEGEND_FONT: f64 = 18.0;
/// Height of one legend row in pixels.
const LEGEND_ROW: i32 = 30;
/// Offset of the first legend row below the title band, in pixels.
const LEGEND_TOP: i32 = 56;

impl LineFigure {
    /// Width of the legend column in pixels.
    fn legend_width(&self) -> u32 {
        let longest = self
            .legend
            .iter()
            .map(|e| text_width(&e.label, LEGEND_FONT))
            .max();
        (longest.unwrap_or(0) + 80).clamp(150, 360)
    }

    /// Panel rows.
    fn rows(&self) -> usize {
        self.panels.len().div_ceil(self.cols.max(1))
    }
}

impl Figure for LineFigure {
    fn size(&self) -> (u32, u32) {
        let (pw, ph) = self.panel_size;
        let w = pw * self.cols as u32 + self.legend_width();
        // Grow (stretching the panels) rather than clip a long legend.
        let legend_h = LEGEND_TOP as u32 + LEGEND_ROW as u32 * self.legend.len() as u32;
        let h = TITLE_H + (ph * self.rows() as u32).max(legend_h);
        (w, h)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let (w, _) = self.size();
        let (top, body) = root.split_vertically(TITLE_H);
        top.draw(&Text::new(
            self.title.clone(),
            (w as i32 / 2, 12),
            text_style(26.0, RGBColor(0, 0, 0)).pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
        let charts_w = self.panel_size.0 * self.cols as u32;
        let (charts, legend) = body.split_horizontally(charts_w);
        let cells = charts.split_evenly((self.rows(), self.cols.max(1)));
        for (cell, panel) in cells.iter().zip(&self.panels) {
            draw_panel(cell, panel)?;
        }
        draw_legend(&legend, &self.legend, LEGEND_TOP)?;
        Ok(())
    }
}

/// A linear axis over log-transformed x values whose ticks are exactly the given positions (no
/// light grid lines), so the axis shows the k or NFE values present and nothing else.
struct TickAxis {
    /// Axis start (log2 of the raw value).
    lo: f64,
    /// Axis end (log2 of the raw value).
    hi: f64,
    /// Tick positions (log2 of the raw values).
    ticks: Vec<f64>,
}

impl Ranged for TickAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let t = (value - self.lo) / (self.hi - self.lo);
        limit.0 + (f64::from(limit.1 - limit.0) * t).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

/// Picks tick positions among `values` (sorted, log2 scale) at least `min_gap` apart, so labels
/// never overlap (with k = 1, 2, 4, 8, … every value is kept; with dense k such as 1..=16 the
/// crowded large values are thinned).
fn thin_ticks(values: &[f64], min_gap: f64) -> Vec<f64> {
    let mut out: Vec<f64> = Vec::new();
    for &v in values {
        if out.last().is_none_or(|&last| v - last >= min_gap) {
            out.push(v);
        }
    }
    out
}

/// log2 of the values 1, 2, 5 × 10^e lying in `lo..=hi` (raw values, `lo` > 0).
fn decade_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut out = Vec::new();
    let mut e = lo.log10().floor() as i32;
    while 10f64.powi(e) <= hi * (1.0 + 1e-9) && e < 300 {
        for m in [1.0, 2.0, 5.0] {
            let v = m * 10f64.powi(e);
            if v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9) {
                out.push(v.log2());
            }
        }
        e += 1;
    }
    out
}

/// Opacity of a CI band in `colour`: lighter for dark colours so that all bands look alike.
fn band_alpha(colour: RGBColor) -> f64 {
    let lum =
        (0.299 * f64::from(colour.0) + 0.587 * f64::from(colour.1) + 0.114 * f64::from(colour.2))
            / 255.0;
    0.09 + 0.08 * lum
}

/// Number of decimals for tick labels on an axis spanning `range`.
fn decimals_for(range: f64) -> usize {
    let step = (range / 6.0).abs();
    if !step.is_finite() || step <= 0.0 {
        return 2;
    }
    (-step.log10().floor()).clamp(0.0, 6.0) as usize
}

/// The finite y extent of a panel (means and CI ends), padded by 8 %.
fn y_extent(panel: &LinePanel) -> (f64, f64) {
    let vals = panel
        .lines
        .iter()
        .flat_map(|l| l.points.iter())
        .flat_map(|p| [p.1, p.2, p.3]);
    let (lo, hi) = vals
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    let pad = if span > 1e-12 {
        span * 0.08
    } else {
        lo.abs().max(1.0) * 0.05
    };
    (lo - pad, hi + pad)
}

/// Splits indices of `points` into maximal runs where `keep` holds.
fn runs<T>(points: &[T], keep: impl Fn(&T) -> bool) -> Vec<&[T]> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, p) in points.iter().enumerate() {
        match (keep(p), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(&points[s..i]);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(&points[s..]);
    }
    out
}

/// Marker outline for `style`, in pixel offsets around the point.
fn marker_shape(style: usize) -> Vec<(i32, i32)> {
    match style % 5 {
        0 => (0..12)
            .map(|i| {
                let a = f64::from(i) * std::f64::consts::TAU / 12.0;
                (
                    (5.5 * a.cos()).round() as i32,
                    (5.5 * a.sin()).round() as i32,
                )
            })
            .collect(),
        1 => vec![(0, -7), (6, 4), (-6, 4)],
        2 => vec![(-5, -5), (5, -5), (5, 5), (-5, 5)],
        3 => vec![(0, -7), (6, 0), (0, 7), (-6, 0)],
        _ => vec![(0, 7), (6, -4), (-6, -4)],
    }
}

/// Dash pattern `(dash, gap)` in pixels for `style`; `None` is a solid line.
fn dash_pattern(style: usize) -> Option<(u32, u32)> {
    match style % 5 {
        0 => None,
        1 => Some((10, 6)),
        2 => Some((3, 4)),
        3 => Some((18, 6)),
        _ => Some((6, 3)),
    }
}

/// Draws a polyline in `style`'s dash pattern onto any drawing area.
fn draw_styled_path<DB, CT>(
    area: &DrawingArea<DB, CT>,
    points: Vec<CT::From>,
    style: usize,
    colour: RGBColor,
) -> DrawResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    CT: CoordTranslate,
    CT::From: Clone,
{
    let stroke = colour.stroke_width(2);
    match dash_pattern(style) {
        None => area.draw(&PathElement::new(points, stroke))?,
        Some((d, g)) => area.draw(&DashedPathElement::new(points, d, g, stroke))?,
    }
    Ok(())
}

/// Draws one marker of `style` at `at` (in the area's coordinates), filled with `colour` and
/// ringed in white so overlapping markers stay readable.
fn draw_marker<DB, CT>(
    area: &DrawingArea<DB, CT>,
    at: CT::From,
    style: usize,
    colour: RGBColor,
) -> DrawResult
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    CT: CoordTranslate,
    CT::From: Clone,
{
    let shape = marker_shape(style);
    let mut ring = shape.clone();
    if let Some(&first) = shape.first() {
        ring.push(first);
    }
    area.draw(&(EmptyElement::at(at.clone()) + Polygon::new(shape, colour.filled())))?;
    area.draw(&(EmptyElement::at(at) + PathElement::new(ring, WHITE.stroke_width(1))))?;
    Ok(())
}

/// Draws one line panel (axes, grid, bands, lines, markers) filling `area`.
fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, panel: &LinePanel) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let black = RGBColor(0, 0, 0);
    if !panel.has_data() {
        let (w, h) = area.dim_in_pixel();
        area.draw(&Text::new(
            format!("{}: no data", panel.y_label),
            (w as i32 / 2, h as i32 / 2),
            text_style(20.0, black).pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
        return Ok(());
    }
    let mut xs: Vec<f64> = panel
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0.log2()))
        .collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
    let (x_min, x_max) = (
        xs.first().copied().unwrap_or(0.0),
        xs.last().copied().unwrap_or(1.0),
    );
    let pad = if x_max - x_min > 1e-9 {
        ((x_max - x_min) * 0.06).max(0.2)
    } else {
        1.0
    };
    let (x0, x1) = (x_min - pad, x_max + pad);
    let (y0, y1) = y_extent(panel);

    let (w, _) = area.dim_in_pixel();
    let plot_w = f64::from(w.saturating_sub(110).max(50));
    let candidates = match panel.ticks {
        TickRule::Present => xs.clone(),
        TickRule::Decades => decade_ticks(x_min.exp2(), x_max.exp2()),
    };
    let ticks = thin_ticks(&candidates, 48.0 / plot_w * (x1 - x0));
    let decimals = decimals_for(y1 - y0);

    let mut chart = ChartBuilder::on(area)
        .margin_top(10)
        .margin_right(18)
        .margin_left(8)
        .margin_bottom(6)
        .x_label_area_size(58)
        .y_label_area_size(84)
        .build_cartesian_2d(
            TickAxis {
                lo: x0,
                hi: x1,
                ticks,
            },
            y0..y1,
        )?;
    chart
        .configure_mesh()
        .x_desc(panel.x_label.as_str())
        .y_desc(panel.y_label.as_str())
        .x_label_formatter(&|v: &f64| format!("{}", v.exp2().round()))
        .y_label_formatter(&|v: &f64| format!("{v:.decimals$}"))
        .y_labels(7)
        .label_style(text_style(17.0, black))
        .axis_desc_style(text_style(20.0, black))
        .bold_line_style(RGBColor(222, 222, 222))
        .light_line_style(TRANSPARENT)
        .axis_style(RGBColor(90, 90, 90))
        .draw()?;

    let plot = chart.plotting_area();
    // Bands first, so every line lies on top of every band.
    for line in &panel.lines {
        let colour = line.entry.colour;
        for run in runs(&line.points, |p| p.2.is_finite() && p.3.is_finite()) {
            if run.len() < 2 {
                // A single point's CI is drawn as a vertical bar.
                for p in run {
                    let x = p.0.log2();
                    plot.draw(&PathElement::new(
                        vec![(x, p.2), (x, p.3)],
                        colour.mix(0.35).stroke_width(6),
                    ))?;
                }
                continue;
            }
            let mut poly: Vec<(f64, f64)> = run.iter().map(|p| (p.0.log2(), p.2)).collect();
            poly.extend(run.iter().rev().map(|p| (p.0.log2(), p.3)));
            plot.draw(&Polygon::new(poly, colour.mix(band_alpha(colour)).filled()))?;
        }
    }
    for line in &panel.lines {
        let pts: Vec<(f64, f64)> = line.points.iter().map(|p| (p.0.log2(), p.1)).collect();
        draw_styled_path(plot, pts.clone(), line.entry.style, line.entry.colour)?;
        for p in pts {
            draw_marker(plot, p, line.entry.style, line.entry.colour)?;
        }
    }
    Ok(())
}

/// Draws a vertical legend (line sample, marker, label) into `area`, starting `top` px down.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
    top: i32,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let black = RGBColor(0, 0, 0);
    for (i, e) in entries.iter().enumerate() {
        let y = top + LEGEND_ROW * i as i32;
        draw_styled_path(area, vec![(6, y), (46, y)], e.style, e.colour)?;
        draw_marker(area, (26, y), e.style, e.colour)?;
        area.draw(&Text::new(
            e.label.clone(),
            (56, y),
            text_style(LEGEND_FONT, black).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    Ok(())
}

/// Converts metric-vs-k series into drawable lines.
fn lines_of(series: &[CurveSeries]) -> Vec<Line> {
    series
        .iter()
        .map(|s| {
            let entry = LegendEntry {
                label: s.label.clone(),
                colour: method_colour(&s.method),
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
    let panels: Vec<LinePanel> = panels
        .iter()
        .map(|(y_label, series)| LinePanel {
            x_label: "number of samples k".into(),
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
            method: method.into(),
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
            method: "flow".into(),
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
            method: "oracle".into(),
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
            method: "oracle".into(),
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

    #[test]
    fn ticks_are_the_k_values_present() {
        let xs: Vec<f64> = [1.0f64, 2.0, 4.0, 8.0, 16.0]
            .iter()
            .map(|v| v.log2())
            .collect();
        assert_eq!(thin_ticks(&xs, 0.5), xs);
        assert_eq!(thin_ticks(&[0.0, 0.1, 1.0], 0.5), vec![0.0, 1.0]);
        assert_eq!(decimals_for(0.3), 2);
        let d: Vec<f64> = decade_ticks(3.0, 120.0)
            .iter()
            .map(|v| v.exp2().round())
            .collect();
        assert_eq!(d, vec![5.0, 10.0, 20.0, 50.0, 100.0]);
        assert_eq!(decimals_for(30.0), 0);
    }
}
