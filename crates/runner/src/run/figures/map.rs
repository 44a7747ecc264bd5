//! Pixel-map panels shared by the uncertainty figure and the sample grid: [`Map`], how its
//! values become colours ([`Shade`]), and drawing it into a fixed-size square panel.
//!
//! Pixel maps are drawn as filled rectangles (horizontal runs of one colour merged), scaled to a
//! fixed panel size whatever the map's size. An SVG holds up to one rectangle per pixel, so a
//! figure of more than about 40 panels of 128×128 maps gets large: the caller passes fewer rows.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::RGBColor;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{DrawResult, gray, text_style, viridis};

/// A single-channel map, row-major, shape (h, w): pixel (r, c) is `data[r * w + c]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Map {
    /// Height in pixels.
    pub h: usize,
    /// Width in pixels.
    pub w: usize,
    /// Values, shape (h, w), row-major.
    pub data: Vec<f32>,
}

impl Map {
    /// Checks that the map is non-empty and `data` has `h * w` values.
    pub(crate) fn check(&self, what: &str) -> Result<(), String> {
        if self.h == 0 || self.w == 0 {
            return Err(format!("{what} is empty ({}×{})", self.h, self.w));
        }
        if self.data.len() != self.h * self.w {
            return Err(format!(
                "{what} has {} values for shape ({}, {})",
                self.data.len(),
                self.h,
                self.w
            ));
        }
        Ok(())
    }

    /// The finite minimum and maximum, `None` when no value is finite.
    pub(crate) fn finite_range(&self) -> Option<(f32, f32)> {
        let (lo, hi) = self
            .data
            .iter()
            .filter(|v| v.is_finite())
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        (lo <= hi).then_some((lo, hi))
    }
}

/// Panel size in pixels (every map is scaled to fit a square of this side).
pub(crate) const PANEL: u32 = 112;
/// Gap between panels of one group, in pixels.
pub(crate) const GAP: u32 = 6;
/// Outer margin, in pixels.
pub(crate) const MARGIN: u32 = 20;
/// Height of the title band, in pixels.
pub(crate) const TITLE_H: u32 = 46;
/// How a map's values become colours.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Shade {
    /// Grayscale, normalised to the map's own finite min..max.
    Normalised,
    /// Grayscale of the value clamped to [0, 1].
    Unit,
    /// Viridis on `0..vmax`.
    Variance(f32),
}

/// Draws `map` into a `PANEL`-sized square whose upper-left corner is `at`, centred when not
/// square, with a thin grey frame.
pub(crate) fn draw_map<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    at: (i32, i32),
    map: &Map,
    shade: Shade,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let cell = f64::from(PANEL) / map.h.max(map.w) as f64;
    let ox = at.0 + ((f64::from(PANEL) - cell * map.w as f64) / 2.0).round() as i32;
    let oy = at.1 + ((f64::from(PANEL) - cell * map.h as f64) / 2.0).round() as i32;
    let edge = |i: usize| (i as f64 * cell).round() as i32;
    let (lo, hi) = map.finite_range().unwrap_or((0.0, 1.0));
    let colour = |v: f32| match shade {
        Shade::Normalised if !v.is_finite() => gray(v),
        Shade::Normalised if hi - lo > 1e-12 => gray((v - lo) / (hi - lo)),
        Shade::Normalised | Shade::Unit => gray(v),
        Shade::Variance(vmax) => viridis(v / vmax),
    };
    for r in 0..map.h {
        let (y0, y1) = (oy + edge(r), oy + edge(r + 1));
        if y1 <= y0 {
            continue;
        }
        let row = &map.data[r * map.w..(r + 1) * map.w];
        let mut c = 0;
        while c < map.w {
            let col = colour(row[c]);
            let mut end = c + 1;
            while end < map.w && colour(row[end]) == col {
                end += 1;
            }
            let (x0, x1) = (ox + edge(c), ox + edge(end));
            if x1 > x0 {
                area.draw(&Rectangle::new([(x0, y0), (x1, y1)], col.filled()))?;
            }
            c = end;
        }
    }
    let (x1, y1) = (ox + edge(map.w), oy + edge(map.h));
    area.draw(&Rectangle::new(
        [(ox - 1, oy - 1), (x1, y1)],
        RGBColor(170, 170, 170),
    ))?;
    Ok(())
}

/// Draws `text` centred horizontally at `(x, y)` (top of the text at `y`).
pub(crate) fn draw_centred<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    (x, y): (i32, i32),
    size: f64,
    colour: RGBColor,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let style = text_style(size, colour).pos(Pos::new(HPos::Center, VPos::Top));
    area.draw(&Text::new(text.to_string(), (x, y), style))?;
    Ok(())
}
