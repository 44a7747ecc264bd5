//! The embedded synthetic multi-rater dataset whose true answer distribution is known
//! (data-formats §4.3): presets, the generator, and the oracle of every item.

pub mod generator;
pub mod geometry;
pub mod oracle;
pub mod preset;

pub use generator::{SynthSample, SyntheticDataset, stack};
pub use oracle::{Oracle, OracleSummary};
pub use preset::{SynthConfig, SynthPreset};
