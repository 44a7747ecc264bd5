//! Per-image min-max normalisation to [0, 1] as the official loaders do it
//! (`(x - min) / (max - min)` over the whole image, i.e. jointly over all channels for MMIS's
//! t1/t1c/t2 stack). Deviation, documented: a constant image (where the official code divides
//! by zero and yields NaN) becomes all zeros, and non-finite pixels are ignored for the range
//! and set to 0.

/// Normalises `image` in place; returns the `(min, max)` of its finite values, if any.
pub fn min_max_normalize(image: &mut [f32]) -> Option<(f32, f32)> {
    let (lo, hi) = image
        .iter()
        .filter(|v| v.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        image.iter_mut().for_each(|v| *v = 0.0);
        return None;
    }
    let range = hi - lo;
    for v in image.iter_mut() {
        *v = if !v.is_finite() || range <= 0.0 {
            0.0
        } else {
            ((*v - lo) / range).clamp(0.0, 1.0)
        };
    }
    Some((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_to_unit_range() {
        let mut x = vec![2.0, 4.0, 6.0];
        assert_eq!(min_max_normalize(&mut x), Some((2.0, 6.0)));
        assert_eq!(x, vec![0.0, 0.5, 1.0]);
    }

    #[test]
    fn constant_and_non_finite_become_zero() {
        let mut x = vec![3.0, 3.0, f32::NAN];
        min_max_normalize(&mut x);
        assert_eq!(x, vec![0.0; 3]);
        let mut y = vec![f32::NAN];
        assert_eq!(min_max_normalize(&mut y), None);
        assert_eq!(y, vec![0.0]);
    }
}
