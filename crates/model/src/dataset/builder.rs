//! The batch builder: epoch-wise shuffling without replacement (drop last), one random
//! annotator per sample, horizontal flip of image and mask together (p = 0.5 when enabled).

use fmseg_data::rng::{Rng, splitmix64};

use super::{Batch, DatasetError, TrainSource};

/// Stream tag of the per-epoch permutation generator.
const EPOCH_STREAM: u64 = 0x5EED_E90C;

/// Builds the batch of a training step (see the [module docs](super)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchBuilder {
    /// Samples per batch B.
    pub batch_size: usize,
    /// Horizontal flip with probability 0.5 per sample.
    pub flip: bool,
    /// Seed of the epoch permutations.
    pub seed: u64,
}

impl BatchBuilder {
    /// Checks that `source` yields at least one full batch per epoch.
    pub fn check(&self, source: &dyn TrainSource) -> Result<(), DatasetError> {
        if self.batch_size == 0 || source.len() < self.batch_size {
            return Err(DatasetError::Invalid(format!(
                "batch size {} needs 1..={} (the number of training items)",
                self.batch_size,
                source.len()
            )));
        }
        Ok(())
    }

    /// Full batches per epoch, `⌊N / B⌋`.
    pub fn batches_per_epoch(&self, source: &dyn TrainSource) -> usize {
        source.len() / self.batch_size.max(1)
    }

    /// The permutation of `0..n` used in `epoch` (Fisher–Yates from `(seed, epoch)`).
    pub fn permutation(&self, n: usize, epoch: u64) -> Vec<usize> {
        let mut rng = Rng::for_item(splitmix64(self.seed ^ EPOCH_STREAM), epoch);
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, rng.below(i + 1));
        }
        order
    }

    /// The batch of step `step` (0-based); per-sample draws (annotator, flip) come from `rng`.
    ///
    /// # Panics
    ///
    /// If [`Self::check`] fails for `source`.
    pub fn build(&self, source: &dyn TrainSource, step: u64, rng: &mut Rng) -> Batch {
        let per_epoch = self.batches_per_epoch(source) as u64;
        assert!(per_epoch > 0, "batch size exceeds the number of items");
        let (epoch, slot) = (step / per_epoch, (step % per_epoch) as usize);
        let order = self.permutation(source.len(), epoch);
        let indices = order[slot * self.batch_size..(slot + 1) * self.batch_size].to_vec();
        let [c, h, w] = source.image_shape();
        let b = self.batch_size;
        let mut batch = Batch {
            images: Vec::with_capacity(b * c * h * w),
            masks: Vec::with_capacity(b * h * w),
            shape: [b, c, h, w],
            indices: indices.clone(),
            raters: Vec::with_capacity(b),
            flipped: Vec::with_capacity(b),
        };
        for &index in &indices {
            let (image, annotations) = source.item(index);
            let rater = rng.below(source.raters());
            let flip = self.flip && rng.uniform() < 0.5;
            let mask = &annotations[rater * h * w..(rater + 1) * h * w];
            push_rows(&mut batch.images, image, w, flip, |v| v);
            push_rows(&mut batch.masks, mask, w, flip, f32::from);
            batch.raters.push(rater);
            batch.flipped.push(flip);
        }
        batch
    }
}

/// Appends `plane` (rows of width `w`), reversing every row when `flip`.
fn push_rows<T: Copy>(out: &mut Vec<f32>, plane: &[T], w: usize, flip: bool, f: impl Fn(T) -> f32) {
    for row in plane.chunks_exact(w) {
        if flip {
            out.extend(row.iter().rev().map(|&v| f(v)));
        } else {
            out.extend(row.iter().map(|&v| f(v)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::InMemorySource;
    use super::*;

    fn source() -> InMemorySource {
        // 4 items, 1 channel, 2×3; image value = 10·item + column; 2 raters: rater r marks column r.
        let images = (0..4)
            .flat_map(|n| (0..6).map(move |p| (10 * n + p % 3) as f32))
            .collect();
        let annotations = (0..4)
            .flat_map(|_| (0..2).flat_map(|r| (0..6).map(move |p| u8::from(p % 3 == r))))
            .collect();
        InMemorySource::from_arrays(images, [4, 1, 2, 3], annotations, 2).unwrap()
    }

    #[test]
    fn epochs_cover_every_item_once() {
        let src = source();
        let builder = BatchBuilder {
            batch_size: 2,
            flip: false,
            seed: 3,
        };
        let mut rng = Rng::new(0);
        let mut seen: Vec<usize> = (0..2)
            .flat_map(|s| builder.build(&src, s, &mut rng).indices)
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, vec![0, 1, 2, 3]);
    }

    #[test]
    fn flip_reverses_image_and_mask_together() {
        let src = source();
        let builder = BatchBuilder {
            batch_size: 4,
            flip: true,
            seed: 1,
        };
        let batch = builder.build(&src, 0, &mut Rng::new(7));
        for (k, &index) in batch.indices.iter().enumerate() {
            let row = &batch.images[k * 6..k * 6 + 3];
            let mask = &batch.masks[k * 6..k * 6 + 3];
            let base = (10 * index) as f32;
            let col = if batch.flipped[k] {
                2 - batch.raters[k]
            } else {
                batch.raters[k]
            };
            let expect: Vec<f32> = if batch.flipped[k] {
                vec![base + 2.0, base + 1.0, base]
            } else {
                vec![base, base + 1.0, base + 2.0]
            };
            assert_eq!(row, expect.as_slice());
            assert_eq!(mask[col], 1.0);
            assert_eq!(mask.iter().sum::<f32>(), 1.0);
        }
        assert!(batch.flipped.iter().any(|&f| f) || batch.flipped.iter().all(|&f| !f));
    }
}
