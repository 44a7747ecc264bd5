//! The conditional flow-matching velocity network of "Aleatoric Uncertainty Medical Image
//! Segmentation Estimation via Flow Matching" (arXiv 2507.22418), on burn.
//!
//! The network ([`unet::UNet`]) predicts the velocity `v_θ(x_t, t, image)` of a noisy mask
//! `x_t` at flow time `t ∈ [0, 1]`, conditioned on the image by channel concatenation; an all-zero
//! image is the unconditional branch used by classifier-free guidance
//! ([`unet::UNet::forward_cfg`]). Its layout, hyper-parameter names ([`unet::UNetConfig`]) and
//! parameter keys are those of the official PyTorch `UNetModel`, so official checkpoints load
//! with [`unet::UNet::load_safetensors`] / [`unet::UNet::load_named_tensors`] and the outputs
//! match the official float32 forward to ~1e-6 (see `tests/parity.rs`).

#![warn(missing_docs)]

pub mod checkpoint_load;
pub mod dataset;
pub mod ema;
pub mod ema_device;
pub mod experiment;
pub mod flow;
pub mod folder;
pub mod ode;
pub mod precision;
pub mod sampler;
pub mod training;
pub mod unet;

pub use checkpoint_load::{CheckpointError, WeightSelection, load_official};
pub use flow::sampling::{FlowSampler, FlowSamplerConfig};
pub use ode::{Solver, SolverConfig, VelocityField};
pub use sampler::{
    MethodId, SampleError, SampleSet, SegmentationSampler, seeded_normal, seeded_normal_values,
};
pub use unet::{ConfigError, UNet, UNetConfig, WeightsError};
