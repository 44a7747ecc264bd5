//! Colours shared by every figure: one fixed colour per method id and per ODE solver (from the
//! colour-blind-safe Okabe–Ito palette), a deterministic hashed colour for external samples, a grayscale
//! ramp for images and masks, and a viridis-like perceptual colormap for variance maps.

use fmseg_model::{MethodId, Solver};

use crate::report::rows::MethodColumn;
use plotters::style::RGBColor;

/// Okabe–Ito blue, used for the paper's method (`flow`).
const BLUE: RGBColor = RGBColor(0x00, 0x72, 0xB2);
/// Okabe–Ito orange.
const ORANGE: RGBColor = RGBColor(0xE6, 0x9F, 0x00);
/// Okabe–Ito bluish green.
const GREEN: RGBColor = RGBColor(0x00, 0x9E, 0x73);
/// Okabe–Ito reddish purple.
const PURPLE: RGBColor = RGBColor(0xCC, 0x79, 0xA7);
/// Okabe–Ito vermillion.
const VERMILLION: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
/// Okabe–Ito sky blue.
const SKY: RGBColor = RGBColor(0x56, 0xB4, 0xE9);
/// Black, used for the oracle reference.
const BLACK: RGBColor = RGBColor(0x00, 0x00, 0x00);
/// A darkened Okabe–Ito yellow (the original is too light on white).
const DARK_YELLOW: RGBColor = RGBColor(0xB8, 0x9C, 0x00);
/// Neutral grey.
const GREY: RGBColor = RGBColor(0x80, 0x80, 0x80);

/// Colours handed to ids that have no fixed colour, chosen by a stable hash of the id.
const FALLBACK: [RGBColor; 5] = [
    VERMILLION,
    SKY,
    DARK_YELLOW,
    GREY,
    RGBColor(0x8C, 0x56, 0x4B),
];

/// FNV-1a hash: stable across Rust versions and platforms (unlike `DefaultHasher`).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Picks a fallback colour for an id without a fixed one.
fn fallback(id: &str) -> RGBColor {
    let n = FALLBACK.len() as u64;
    // `n` is a small constant, so the remainder always fits in usize.
    FALLBACK[usize::try_from(fnv1a(id) % n).unwrap_or(0)]
}

/// The colour of a method id, the same in every figure: `flow` blue, `prob-unet` orange, `phiseg`
/// bluish green, `cimd` reddish purple, `oracle` black (Okabe–Ito, colour-blind safe). Any other id
/// gets a colour from a fixed fallback list chosen by a stable hash of the id, so it too is the
/// same from run to run.
pub fn method_colour(method: MethodColumn) -> RGBColor {
    match method {
        MethodColumn::Model(MethodId::Flow) => BLUE,
        MethodColumn::Model(MethodId::ProbUnet) => ORANGE,
        MethodColumn::Model(MethodId::Phiseg) => GREEN,
        MethodColumn::Model(MethodId::Cimd) => PURPLE,
        MethodColumn::Oracle => BLACK,
        MethodColumn::External => fallback("external"),
    }
}

/// The colour of an ODE solver in NFE figures: `euler` vermillion, `midpoint` blue, `heun` bluish
/// green, `rk4` reddish purple, `dopri5` orange; other names use the hashed fallback list.
pub fn solver_colour(solver: Solver) -> RGBColor {
    match solver {
        Solver::Euler => VERMILLION,
        Solver::Midpoint => BLUE,
        Solver::Heun => GREEN,
        Solver::Rk4 => PURPLE,
        Solver::Dopri5 => ORANGE,
    }
}

/// The marker/dash style index of an ODE solver (0 to 4 for the five known solvers), so solvers
/// differ by shape as well as by colour.
pub fn solver_style(solver: Solver) -> usize {
    match solver {
        Solver::Euler => 0,
        Solver::Midpoint => 1,
        Solver::Heun => 2,
        Solver::Rk4 => 3,
        Solver::Dopri5 => 4,
    }
}

/// Grayscale for a value in `[0, 1]` (clamped; 0 black, 1 white). Non-finite values are drawn in
/// red so they stand out.
pub fn gray(v: f32) -> RGBColor {
    if !v.is_finite() {
        return RGBColor(0xE0, 0x20, 0x20);
    }
    let g = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    RGBColor(g, g, g)
}

/// Nine samples of matplotlib's viridis at t = 0, 1/8, …, 1 (sRGB), interpolated linearly.
const VIRIDIS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
];

/// A viridis-like perceptual colour for `t` in `[0, 1]` (clamped; dark purple at 0, yellow at 1),
/// by linear interpolation in a nine-entry table. Non-finite values are drawn in red.
pub fn viridis(t: f32) -> RGBColor {
    if !t.is_finite() {
        return RGBColor(0xE0, 0x20, 0x20);
    }
    let x = t.clamp(0.0, 1.0) * (VIRIDIS.len() - 1) as f32;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - i as f32;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |p: u8, q: u8| (f32::from(p) + (f32::from(q) - f32::from(p)) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const KNOWN: [&str; 6] = ["flow", "prob-unet", "phiseg", "cimd", "oracle", "external"];

    #[test]
    fn known_methods_have_distinct_stable_colours() {
        let colours: Vec<RGBColor> = KNOWN
            .iter()
            .map(|m| method_colour(MethodColumn::of_name(m)))
            .collect();
        for (i, a) in colours.iter().enumerate() {
            for b in &colours[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(method_colour(MethodColumn::Model(MethodId::Flow)), BLUE);
        assert_eq!(method_colour(MethodColumn::Oracle), BLACK);
    }

    #[test]
    fn unknown_ids_get_a_stable_fallback() {
        assert_eq!(fallback("my-method"), fallback("my-method"));
        assert!(FALLBACK.contains(&method_colour(MethodColumn::External)));
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
    }

    #[test]
    fn solvers_have_distinct_colours_and_styles() {
        let names = Solver::ALL;
        for (i, &a) in names.iter().enumerate() {
            for &b in &names[i + 1..] {
                assert_ne!(solver_colour(a), solver_colour(b));
                assert_ne!(solver_style(a), solver_style(b));
            }
        }
    }

    #[test]
    fn colormaps_clamp_and_flag_nan() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(2.0), viridis(1.0));
        assert_eq!(viridis(f32::NAN), RGBColor(0xE0, 0x20, 0x20));
        assert_eq!(gray(0.0), RGBColor(0, 0, 0));
        assert_eq!(gray(1.0), RGBColor(255, 255, 255));
        assert_eq!(gray(-1.0), gray(0.0));
    }
}
