//! Uncertainty maps: per image, the input, the raters' masks, each method's pixel-wise mean and
//! variance over its samples, and the oracle's true variance, with a viridis-like colormap on one
//! scale shared by the whole figure and a colour bar (map panels drawn by [`super::map`]).

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::RGBColor;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::report::rows::MethodColumn;

use super::map::{GAP, MARGIN, Map, PANEL, Shade, TITLE_H, draw_centred, draw_map};
use super::{DrawResult, Figure, FigureError, method_colour, save, text_style, viridis};

/// One image row of the uncertainty figure.
#[derive(Debug, Clone, PartialEq)]
pub struct UncertaintyRow {
    /// The input image (first channel), shape (h, w); shown in grayscale, normalised per map.
    pub image: Map,
    /// The m raters' binary masks, each shape (h, w), values in [0, 1].
    pub annotations: Vec<Map>,
    /// Per method: `(method id, label, mean map, variance map)`, maps shape (h, w); the mean is
    /// shown in grayscale on [0, 1], the variance on the figure's shared colour scale.
    pub methods: Vec<(MethodColumn, String, Map, Map)>,
    /// The known true pixel-wise variance on synthetic data, shape (h, w).
    pub oracle_variance: Option<Map>,
}

/// Gap between column groups, in pixels.
const GROUP_GAP: u32 = 18;
/// Height of the two header lines, in pixels.
const HEADER_H: u32 = 60;
/// Width of the colour bar, in pixels.
const BAR_W: u32 = 22;
/// Room for the colour bar's tick labels, in pixels.
const BAR_LABELS_W: u32 = 78;
/// Upper limit of the shared variance scale (the variance of a Bernoulli variable is ≤ 0.25).
const MAX_VARIANCE: f32 = 0.25;

/// A column of the uncertainty figure.
struct Column {
    /// Left edge in pixels.
    x: i32,
    /// Second-line header (e.g. "rater 2", "mean").
    header: String,
    /// What the column shows.
    kind: ColumnKind,
}

/// What a column of the uncertainty figure shows.
#[derive(Clone, Copy)]
enum ColumnKind {
    /// The input image.
    Image,
    /// Rater `j`'s mask.
    Rater(usize),
    /// Method `i`'s mean map.
    Mean(usize),
    /// Method `i`'s variance map.
    Variance(usize),
    /// The oracle variance.
    Oracle,
}

/// The uncertainty figure, laid out.
struct UncertaintyFigure<'a> {
    /// The figure title.
    title: &'a str,
    /// The rows.
    rows: &'a [UncertaintyRow],
    /// The columns, left to right.
    columns: Vec<Column>,
    /// Method headers: `(label, colour, centre x)`.
    method_headers: Vec<(String, RGBColor, i32)>,
    /// Left edge of the colour bar.
    bar_x: i32,
    /// Top of the shared variance scale.
    vmax: f32,
}

impl<'a> UncertaintyFigure<'a> {
    /// Lays out the columns from the largest rater count and method list among the rows.
    fn new(title: &'a str, rows: &'a [UncertaintyRow]) -> Self {
        let raters = rows.iter().map(|r| r.annotations.len()).max().unwrap_or(0);
        let widest = rows.iter().max_by_key(|r| r.methods.len());
        let methods = widest.map_or(&[][..], |r| &r.methods[..]);
        let oracle = rows.iter().any(|r| r.oracle_variance.is_some());
        let (p, g, gg) = (PANEL as i32, GAP as i32, GROUP_GAP as i32);
        let mut columns = Vec::new();
        let mut method_headers = Vec::new();
        let mut x = MARGIN as i32;
        columns.push(Column {
            x,
            header: "image".into(),
            kind: ColumnKind::Image,
        });
        x += p + gg;
        for j in 0..raters {
            let header = format!("rater {}", j + 1);
            columns.push(Column {
                x,
                header,
                kind: ColumnKind::Rater(j),
            });
            x += p + if j + 1 == raters { gg } else { g };
        }
        for (i, (id, label, _, _)) in methods.iter().enumerate() {
            method_headers.push((label.clone(), method_colour(*id), x + p + g / 2));
            columns.push(Column {
                x,
                header: "mean".into(),
                kind: ColumnKind::Mean(i),
            });
            let x_var = x + p + g;
            columns.push(Column {
                x: x_var,
                header: "variance".into(),
                kind: ColumnKind::Variance(i),
            });
            x += 2 * p + g + gg;
        }
        if oracle {
            method_headers.push((
                "oracle".into(),
                method_colour(MethodColumn::Oracle),
                x + p / 2,
            ));
            columns.push(Column {
                x,
                header: "variance".into(),
                kind: ColumnKind::Oracle,
            });
            x += p + gg;
        }
        let variances = rows.iter().flat_map(|r| {
            r.methods
                .iter()
                .map(|m| &m.3)
                .chain(r.oracle_variance.iter())
        });
        let max = variances
            .flat_map(|m| m.data.iter())
            .filter(|v| v.is_finite())
            .fold(0.0f32, |a, &v| a.max(v));
        // The scale ends at the largest variance rounded up to a round tick, at most 0.25.
        let vmax = if max > 1e-6 {
            let (step, _) = nice_step(f64::from(max) / 5.0);
            let top = (f64::from(max) / step - 1e-6).ceil() * step;
            (top as f32).min(MAX_VARIANCE)
        } else {
            MAX_VARIANCE
        };
        Self {
            title,
            rows,
            columns,
            method_headers,
            bar_x: x,
            vmax,
        }
    }

    /// Top of the first map row, in pixels.
    fn grid_top(&self) -> i32 {
        (TITLE_H + HEADER_H) as i32
    }

    /// Height of all map rows together, in pixels.
    fn grid_height(&self) -> i32 {
        let n = self.rows.len() as i32;
        n * (PANEL + GAP) as i32 - GAP as i32
    }

    /// Draws the vertical colour bar with ticks for `0..vmax`.
    fn draw_bar<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let black = RGBColor(0, 0, 0);
        let (top, h) = (self.grid_top(), self.grid_height().max(PANEL as i32));
        let (x0, x1) = (self.bar_x, self.bar_x + BAR_W as i32);
        let steps = h.max(1);
        for i in 0..steps {
            let t = 1.0 - (i as f32 + 0.5) / steps as f32;
            let y = top + i;
            area.draw(&Rectangle::new([(x0, y), (x1, y + 1)], viridis(t).filled()))?;
        }
        area.draw(&Rectangle::new(
            [(x0, top), (x1, top + h)],
            RGBColor(120, 120, 120),
        ))?;
        let (step, decimals) = nice_step(f64::from(self.vmax) / 5.0);
        let n_ticks = (f64::from(self.vmax) / step + 1e-6).floor() as i32;
        for i in 0..=n_ticks {
            let v = step * f64::from(i);
            let y = top + h - (f64::from(h) * v / f64::from(self.vmax)).round() as i32;
            area.draw(&PathElement::new(vec![(x1, y), (x1 + 5, y)], black))?;
            let style = text_style(17.0, black).pos(Pos::new(HPos::Left, VPos::Center));
            area.draw(&Text::new(format!("{v:.decimals$}"), (x1 + 8, y), style))?;
        }
        let y_head = (TITLE_H + 32) as i32;
        draw_centred(
            area,
            "variance",
            (x0 + BAR_W as i32 / 2 + 12, y_head),
            17.0,
            black,
        )?;
        Ok(())
    }
}

impl Figure for UncertaintyFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let w = self.bar_x as u32 + BAR_W + BAR_LABELS_W + MARGIN;
        let h = self.grid_top() as u32 + self.grid_height().max(PANEL as i32) as u32 + MARGIN;
        (w, h)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let black = RGBColor(0, 0, 0);
        let (w, _) = self.size();
        draw_centred(root, self.title, (w as i32 / 2, 12), 26.0, black)?;
        let (line1, line2) = ((TITLE_H + 6) as i32, (TITLE_H + 32) as i32);
        for (label, colour, cx) in &self.method_headers {
            draw_centred(root, label, (*cx, line1), 19.0, *colour)?;
        }
        let half = PANEL as i32 / 2;
        for col in &self.columns {
            draw_centred(root, &col.header, (col.x + half, line2), 17.0, black)?;
        }
        let shade = Shade::Variance(self.vmax);
        for (r, row) in self.rows.iter().enumerate() {
            let y = self.grid_top() + r as i32 * (PANEL + GAP) as i32;
            for col in &self.columns {
                let at = (col.x, y);
                match col.kind {
                    ColumnKind::Image => draw_map(root, at, &row.image, Shade::Normalised)?,
                    ColumnKind::Rater(j) => {
                        if let Some(m) = row.annotations.get(j) {
                            draw_map(root, at, m, Shade::Unit)?;
                        }
                    }
                    ColumnKind::Mean(i) => {
                        if let Some(m) = row.methods.get(i) {
                            draw_map(root, at, &m.2, Shade::Unit)?;
                        }
                    }
                    ColumnKind::Variance(i) => {
                        if let Some(m) = row.methods.get(i) {
                            draw_map(root, at, &m.3, shade)?;
                        }
                    }
                    ColumnKind::Oracle => {
                        if let Some(m) = &row.oracle_variance {
                            draw_map(root, at, m, shade)?;
                        }
                    }
                }
            }
        }
        self.draw_bar(root)
    }
}

/// A round tick step (1, 2, 2.5 or 5 × 10^e) of at least `raw` (> 0), and the decimals its labels
/// need.
fn nice_step(raw: f64) -> (f64, usize) {
    if !raw.is_finite() || raw <= 0.0 {
        return (0.05, 2);
    }
    let e = raw.log10().floor();
    let base = 10f64.powf(e);
    let m = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .find(|&m| m * base >= raw * (1.0 - 1e-9));
    let m = m.unwrap_or(10.0);
    let step = m * base;
    let extra = usize::from(m == 2.5);
    (
        step,
        (-(step.log10() + 1e-9).floor()).max(0.0) as usize + extra,
    )
}

/// Checks every map of the rows, naming the first bad one.
fn check_rows(stem: &Path, rows: &[UncertaintyRow]) -> Result<(), FigureError> {
    let invalid = |message| FigureError::Invalid {
        path: stem.to_path_buf(),
        message,
    };
    for (r, row) in rows.iter().enumerate() {
        row.image
            .check(&format!("row {r} image"))
            .map_err(invalid)?;
        for (j, m) in row.annotations.iter().enumerate() {
            m.check(&format!("row {r} rater {j}")).map_err(invalid)?;
        }
        for (id, _, mean, var) in &row.methods {
            mean.check(&format!("row {r} {id} mean")).map_err(invalid)?;
            var.check(&format!("row {r} {id} variance"))
                .map_err(invalid)?;
        }
        if let Some(m) = &row.oracle_variance {
            m.check(&format!("row {r} oracle variance"))
                .map_err(invalid)?;
        }
    }
    Ok(())
}

/// The uncertainty figure: one row per image; columns image | raters 1..m | for each method its
/// mean map and variance map | the oracle variance (when any row has one). Column headers on top,
/// method labels in the method's colour; image and masks in grayscale (the image normalised per
/// map, masks and means on [0, 1]); variances in a viridis-like colormap on one scale shared by
/// the figure, 0 .. the largest finite variance rounded up to a round tick (at most 0.25), with a colour bar and ticks.
/// Headers come from the row with the most methods; rows should list the same methods in the
/// same order. Non-finite pixels are drawn red.
///
/// Each panel is 112×112 px whatever the map size (maps of 32–128 px). Keep figures to about 40
/// panels: the SVG holds up to one rectangle per pixel.
///
/// Writes `{stem}.png` and `{stem}.svg`; returns both paths, PNG first. Errors with
/// [`FigureError::Empty`] for no rows and [`FigureError::Invalid`] for a map whose data length is
/// not `h * w`.
pub fn uncertainty_figure(
    stem: &Path,
    title: &str,
    rows: &[UncertaintyRow],
) -> Result<Vec<PathBuf>, FigureError> {
    if rows.is_empty() {
        return Err(FigureError::Empty {
            path: stem.to_path_buf(),
            what: "no rows".into(),
        });
    }
    check_rows(stem, rows)?;
    save(stem, &UncertaintyFigure::new(title, rows))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::super::test_util::check_outputs;
    use super::*;

    /// A disc mask of radius `r` in an `n`×`n` map, soft at the edge by `soft` pixels.
    pub fn disc(n: usize, r: f32, soft: f32) -> Map {
        let c = n as f32 / 2.0;
        let data = (0..n * n)
            .map(|i| {
                let (y, x) = ((i / n) as f32 + 0.5 - c, (i % n) as f32 + 0.5 - c);
                let d = (x * x + y * y).sqrt() - r;
                if soft > 0.0 {
                    (0.5 - d / soft).clamp(0.0, 1.0)
                } else {
                    f32::from(d < 0.0)
                }
            })
            .collect();
        Map { h: n, w: n, data }
    }

    fn row(n: usize) -> UncertaintyRow {
        let mean = disc(n, n as f32 / 4.0, 3.0);
        let var = Map {
            h: n,
            w: n,
            data: mean.data.iter().map(|p| p * (1.0 - p)).collect(),
        };
        UncertaintyRow {
            image: disc(n, n as f32 / 4.0, 6.0),
            annotations: (0..3)
                .map(|j| disc(n, n as f32 / 5.0 + j as f32, 0.0))
                .collect(),
            methods: vec![
                (
                    MethodColumn::of_name("flow"),
                    "flow".into(),
                    mean.clone(),
                    var.clone(),
                ),
                (
                    MethodColumn::of_name("cimd"),
                    "CIMD".into(),
                    mean,
                    var.clone(),
                ),
            ],
            oracle_variance: Some(var),
        }
    }

    #[test]
    fn uncertainty_figure_writes_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("unc");
        let rows = vec![row(32), row(64)];
        let paths = uncertainty_figure(&stem, "Uncertainty", &rows).unwrap();
        let size = UncertaintyFigure::new("Uncertainty", &rows).size();
        check_outputs(
            &paths,
            &stem,
            Some(size),
            &["flow", "CIMD", "oracle", "rater 3", "variance"],
        );
    }

    #[test]
    fn colour_bar_ticks_are_round() {
        assert_eq!(nice_step(0.05), (0.05, 2));
        assert_eq!(nice_step(0.021), (0.025, 3));
        assert_eq!(nice_step(0.004), (0.005, 3));
        assert_eq!(nice_step(0.0058), (0.01, 2));
        assert_eq!(nice_step(3.0), (5.0, 0));
    }

    #[test]
    fn bad_or_empty_input_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("bad");
        assert!(matches!(
            uncertainty_figure(&stem, "t", &[]),
            Err(FigureError::Empty { .. })
        ));
        let mut r = row(16);
        r.image.data.pop();
        assert!(matches!(
            uncertainty_figure(&stem, "t", &[r]),
            Err(FigureError::Invalid { .. })
        ));
    }

    #[test]
    fn non_finite_pixels_do_not_panic() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("nan");
        let mut r = row(16);
        r.image.data[0] = f32::NAN;
        r.methods[0].3.data[5] = f32::INFINITY;
        r.oracle_variance = None;
        r.annotations.clear();
        let paths = uncertainty_figure(&stem, "t", &[r]).unwrap();
        check_outputs(&paths, &stem, None, &["flow"]);
    }
}
