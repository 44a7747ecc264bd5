//! Line panels shared by the metric-vs-k and metric-vs-NFE figures: lines with markers and
//! translucent confidence bands on a log-scaled x axis, tick rules, one or more panels with a
//! shared legend column on the right.
//!
//! Series styles: `style` 0 is a solid line with circles, 1 dashed with triangles, 2 dotted with
//! squares, 3 long-dashed with diamonds, 4 short-dashed with inverted triangles (then repeating),
//! so ablation variants of one method (same colour) stay distinguishable.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::RGBColor;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::ticks::{TickAxis, decade_ticks, decimals_for, thin_ticks};
use super::{DrawResult, Figure, LegendEntry, text_style, text_width};

pub(crate) use super::ticks::TickRule;

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

/// Opacity of a CI band in `colour`: lighter for dark colours so that all bands look alike.
fn band_alpha(colour: RGBColor) -> f64 {
    let lum =
        (0.299 * f64::from(colour.0) + 0.587 * f64::from(colour.1) + 0.114 * f64::from(colour.2))
            / 255.0;
    0.09 + 0.08 * lum
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
