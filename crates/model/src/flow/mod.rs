//! Conditional flow matching (paper §1.1): the probability path and the training objective,
//! ODE sampling and likelihood.

pub mod likelihood;
pub mod load;
pub mod loss;
pub mod path;
pub mod sampling;

pub use loss::{CfgDropMode, FlowMatching, cfg_keep};
pub use path::{PathSample, cond_ot, mask_to_model_space};
