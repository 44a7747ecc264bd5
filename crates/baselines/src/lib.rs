//! # fmseg-baselines
//!
//! The baselines the paper compares with (arXiv 2507.22418, paper-and-baselines §3): Prob-UNet
//! (Kohl et al. 2018), PHiSeg (Baumgartner et al. 2019) and CIMD (Rahman et al. 2023), each behind
//! the same [`fmseg_model::SegmentationSampler`] interface as the flow model.
//!
//! Every model exposes the same three pieces so a generic training loop can drive it:
//! - a serde config (`deny_unknown_fields`, explicit defaults) with `validate()` naming the
//!   offending field ([`ConfigError`]),
//! - `loss(&self, images, masks, rng) -> LossOutput` (total plus named terms), computed on
//!   whatever device the model and tensors live on (autodiff for training),
//! - [`fmseg_model::SegmentationSampler::sample`] on a plain (non-autodiff) model, e.g. after
//!   `Module::valid()`.
//!
//! Noise: training-time noise is drawn from a host [`fmseg_data::rng::Rng`] passed by the
//! caller (reproducible runs, independent of the backend); sampling noise comes from
//! [`fmseg_model::seeded_normal`] keyed by `(seed, stream)`.

#![warn(missing_docs)]

pub mod cimd;
pub mod common;
pub mod experiment;
pub mod gaussian;
pub mod load;
pub mod method;
pub mod phiseg;
pub mod prob_unet;

pub use common::{ConfigError, LossOutput, Reduction};
pub use gaussian::DiagGaussian;
pub use method::BaselineConfig;
