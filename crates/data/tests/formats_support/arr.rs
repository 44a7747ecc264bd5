//! Arrays for the test pickle writer: C-order little-endian elements plus how to store them
//! (Fortran order and big endian are applied here, independently of the reader's code).

/// An array to pickle: C-order little-endian element bytes plus how to store them.
#[derive(Debug, Clone)]
pub struct Arr {
    /// numpy type code, e.g. `"f4"`.
    pub code: &'static str,
    /// Bytes per element.
    pub itemsize: usize,
    /// Store big endian (`>`).
    pub big: bool,
    /// Store in Fortran order.
    pub fortran: bool,
    /// Shape.
    pub shape: Vec<usize>,
    /// C-order, little-endian element bytes.
    pub le_c: Vec<u8>,
}

impl Arr {
    /// The stored buffer: elements in Fortran order if requested, byte-swapped if big endian.
    pub fn stored_bytes(&self) -> Vec<u8> {
        let n = self.shape.iter().product::<usize>();
        let elem = |c: usize| &self.le_c[c * self.itemsize..(c + 1) * self.itemsize];
        let mut order: Vec<usize> = (0..n).collect();
        if self.fortran {
            // walk the Fortran multi-index (axis 0 fastest) and look up each C offset
            let nd = self.shape.len();
            let mut cstride = vec![1usize; nd];
            for k in (0..nd.saturating_sub(1)).rev() {
                cstride[k] = cstride[k + 1] * self.shape[k + 1];
            }
            order = (0..n)
                .map(|f| {
                    let (mut rest, mut c) = (f, 0);
                    for (&d, &stride) in self.shape.iter().zip(&cstride) {
                        c += (rest % d) * stride;
                        rest /= d;
                    }
                    c
                })
                .collect();
        }
        let mut out = Vec::with_capacity(self.le_c.len());
        for c in order {
            let mut e = elem(c).to_vec();
            if self.big {
                e.reverse();
            }
            out.extend(e);
        }
        out
    }

    pub(crate) fn order_char(&self) -> char {
        match (self.itemsize, self.big) {
            (1, _) => '|',
            (_, true) => '>',
            _ => '<',
        }
    }
}
