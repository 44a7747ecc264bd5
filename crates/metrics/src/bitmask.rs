//! Bit-packed binary masks: the strict `> 0.5` binarisation of the official evaluation
//! (huynhspm/Data-Uncertainty `eval_segmentation.py`, paper-and-baselines §2.1) stored as 64 pixels
//! per word, so intersections and unions are popcounts.

/// A binary H×W mask, row-major, 64 pixels per `u64` word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BitMask {
    words: Vec<u64>,
    count: u32,
    pixels: usize,
}

impl BitMask {
    /// Binarises soft values with the official strict threshold: a pixel is foreground iff
    /// `value > 0.5` (a value of exactly 0.5 is background).
    pub fn from_soft(values: &[f32]) -> Self {
        Self::from_fn(values.len(), |i| values[i] > 0.5)
    }

    /// Binarises integer annotations: foreground iff `value > 0` (0/1 or 0/255 masks).
    pub fn from_u8(values: &[u8]) -> Self {
        Self::from_fn(values.len(), |i| values[i] > 0)
    }

    /// Builds a mask of `pixels` pixels from a predicate on the flat pixel index.
    pub fn from_fn(pixels: usize, f: impl Fn(usize) -> bool) -> Self {
        let mut words = vec![0u64; pixels.div_ceil(64)];
        for (w, word) in words.iter_mut().enumerate() {
            let start = w * 64;
            let end = (start + 64).min(pixels);
            let mut bits = 0u64;
            for i in start..end {
                bits |= u64::from(f(i)) << (i - start);
            }
            *word = bits;
        }
        let count = words.iter().map(|w| w.count_ones()).sum();
        Self {
            words,
            count,
            pixels,
        }
    }

    /// Number of foreground pixels |A|.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Number of pixels H·W.
    pub fn pixels(&self) -> usize {
        self.pixels
    }

    /// Whether pixel `i` is foreground.
    pub fn get(&self, i: usize) -> bool {
        (self.words[i / 64] >> (i % 64)) & 1 == 1
    }

    /// |A ∩ B|.
    ///
    /// # Panics
    /// If the masks have different pixel counts.
    pub fn intersection(&self, other: &Self) -> u32 {
        assert_eq!(self.pixels, other.pixels, "masks of different sizes");
        self.words
            .iter()
            .zip(&other.words)
            .map(|(a, b)| (a & b).count_ones())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_threshold_and_counts() {
        let m = BitMask::from_soft(&[0.5, 0.50001, 1.0, 0.0, 0.7]);
        assert_eq!(m.count(), 3);
        assert!(!m.get(0));
        assert!(m.get(1) && m.get(2) && m.get(4));
    }

    #[test]
    fn intersection_across_word_boundaries() {
        let a = BitMask::from_fn(130, |i| i % 2 == 0);
        let b = BitMask::from_fn(130, |i| i % 3 == 0);
        let expected = (0..130).filter(|i| i % 6 == 0).count() as u32;
        assert_eq!(a.intersection(&b), expected);
        assert_eq!(a.count(), 65);
    }
}
