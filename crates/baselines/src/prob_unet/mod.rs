//! Probabilistic U-Net (Kohl et al., NeurIPS 2018, arXiv 1806.05034; paper-and-baselines §3.1).
//!
//! - **U-Net** ([`model`]): filters `[32, 64, 128, 192]` by default, 3 conv3×3+ReLU per block,
//!   2×2 average pooling down and nearest ×2 up with skip concatenation (as Kohl's
//!   `prob_unet_config.py` / the PyTorch port; no normalisation layers in either).
//! - **Prior** p(z | x) and **posterior** q(z | x, y): axis-aligned Gaussian conv encoders with
//!   the U-Net's encoder layout; the posterior sees `cat([image, mask])`. Global average pooling
//!   and a 1×1 conv give (μ, log σ) of a 6-D latent.
//! - **fcomb**: `cat([features, tile(z)])` through `fcomb_convs` (3) 1×1 conv+ReLU layers and a
//!   final 1×1 conv to one logit (Kohl's `Conv1x1Decoder`: `num_1x1_convs = 3` hidden layers
//!   then the logits layer). The authors use a 2-class softmax; one sigmoid logit is the same
//!   model for binary masks.
//! - **Loss** ([`ProbUnet::loss`]): `BCE(y, f(x, z ~ q)) + β·KL(q ‖ p)` with the analytic KL
//!   and **β = 1** (the authors' code); by default the BCE is **summed over pixels and averaged
//!   over the batch** and the KL averaged over the batch (Kohl's `ce_loss`/`elbo`), or, with
//!   [`Reduction::Mean`](crate::Reduction::Mean), averaged per pixel. The authors' L2 weight
//!   regularisation (1e-5) belongs to the optimiser (weight decay) and is not part of the loss.
//! - **Sampling** ([`sampler`]): the U-Net features are computed once per image; each sample
//!   draws z ~ p(z | x) (seeded) and re-runs only fcomb. NFE is reported as 1 (one U-Net pass
//!   per image; fcomb passes are 1×1 convs).
//!
//! **How the popular PyTorch port (`stefanknegt/Probabilistic-Unet-Pytorch`) differs**: its
//! constructor defaults are β = 10 and 4 fcomb convs (its example uses latent 2), and its
//! reconstruction BCE is summed over pixels **and over the batch** while the KL is a batch mean,
//! so the effective KL weight is β / batch. Set `beta = 10` here to mimic the port's
//! coefficient; the batch-summed BCE is not offered (it only rescales the KL by the batch size).

mod config;
mod model;
mod objective;
mod sampler;

pub use config::ProbUnetConfig;
pub use model::{ProbUnet, ProbUnetForward};
pub use objective::ProbUnetObjective;
