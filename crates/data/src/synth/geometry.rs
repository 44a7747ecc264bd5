//! Shapes of the synthetic scene: a rotated ellipse (the lesion) and a disc (its satellite), with
//! the pixel tests used for the hypothesis masks and the smooth ramp used to draw the image.

/// A rotated ellipse in pixel coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ellipse {
    /// Centre column.
    pub cx: f64,
    /// Centre row.
    pub cy: f64,
    /// Semi-axis along the rotated x axis.
    pub a: f64,
    /// Semi-axis along the rotated y axis.
    pub b: f64,
    /// Rotation in radians.
    pub angle: f64,
}

impl Ellipse {
    /// Approximate signed distance of pixel centre (x, y) to the boundary, positive inside:
    /// `(1 − r)·mean(a, b)` with r the normalised radius.
    pub fn signed_distance(&self, x: f64, y: f64) -> f64 {
        let (s, c) = self.angle.sin_cos();
        let (dx, dy) = (x - self.cx, y - self.cy);
        let (u, v) = (c * dx + s * dy, -s * dx + c * dy);
        let r = ((u / self.a).powi(2) + (v / self.b).powi(2)).sqrt();
        (1.0 - r) * 0.5 * (self.a + self.b)
    }

    /// The same ellipse with both semi-axes grown by `delta` (shrunk if negative, at least 1 px).
    pub fn grown(&self, delta: f64) -> Self {
        Self {
            a: (self.a + delta).max(1.0),
            b: (self.b + delta).max(1.0),
            ..*self
        }
    }

    /// Whether the pixel centre lies inside.
    pub fn contains(&self, x: f64, y: f64) -> bool {
        self.signed_distance(x, y) > 0.0
    }
}

/// A disc.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Disc {
    /// Centre column.
    pub cx: f64,
    /// Centre row.
    pub cy: f64,
    /// Radius.
    pub r: f64,
}

impl Disc {
    /// Signed distance to the circle, positive inside.
    pub fn signed_distance(&self, x: f64, y: f64) -> f64 {
        self.r - ((x - self.cx).powi(2) + (y - self.cy).powi(2)).sqrt()
    }
}

/// A smooth step from 0 (outside) to 1 (inside) over `width` pixels around the boundary.
pub fn ramp(signed_distance: f64, width: f64) -> f64 {
    (0.5 + signed_distance / width.max(1e-6)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ellipse_tests_and_growth() {
        let e = Ellipse {
            cx: 10.0,
            cy: 10.0,
            a: 4.0,
            b: 2.0,
            angle: 0.0,
        };
        assert!(e.contains(13.5, 10.0) && !e.contains(10.0, 12.5));
        assert!(e.grown(1.0).contains(10.0, 12.5));
        assert!((e.signed_distance(10.0, 10.0) - 3.0).abs() < 1e-12);
        assert_eq!(ramp(10.0, 2.0), 1.0);
        assert_eq!(ramp(0.0, 2.0), 0.5);
    }
}
