//! PHiSeg (Baumgartner et al., MICCAI 2019, arXiv 1906.04045; paper-and-baselines §3.2),
//! following `baumgach/PHiSeg-code` (`phiseg_7_5.py`, `phiseg_model.py`).
//!
//! - **Resolution hierarchy**: R resolution levels (7 at 128 px, channels
//!   `[32, 64, 128, 192, 192, 192, 192]`), each a block of 3×3 conv + batch norm + ReLU, 2×2
//!   average pooling between levels. R is **derived from the image size**
//!   ([`PhisegConfig::resolution_levels_for`]): `min(7, ⌊log₂ size⌋)`, so the coarsest level is
//!   ≥ 2 px (128 → 7, 32 → 5, 16 → 4), unless set explicitly (never above that bound).
//! - **Latent hierarchy**: L latent levels (default 5) of `latent_channels` (2) spatial
//!   channels on the L coarsest resolution levels: latent `l` lives at resolution index
//!   `R − L + l` (at 128 px: 32², 16², 8², 4², 2², as the reference).
//! - **Prior** p(z_l | z_{l+1}, x) and **posterior** q(z_l | z_{l+1}, x, s) ([`hierarchy`]):
//!   conv encoders over the image (posterior: `cat([image, mask])`); from the coarsest level
//!   down, the upsampled (nearest ×2) coarser sample passes a conv block and is concatenated
//!   with the encoder features before a conv block and a 1×1 head to (μ, log σ). During training
//!   the prior is evaluated on the **posterior's** coarser samples (the reference's KL uses
//!   p(z_l | z_{l+1} ~ q)); at sampling it conditions on its own samples.
//! - **Likelihood** ([`likelihood`]): from the coarsest latent down, each z_l passes a conv
//!   block, is merged with the upsampled coarser likelihood features and yields one logit map
//!   ŝ_l; below the finest latent level, up-sampling conv blocks bring the features to full
//!   resolution. The maps are resized (nearest) to H×W and **accumulated coarse to fine**
//!   (`s_l = Σ_{k ≥ l} ŝ_k`); the segmentation is `s_0`. The likelihood sees only the latents,
//!   as in the reference graphical model.
//! - **Loss** ([`Phiseg::loss`]): `Σ_l BCE(s, s_l) + Σ_l α_l·KL(q_l ‖ p_l)` with α_l = 4^l
//!   (configurable), pixel sums averaged over the batch (or per-pixel means). The reference's
//!   two-class softmax is one sigmoid logit here.
//! - `latent_levels = 1` is the paper's "PHiSeg L = 1" variant (one latent on the coarsest
//!   level).

mod config;
pub mod hierarchy;
pub mod likelihood;
mod model;
mod objective;
mod sampler;

pub use config::PhisegConfig;
pub use model::{Phiseg, PhisegForward};
pub use objective::PhisegObjective;
