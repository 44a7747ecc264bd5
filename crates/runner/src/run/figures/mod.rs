//! Paper figures: metric-vs-k curves with confidence bands, multi-metric panels, uncertainty
//! (mean/variance) maps, sample grids and metric-vs-NFE solver curves.
//!
//! Every figure is written twice, as `{stem}.png` (rendered into an in-memory RGB buffer and
//! encoded with the `image` crate) and `{stem}.svg`, each atomically (temporary file + rename).
//! Text uses DejaVu Sans embedded in the binary and registered with plotters' `ab_glyph` backend
//! under the family `"sans-serif"`, so rendering needs no system fonts or fontconfig.
//!
//! Colours are fixed per method id ([`method_colour`]) and per solver ([`solver_colour`]) so that
//! a method looks the same in every figure.

mod canvas;
mod curves;
mod grid;
mod lines;
mod map;
mod nfe;
mod palette;
#[cfg(test)]
mod test_util;
mod ticks;
mod uncertainty;

pub use canvas::FigureError;
pub(crate) use canvas::LegendEntry;
pub(crate) use canvas::{DrawResult, Figure, save, text_style, text_width};
pub use curves::{CurvePoint, CurveSeries, metric_vs_k, metrics_panel, panels_against};
pub use grid::{GridRow, sample_grid};
pub use map::Map;
pub use nfe::{NfePoint, metric_vs_nfe};
pub use palette::{gray, method_colour, solver_colour, solver_style, viridis};
pub use uncertainty::{UncertaintyRow, uncertainty_figure};
