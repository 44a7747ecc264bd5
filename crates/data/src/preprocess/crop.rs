//! Lesion-centred square crops and horizontal flips.
//!
//! The crop centre is the centre of the bounding box of the union of all raters' masks (the
//! lesion), or the image centre when every rater is empty. The window is shifted to stay inside
//! the image (clamping at borders); when the crop is larger than the image along an axis the
//! image is centred in it and the rest is zero padding. The flip mirrors the width axis (the
//! official training transform's `HorizontalFlip`, applied to image and masks together).

/// `(y, x)` centre of the bounding box of every pixel any rater marked, `None` when all empty.
pub fn lesion_center(masks: &[Vec<u8>], h: usize, w: usize) -> Option<(usize, usize)> {
    let (mut y0, mut y1, mut x0, mut x1) = (usize::MAX, 0, usize::MAX, 0);
    for m in masks {
        for (i, _) in m.iter().enumerate().take(h * w).filter(|(_, v)| **v != 0) {
            let (y, x) = (i / w.max(1), i % w.max(1));
            (y0, y1, x0, x1) = (y0.min(y), y1.max(y), x0.min(x), x1.max(x));
        }
    }
    (y0 != usize::MAX).then(|| ((y0 + y1) / 2, (x0 + x1) / 2))
}

/// Start offset of a window of `size` on an axis of length `n` centred at `c`: clamped into
/// `[0, n - size]` when it fits, else negative (the image is centred and padded).
pub fn window_start(c: usize, size: usize, n: usize) -> isize {
    if size <= n {
        c.saturating_sub(size / 2).min(n - size) as isize
    } else {
        -(((size - n) / 2) as isize)
    }
}

/// The `(y0, x0)` window origin for a `size x size` crop of a sample.
pub fn crop_origin(masks: &[Vec<u8>], h: usize, w: usize, size: usize) -> (isize, isize) {
    let (cy, cx) = lesion_center(masks, h, w).unwrap_or((h / 2, w / 2));
    (window_start(cy, size, h), window_start(cx, size, w))
}

/// Copies the `size x size` window at `(y0, x0)` of every `h x w` plane of `src` (C order,
/// `planes` planes), with zeros (`T::default()`) outside the image.
pub fn crop_planes<T: Copy + Default>(
    src: &[T],
    planes: usize,
    (h, w): (usize, usize),
    (y0, x0): (isize, isize),
    size: usize,
) -> Vec<T> {
    let mut out = vec![T::default(); planes * size * size];
    for p in 0..planes {
        for oy in 0..size {
            let y = y0 + oy as isize;
            if y < 0 || y as usize >= h {
                continue;
            }
            for ox in 0..size {
                let x = x0 + ox as isize;
                if x < 0 || x as usize >= w {
                    continue;
                }
                if let Some(&v) = src.get(p * h * w + y as usize * w + x as usize) {
                    out[p * size * size + oy * size + ox] = v;
                }
            }
        }
    }
    out
}

/// Mirrors every `h x w` plane of `data` left-right in place.
pub fn hflip_planes<T>(data: &mut [T], w: usize) {
    if w == 0 {
        return;
    }
    for row in data.chunks_exact_mut(w) {
        row.reverse();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_clamps_and_pads() {
        assert_eq!(window_start(0, 4, 10), 0);
        assert_eq!(window_start(9, 4, 10), 6);
        assert_eq!(window_start(5, 4, 10), 3);
        assert_eq!(window_start(1, 6, 4), -1);
    }

    #[test]
    fn centre_of_union_bbox() {
        let mut a = vec![0u8; 25];
        let mut b = vec![0u8; 25];
        a[5 + 1] = 1; // (1, 1)
        b[3 * 5 + 3] = 1; // (3, 3)
        assert_eq!(lesion_center(&[a, b], 5, 5), Some((2, 2)));
        assert_eq!(lesion_center(&[vec![0; 25]], 5, 5), None);
    }

    #[test]
    fn flip_reverses_rows() {
        let mut d = vec![1, 2, 3, 4, 5, 6];
        hflip_planes(&mut d, 3);
        assert_eq!(d, vec![3, 2, 1, 6, 5, 4]);
    }
}
