//! The sample counts k an experiment scores (`sample_counts:`): sorted, without repeats, every
//! count at least 1. The largest is drawn once per test image and every smaller k is a prefix of
//! it (paper §2: metrics as the number of samples grows).

use serde::{Deserialize, Serialize};

/// Sorted, unique, non-zero sample counts (at least one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "Vec<usize>")]
pub struct SampleCounts(Vec<usize>);

impl<'de> Deserialize<'de> for SampleCounts {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Checked inside the sequence visitor, so a YAML error keeps the line and column.
        struct Counts;
        impl<'de> serde::de::Visitor<'de> for Counts {
            type Value = SampleCounts;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of sample counts")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<SampleCounts, A::Error> {
                let mut counts = Vec::new();
                while let Some(k) = seq.next_element::<usize>()? {
                    counts.push(k);
                }
                SampleCounts::try_from(counts).map_err(serde::de::Error::custom)
            }
        }
        d.deserialize_seq(Counts)
    }
}

impl SampleCounts {
    /// The paper's counts: 1, 2, 4, 8, 16.
    pub fn paper() -> Self {
        Self(vec![1, 2, 4, 8, 16])
    }

    /// The counts, ascending.
    pub fn as_slice(&self) -> &[usize] {
        &self.0
    }

    /// The largest count (samples drawn per image).
    pub fn max(&self) -> usize {
        self.0.last().copied().unwrap_or(1)
    }

    /// Whether `k` is scored.
    pub fn contains(&self, k: usize) -> bool {
        self.0.binary_search(&k).is_ok()
    }
}

impl TryFrom<Vec<usize>> for SampleCounts {
    type Error = String;
    fn try_from(mut counts: Vec<usize>) -> Result<Self, String> {
        counts.sort_unstable();
        counts.dedup();
        if counts.is_empty() || counts[0] == 0 {
            return Err("give sample counts of at least 1".into());
        }
        Ok(Self(counts))
    }
}

impl From<SampleCounts> for Vec<usize> {
    fn from(c: SampleCounts) -> Self {
        c.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_unique_non_zero() {
        let c = SampleCounts::try_from(vec![8, 1, 8, 4]).unwrap();
        assert_eq!(c.as_slice(), &[1, 4, 8]);
        assert_eq!(c.max(), 8);
        assert!(c.contains(4) && !c.contains(2));
        assert!(SampleCounts::try_from(vec![]).is_err());
        assert!(SampleCounts::try_from(vec![0, 3]).is_err());
    }
}
