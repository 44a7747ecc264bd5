//! The PHiSeg model and its loss (Baumgartner et al. 2019 §2, `phiseg_model.py` losses).

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use fmseg_data::rng::Rng;

use super::config::PhisegConfig;
use super::hierarchy::HierarchicalEncoder;
use super::likelihood::Likelihood;
use crate::common::{ConfigError, LossOutput, bce_with_logits, normal_tensor};
use crate::gaussian::DiagGaussian;

/// Per-level KL term names (finest first).
const KL_NAMES: [&str; 7] = ["kl_0", "kl_1", "kl_2", "kl_3", "kl_4", "kl_5", "kl_6"];

/// The names of [`Phiseg::loss`]'s terms: the reconstruction sum, the finest level's, the
/// weighted KL sum, then one KL per latent level.
pub(crate) fn term_names(config: &PhisegConfig) -> Vec<&'static str> {
    let mut names = vec!["reconstruction", "reconstruction_final", "kl"];
    names.extend(KL_NAMES.iter().take(config.latent_levels));
    names
}

/// PHiSeg: hierarchical prior, posterior and likelihood.
#[derive(Module, Debug)]
pub struct Phiseg {
    prior: HierarchicalEncoder,
    posterior: HierarchicalEncoder,
    likelihood: Likelihood,
    #[module(skip)]
    config: PhisegConfig,
}

/// One training forward pass.
#[derive(Debug, Clone)]
pub struct PhisegForward {
    /// Accumulated logits `s_l` per latent level, `[B, 1, H, W]`, finest first.
    pub logits: Vec<Tensor<4>>,
    /// Prior distributions per level, conditioned on the posterior's samples.
    pub prior: Vec<DiagGaussian<4>>,
    /// Posterior distributions per level.
    pub posterior: Vec<DiagGaussian<4>>,
}

impl Phiseg {
    /// A freshly initialised model, or the config field that is invalid.
    pub fn new(config: &PhisegConfig, device: &Device) -> Result<Self, ConfigError> {
        config.validate()?;
        let c = config.image_channels;
        Ok(Self {
            prior: HierarchicalEncoder::new(config, c, device),
            posterior: HierarchicalEncoder::new(config, c + 1, device),
            likelihood: Likelihood::new(config, device),
            config: config.clone(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &PhisegConfig {
        &self.config
    }

    /// `[B, latent_channels, h_l, w_l]` of latent level `l` for a batch of `b`.
    pub fn latent_shape(&self, b: usize, l: usize) -> [usize; 4] {
        let side = self.config.image_size >> self.config.latent_resolution_index(l);
        [b, self.config.latent_channels, side, side]
    }

    /// Training forward with posterior noise `noise[l]` (standard normal, level shapes).
    pub fn forward_train(
        &self,
        images: Tensor<4>,
        masks: Tensor<4>,
        noise: &[Tensor<4>],
    ) -> PhisegForward {
        let q = self
            .posterior
            .forward(Tensor::cat(vec![images.clone(), masks], 1), None, noise);
        let p = self.prior.forward(images, Some(&q.z), &[]);
        PhisegForward {
            logits: self.likelihood.forward(&q.z, self.config.image_size),
            prior: p.dists,
            posterior: q.dists,
        }
    }

    /// Prior samples' logits `s_0` `[B, 1, H, W]` for prior noise `noise[l]`.
    pub fn sample_logits(&self, images: Tensor<4>, noise: &[Tensor<4>]) -> Tensor<4> {
        let p = self.prior.forward(images, None, noise);
        let mut logits = self.likelihood.forward(&p.z, self.config.image_size);
        logits.swap_remove(0)
    }

    /// `Σ_l CE(s, s_l) + Σ_l α_l·KL(q_l ‖ p_l)` for images `[B, C, H, W]` and one annotation
    /// per image `[B, 1, H, W]` in {0, 1}; the posterior noise comes from `rng`.
    ///
    /// Terms: `reconstruction` (sum over levels), `reconstruction_final` (s_0 only), `kl`
    /// (α-weighted sum of the batch-mean KLs) and `kl_l` per level (unweighted).
    pub fn loss(&self, images: Tensor<4>, masks: Tensor<4>, rng: &mut Rng) -> LossOutput {
        let device = images.device();
        let b = images.dims()[0];
        let noise: Vec<Tensor<4>> = (0..self.config.latent_levels)
            .map(|l| normal_tensor(rng, self.latent_shape(b, l), &device))
            .collect();
        let out = self.forward_train(images, masks.clone(), &noise);
        let reduce = |logits: Tensor<4>| {
            self.config
                .reduction
                .reduce(bce_with_logits(logits, masks.clone()))
        };
        let per_level: Vec<Tensor<1>> = out.logits.into_iter().map(reduce).collect();
        let final_ce = per_level[0].clone();
        let reconstruction = Tensor::cat(per_level, 0).sum();
        let kls: Vec<Tensor<1>> = out
            .posterior
            .iter()
            .zip(&out.prior)
            .map(|(q, p)| q.kl(p).mean())
            .collect();
        let weighted: Vec<Tensor<1>> = kls
            .iter()
            .zip(self.config.kl_weights())
            .map(|(kl, a)| kl.clone().mul_scalar(a))
            .collect();
        let kl = Tensor::cat(weighted, 0).sum();
        let mut terms = vec![
            ("reconstruction", reconstruction.clone()),
            ("reconstruction_final", final_ce),
            ("kl", kl.clone()),
        ];
        terms.extend(KL_NAMES.iter().copied().zip(kls));
        LossOutput {
            total: reconstruction + kl,
            terms,
        }
    }
}
