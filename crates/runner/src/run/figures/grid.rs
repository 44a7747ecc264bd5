//! Sample grid: per image a block with the input image and its raters' masks on the first line,
//! then one line per method with its first samples (soft masks in [0, 1], grayscale), each line
//! labelled on the left, method labels in the method's colour.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::RGBColor;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::map::{GAP, MARGIN, PANEL, Shade, TITLE_H, draw_centred, draw_map};
use crate::report::rows::MethodColumn;

use super::{DrawResult, Figure, FigureError, Map, method_colour, text_style, text_width};

/// One image block of the sample grid.
#[derive(Debug, Clone, PartialEq)]
pub struct GridRow {
    /// The input image (first channel), shape (h, w); grayscale, normalised per map.
    pub image: Map,
    /// The raters' masks, each shape (h, w), values in [0, 1].
    pub annotations: Vec<Map>,
    /// Per method: `(method id, label, samples)`, each sample a soft mask of shape (h, w) in
    /// [0, 1]; at most [`MAX_SAMPLES`] of them are shown.
    pub methods: Vec<(MethodColumn, String, Vec<Map>)>,
}

/// The most samples shown per method line.
pub const MAX_SAMPLES: usize = 16;

/// Height of the caption line above each block's first line, in pixels.
const CAPTION_H: u32 = 26;
/// Gap between blocks, in pixels.
const BLOCK_GAP: u32 = 22;
/// Label text size, in pixels.
const LABEL_FONT: f64 = 18.0;
/// Label of each block's first line.
const DATA_LABEL: &str = "image, raters";

/// The sample grid, laid out.
struct GridFigure<'a> {
    /// The figure title.
    title: &'a str,
    /// The blocks.
    rows: &'a [GridRow],
    /// Width of the label column, in pixels.
    label_w: u32,
    /// Panels per line.
    cols: usize,
}

impl<'a> GridFigure<'a> {
    /// Lays out the grid.
    fn new(title: &'a str, rows: &'a [GridRow]) -> Self {
        let labels = rows
            .iter()
            .flat_map(|r| r.methods.iter().map(|m| m.1.as_str()));
        let longest = labels
            .chain([DATA_LABEL])
            .map(|l| text_width(l, LABEL_FONT))
            .max()
            .unwrap_or(0);
        let cols = rows
            .iter()
            .flat_map(|r| {
                let samples = r.methods.iter().map(|m| m.2.len().min(MAX_SAMPLES));
                samples.chain([1 + r.annotations.len()])
            })
            .max()
            .unwrap_or(1);
        Self {
            title,
            rows,
            label_w: (longest + 24).max(130),
            cols,
        }
    }

    /// Height of one block, in pixels (without the gap after it).
    fn block_height(row: &GridRow) -> u32 {
        let lines = 1 + row.methods.len() as u32;
        let sample_caption = if row.methods.iter().any(|(_, _, s)| !s.is_empty()) {
            CAPTION_H
        } else {
            0
        };
        CAPTION_H + sample_caption + lines * (PANEL + GAP) - GAP
    }
}

impl Figure for GridFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let w = 2 * MARGIN + self.label_w + self.cols as u32 * (PANEL + GAP) - GAP;
        let blocks: u32 = self.rows.iter().map(Self::block_height).sum();
        let gaps = BLOCK_GAP * self.rows.len().saturating_sub(1) as u32;
        (w, TITLE_H + blocks + gaps + MARGIN)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let black = RGBColor(0, 0, 0);
        let (w, _) = self.size();
        draw_centred(root, self.title, (w as i32 / 2, 12), 26.0, black)?;
        let x0 = (MARGIN + self.label_w) as i32;
        let step = (PANEL + GAP) as i32;
        let half = PANEL as i32 / 2;
        let label_at = |y: i32| (MARGIN as i32, y + half);
        let label_style =
            |c: RGBColor| text_style(LABEL_FONT, c).pos(Pos::new(HPos::Left, VPos::Center));
        let mut y = TITLE_H as i32;
        for (b, row) in self.rows.iter().enumerate() {
            if b > 0 {
                let line_y = y - (BLOCK_GAP / 2) as i32;
                let line = vec![(MARGIN as i32, line_y), (w as i32 - MARGIN as i32, line_y)];
                root.draw(&PathElement::new(line, RGBColor(200, 200, 200)))?;
            }
            draw_centred(root, "image", (x0 + half, y + 2), 17.0, black)?;
            for j in 0..row.annotations.len() {
                let cx = x0 + (j as i32 + 1) * step + half;
                draw_centred(root, &format!("rater {}", j + 1), (cx, y + 2), 17.0, black)?;
            }
            y += CAPTION_H as i32;
            root.draw(&Text::new(DATA_LABEL, label_at(y), label_style(black)))?;
            draw_map(root, (x0, y), &row.image, Shade::Normalised)?;
            for (j, m) in row.annotations.iter().enumerate() {
                draw_map(root, (x0 + (j as i32 + 1) * step, y), m, Shade::Unit)?;
            }
            // A caption line over the sample columns, so they do not read as image/raters.
            let shown = row
                .methods
                .iter()
                .map(|(_, _, s)| s.len().min(MAX_SAMPLES))
                .max();
            if let Some(n) = shown.filter(|&n| n > 0) {
                y += step;
                for s in 0..n {
                    let cx = x0 + s as i32 * step + half;
                    draw_centred(root, &format!("sample {}", s + 1), (cx, y + 2), 17.0, black)?;
                }
                y += CAPTION_H as i32 - step;
            }
            for (id, label, samples) in &row.methods {
                y += step;
                let style = label_style(method_colour(*id));
                root.draw(&Text::new(label.clone(), label_at(y), style))?;
                for (s, m) in samples.iter().take(MAX_SAMPLES).enumerate() {
                    draw_map(root, (x0 + s as i32 * step, y), m, Shade::Unit)?;
                }
            }
            y += PANEL as i32 + BLOCK_GAP as i32;
        }
        Ok(())
    }
}

/// Checks every map of the blocks, naming the first bad one.
fn check_rows(stem: &Path, rows: &[GridRow]) -> Result<(), FigureError> {
    let invalid = |message| FigureError::Invalid {
        path: stem.to_path_buf(),
        message,
    };
    for (r, row) in rows.iter().enumerate() {
        row.image
            .check(&format!("block {r} image"))
            .map_err(invalid)?;
        for (j, m) in row.annotations.iter().enumerate() {
            m.check(&format!("block {r} rater {j}")).map_err(invalid)?;
        }
        for (id, _, samples) in &row.methods {
            for (s, m) in samples.iter().enumerate() {
                m.check(&format!("block {r} {id} sample {s}"))
                    .map_err(invalid)?;
            }
        }
    }
    Ok(())
}

/// The sample grid: per image a block whose first line is the image and its raters' masks
/// (captioned "image", "rater 1", …) and whose following lines are, per method, its first samples
/// (at most [`MAX_SAMPLES`]; soft masks in grayscale on [0, 1]) labelled on the left in the
/// method's colour. Each panel is 112×112 px whatever the map size; keep figures to about 40
/// panels (the SVG holds up to one rectangle per pixel), by passing fewer blocks or samples.
///
/// Writes `{stem}.png` and `{stem}.svg`; returns both paths, PNG first. Errors with
/// [`FigureError::Empty`] for no blocks and [`FigureError::Invalid`] for a map whose data length
/// is not `h * w`.
pub fn sample_grid(
    stem: &Path,
    title: &str,
    rows: &[GridRow],
) -> Result<Vec<PathBuf>, FigureError> {
    if rows.is_empty() {
        return Err(FigureError::Empty {
            path: stem.to_path_buf(),
            what: "no blocks".into(),
        });
    }
    check_rows(stem, rows)?;
    super::save(stem, &GridFigure::new(title, rows))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::test_util::check_outputs;
    use super::super::uncertainty::tests::disc;
    use super::*;

    fn block(n: usize) -> GridRow {
        let samples = |k: usize| {
            (0..k)
                .map(|s| disc(n, n as f32 / 5.0 + s as f32, 2.0))
                .collect()
        };
        GridRow {
            image: disc(n, n as f32 / 4.0, 6.0),
            annotations: (0..4)
                .map(|j| disc(n, n as f32 / 5.0 + j as f32, 0.0))
                .collect(),
            methods: vec![
                (MethodColumn::of_name("flow"), "flow".into(), samples(6)),
                (
                    MethodColumn::of_name("prob-unet"),
                    "Prob. U-Net".into(),
                    samples(3),
                ),
            ],
        }
    }

    #[test]
    fn sample_grid_writes_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("grid");
        let rows = vec![block(32), block(48)];
        let paths = sample_grid(&stem, "Samples", &rows).unwrap();
        let size = GridFigure::new("Samples", &rows).size();
        check_outputs(
            &paths,
            &stem,
            Some(size),
            &["flow", "Prob. U-Net", "rater 4", "Samples"],
        );
    }

    #[test]
    fn bad_or_empty_input_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("bad");
        assert!(matches!(
            sample_grid(&stem, "t", &[]),
            Err(FigureError::Empty { .. })
        ));
        let mut b = block(16);
        b.methods[0].2[1].w = 0;
        assert!(matches!(
            sample_grid(&stem, "t", &[b]),
            Err(FigureError::Invalid { .. })
        ));
    }

    #[test]
    fn nan_samples_do_not_panic() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("nan");
        let mut b = block(16);
        b.methods[0].2[0].data.fill(f32::NAN);
        let paths = sample_grid(&stem, "t", &[b]).unwrap();
        check_outputs(&paths, &stem, None, &["flow"]);
    }
}
