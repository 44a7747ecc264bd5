//! The drawing canvas shared by every figure: the error type, the embedded font, text styles,
//! the [`Figure`] trait and [`save`], which renders a figure to PNG (in memory, encoded with the
//! `image` crate) and SVG, each written atomically.

use std::error::Error as StdError;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use image::ImageEncoder;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, RGBColor, TextStyle};

/// What can go wrong while drawing or writing a figure.
#[derive(Debug, thiserror::Error)]
pub enum FigureError {
    /// There is nothing to draw (no series, rows or finite values).
    #[error("{}: nothing to draw: {what}", path.display())]
    Empty {
        /// The figure stem.
        path: PathBuf,
        /// What is missing.
        what: String,
    },
    /// An input is malformed (e.g. a map whose data length is not `h * w`).
    #[error("{}: invalid input: {message}", path.display())]
    Invalid {
        /// The figure stem.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The plotting library failed while drawing.
    #[error("{}: drawing failed: {message}", path.display())]
    Draw {
        /// The figure file being drawn.
        path: PathBuf,
        /// The plotting library's message.
        message: String,
    },
    /// PNG encoding failed.
    #[error("{}: PNG encoding failed: {message}", path.display())]
    Encode {
        /// The PNG file.
        path: PathBuf,
        /// The encoder's message.
        message: String,
    },
    /// Writing a figure file failed.
    #[error("writing figure {}: {source}", path.display())]
    Io {
        /// The figure file.
        path: PathBuf,
        /// The cause.
        source: fmseg_data::DataError,
    },
    /// The embedded font could not be registered (a corrupt font file in the build).
    #[error("the embedded DejaVu Sans font could not be registered")]
    Font,
}

/// The font family every figure uses (DejaVu Sans, embedded).
pub(crate) const FONT_FAMILY: &str = "sans-serif";

/// DejaVu Sans, embedded so that rendering works without system fonts.
const FONT_BYTES: &[u8] = include_bytes!("../../../assets/DejaVuSans.ttf");

/// Whether the embedded font was registered successfully (registration runs once per process).
static FONT_READY: OnceLock<bool> = OnceLock::new();

/// Registers the embedded font under [`FONT_FAMILY`] once per process.
fn register_font() -> Result<(), FigureError> {
    let ok = *FONT_READY.get_or_init(|| {
        plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT_BYTES).is_ok()
    });
    if ok { Ok(()) } else { Err(FigureError::Font) }
}

/// Result of drawing onto a backend; the error is the plotting library's, as text later.
pub(crate) type DrawResult = Result<(), Box<dyn StdError + Send + Sync>>;

/// A figure that can be drawn onto any plotters backend (PNG buffer or SVG string).
pub(crate) trait Figure {
    /// Size in pixels, `(width, height)`.
    fn size(&self) -> (u32, u32);
    /// Draws the figure onto `root`, which is already filled white.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static;
}

/// A text style in the embedded font: `size` in pixels, in `colour`.
pub(crate) fn text_style(size: f64, colour: RGBColor) -> TextStyle<'static> {
    (FONT_FAMILY, size).into_font().color(&colour)
}

/// A rough width in pixels of `text` at `size` px in DejaVu Sans (for layout before drawing).
pub(crate) fn text_width(text: &str, size: f64) -> u32 {
    (text.chars().count() as f64 * size * 0.62).ceil() as u32
}

/// `stem` with `.ext` appended (not replacing a dot already in the stem, e.g. `ged_w0.3`).
pub(crate) fn with_suffix(stem: &Path, ext: &str) -> PathBuf {
    let mut name = stem.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    PathBuf::from(name)
}

/// Fills `root` white, draws `fig` and presents the result.
fn render<DB: DrawingBackend, F: Figure>(root: &DrawingArea<DB, Shift>, fig: &F) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    fig.draw(root)?;
    root.present()?;
    Ok(())
}

/// Writes `bytes` to `path` atomically.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), FigureError> {
    fmseg_data::atomic::write_atomic(path, bytes).map_err(|source| FigureError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Renders `fig` to `{stem}.png` and `{stem}.svg` (both written atomically) and returns the two
/// paths, PNG first.
pub(crate) fn save<F: Figure>(stem: &Path, fig: &F) -> Result<Vec<PathBuf>, FigureError> {
    register_font()?;
    let (w, h) = fig.size();
    let png_path = with_suffix(stem, "png");
    let svg_path = with_suffix(stem, "svg");
    let draw_err = |path: &Path, e: Box<dyn StdError + Send + Sync>| FigureError::Draw {
        path: path.to_path_buf(),
        message: e.to_string(),
    };

    // Shape (h, w, 3), row-major RGB.
    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        render(&root, fig).map_err(|e| draw_err(&png_path, e))?;
    }
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&rgb, w, h, image::ExtendedColorType::Rgb8)
        .map_err(|e| FigureError::Encode {
            path: png_path.clone(),
            message: e.to_string(),
        })?;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        render(&root, fig).map_err(|e| draw_err(&svg_path, e))?;
    }

    write_file(&png_path, &png)?;
    write_file(&svg_path, svg.as_bytes())?;
    Ok(vec![png_path, svg_path])
}

/// One legend entry: a line sample in `colour` with the dash/marker `style`, and its label.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LegendEntry {
    /// The legend text.
    pub label: String,
    /// The line and marker colour.
    pub colour: RGBColor,
    /// The dash/marker style index (see [`curves`]).
    pub style: usize,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn suffix_keeps_dots_in_stem() {
        assert_eq!(
            with_suffix(Path::new("a/ged_w0.3"), "png"),
            PathBuf::from("a/ged_w0.3.png")
        );
    }

    #[test]
    fn font_registers_once() {
        register_font().unwrap();
        register_font().unwrap();
    }
}
