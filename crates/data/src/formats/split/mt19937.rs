//! numpy's legacy `RandomState` stream, as far as `RandomState(seed).permutation(n)` needs it.
//!
//! Reference behaviour (numpy `random/mtrand.pyx`, `src/mt19937`, `src/distributions`):
//! - `RandomState(int)` seeds MT19937 with Matsumoto & Nishimura's `init_genrand(seed)`;
//! - 32-bit draws are the standard tempered MT19937 outputs; a 64-bit draw is
//!   `(first << 32) | second`;
//! - `random_interval(max)` draws in `[0, max]` by masked rejection: mask = smallest
//!   `2^k - 1 >= max`, redraw `next & mask` until `<= max` (32-bit draws when `max < 2^32`);
//! - `shuffle` of a 1-D array swaps `a[i]` with `a[random_interval(i)]` for `i = n-1 .. 1`;
//! - `permutation(n)` shuffles `arange(n)`.

const N: usize = 624;
const M: usize = 397;

/// The MT19937 generator with numpy's legacy seeding.
#[derive(Clone)]
pub struct Mt19937 {
    mt: [u32; N],
    idx: usize,
}

impl Mt19937 {
    /// `init_genrand(seed)`, as `numpy.random.RandomState(seed)` does for an integer seed.
    pub fn new(seed: u32) -> Self {
        let mut mt = [0u32; N];
        mt[0] = seed;
        for i in 1..N {
            let prev = mt[i - 1];
            mt[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Self { mt, idx: N }
    }

    fn twist(&mut self) {
        for i in 0..N {
            let y = (self.mt[i] & 0x8000_0000) | (self.mt[(i + 1) % N] & 0x7fff_ffff);
            let mag = if y & 1 == 0 { 0 } else { 0x9908_b0df };
            self.mt[i] = self.mt[(i + M) % N] ^ (y >> 1) ^ mag;
        }
        self.idx = 0;
    }

    /// Next tempered 32-bit output (`genrand_int32`).
    pub fn next_u32(&mut self) -> u32 {
        if self.idx >= N {
            self.twist();
        }
        let mut y = self.mt[self.idx];
        self.idx += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// Next 64-bit output: the first 32-bit draw is the high half.
    pub fn next_u64(&mut self) -> u64 {
        let hi = u64::from(self.next_u32());
        (hi << 32) | u64::from(self.next_u32())
    }

    /// A uniform integer in `[0, max]` by numpy's masked rejection sampling.
    pub fn random_interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mask = u64::MAX >> max.leading_zeros();
        loop {
            let v = if max <= u64::from(u32::MAX) {
                u64::from(self.next_u32()) & mask
            } else {
                self.next_u64() & mask
            };
            if v <= max {
                return v;
            }
        }
    }

    /// numpy legacy `RandomState.shuffle` of a 1-D sequence.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.random_interval(i as u64) as usize;
            v.swap(i, j);
        }
    }

    /// numpy legacy `RandomState.permutation(n)`.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        self.shuffle(&mut v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_outputs_of_init_genrand() {
        // mt19937ar.c with init_genrand(5489) (the C++ std::mt19937 default): the 10000th
        // output is 4123659995 (C++11 [rand.predef]).
        let mut g = Mt19937::new(5489);
        let last = (0..10_000).map(|_| g.next_u32()).last();
        assert_eq!(last, Some(4_123_659_995));
        // numpy 2.4: np.random.RandomState(42)._bit_generator.random_raw() == 1608637542
        assert_eq!(Mt19937::new(42).next_u32(), 1_608_637_542);
    }

    #[test]
    fn numpy_permutation_of_ten() {
        // numpy 2.4: np.random.RandomState(42).permutation(10)
        assert_eq!(
            Mt19937::new(42).permutation(10),
            vec![8, 1, 5, 0, 7, 2, 9, 4, 3, 6]
        );
    }

    #[test]
    fn interval_stays_in_range() {
        let mut g = Mt19937::new(1);
        for max in [1u64, 2, 3, 7, 8, 1000, u64::from(u32::MAX), 1 << 40] {
            assert!((0..200).all(|_| g.random_interval(max) <= max));
        }
    }
}
