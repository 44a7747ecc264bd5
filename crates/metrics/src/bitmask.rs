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
    #[inline(always)]
    pub fn from_soft(values: &[f32]) -> Self {
        Self::from_words(pack_words(values, |v| v > 0.5), values.len())
    }

    /// Binarises integer annotations: foreground iff `value > 0` (0/1 or 0/255 masks).
    #[inline(always)]
    pub fn from_u8(values: &[u8]) -> Self {
        Self::from_words(pack_words(values, |v| v > 0), values.len())
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
        Self::from_words(words, pixels)
    }

    /// A mask from its packed words (pixel `i` is bit `i % 64` of word `i / 64`).
    ///
    /// # Panics
    /// If the word count does not match `pixels` or a bit past the last pixel is set.
    #[inline(always)]
    pub fn from_words(words: Vec<u64>, pixels: usize) -> Self {
        assert_eq!(
            words.len(),
            pixels.div_ceil(64),
            "word count must match pixels"
        );
        if !pixels.is_multiple_of(64) {
            let last = words[words.len() - 1];
            assert_eq!(last >> (pixels % 64), 0, "bits set past the last pixel");
        }
        let mut count = 0;
        for w in &words {
            count += w.count_ones();
        }
        Self {
            words,
            count,
            pixels,
        }
    }

    /// The packed words: pixel `i` is bit `i % 64` of word `i / 64`.
    pub fn words(&self) -> &[u64] {
        &self.words
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
    #[inline(always)]
    pub fn intersection(&self, other: &Self) -> u32 {
        assert_eq!(self.pixels, other.pixels, "masks of different sizes");
        let mut total = 0;
        for (a, b) in self.words.iter().zip(&other.words) {
            total += (a & b).count_ones();
        }
        total
    }
}

/// Packs a predicate over `values` into words, 64 pixels per word (written as a plain loop so
/// that it vectorises under the caller's SIMD dispatch).
#[inline(always)]
fn pack_words<T: Copy>(values: &[T], on: impl Fn(T) -> bool) -> Vec<u64> {
    let mut words = Vec::with_capacity(values.len().div_ceil(64));
    pack_words_into(values, on, &mut words);
    words
}

/// [`pack_words`] appending to `words`: bit `i % 64` of the `i / 64`-th new word is `on(values[i])`.
#[inline(always)]
pub(crate) fn pack_words_into<T: Copy>(values: &[T], on: impl Fn(T) -> bool, words: &mut Vec<u64>) {
    for chunk in values.chunks(64) {
        let mut bits = 0u64;
        for (i, &v) in chunk.iter().enumerate() {
            bits |= u64::from(on(v)) << i;
        }
        words.push(bits);
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
