//! Image and mask resizing as albumentations `Resize` does it through OpenCV (the official
//! loaders resize every sample to `img_size`): bilinear (`cv2.INTER_LINEAR`, half-pixel
//! centres, edge clamping) for images, nearest (`cv2.INTER_NEAREST`, source index
//! `floor(dst * src / dst_size)`) for masks, so resized masks keep exactly their input values.

/// Bilinear resize of a `channels x h x w` C-order image to `channels x th x tw`.
///
/// An empty source or target gives a zero-filled output of the target size.
pub fn resize_bilinear(
    src: &[f32],
    channels: usize,
    h: usize,
    w: usize,
    th: usize,
    tw: usize,
) -> Vec<f32> {
    let mut out = vec![0.0f32; channels * th * tw];
    if h == 0 || w == 0 || src.len() < channels * h * w {
        return out;
    }
    let axis = |dst: usize, n_src: usize, n_dst: usize| -> Vec<(usize, usize, f32)> {
        let scale = n_src as f64 / n_dst as f64;
        (0..dst)
            .map(|d| {
                let s = ((d as f64 + 0.5) * scale - 0.5).max(0.0);
                let i0 = (s.floor() as usize).min(n_src - 1);
                let i1 = (i0 + 1).min(n_src - 1);
                (i0, i1, (s - i0 as f64).clamp(0.0, 1.0) as f32)
            })
            .collect()
    };
    let ys = axis(th, h, th);
    let xs = axis(tw, w, tw);
    for c in 0..channels {
        let plane = &src[c * h * w..(c + 1) * h * w];
        let dst = &mut out[c * th * tw..(c + 1) * th * tw];
        for (ty, &(y0, y1, fy)) in ys.iter().enumerate() {
            for (tx, &(x0, x1, fx)) in xs.iter().enumerate() {
                let top = plane[y0 * w + x0] * (1.0 - fx) + plane[y0 * w + x1] * fx;
                let bottom = plane[y1 * w + x0] * (1.0 - fx) + plane[y1 * w + x1] * fx;
                dst[ty * tw + tx] = top * (1.0 - fy) + bottom * fy;
            }
        }
    }
    out
}

/// Nearest-neighbour resize of an `h x w` plane to `th x tw` (every output value is an input
/// value). An empty source gives a default-filled output.
pub fn resize_nearest<T: Copy + Default>(
    src: &[T],
    h: usize,
    w: usize,
    th: usize,
    tw: usize,
) -> Vec<T> {
    let mut out = vec![T::default(); th * tw];
    if h == 0 || w == 0 || src.len() < h * w {
        return out;
    }
    let index = |d: usize, n_src: usize, n_dst: usize| ((d * n_src) / n_dst).min(n_src - 1);
    for ty in 0..th {
        let sy = index(ty, h, th);
        for tx in 0..tw {
            out[ty * tw + tx] = src[sy * w + index(tx, w, tw)];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_sizes_are_exact() {
        let img: Vec<f32> = (0..12).map(|v| v as f32).collect();
        assert_eq!(resize_bilinear(&img, 1, 3, 4, 3, 4), img);
        assert_eq!(resize_nearest(&img, 3, 4, 3, 4), img);
    }

    #[test]
    fn upsampling_2x_matches_opencv() {
        // cv2.resize([[0, 2]], (4, 1), INTER_LINEAR) == [[0, 0.5, 1.5, 2]].
        assert_eq!(
            resize_bilinear(&[0.0, 2.0], 1, 1, 2, 1, 4),
            vec![0.0, 0.5, 1.5, 2.0]
        );
        assert_eq!(resize_nearest(&[1u8, 2], 1, 2, 1, 4), vec![1, 1, 2, 2]);
    }
}
