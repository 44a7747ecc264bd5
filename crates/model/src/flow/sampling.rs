//! Drawing segmentations by solving the flow ODE (paper §1.1 "Sampling", §1.2 decode; reference
//! behaviour: the official `eval_segmentation.py` with `CFGScaledModel` and torchdiffeq).
//!
//! For every (image, sample) pair: `x0 ~ N(0, I)` `[1, 1, H, W]`, integrate
//! `dx/dt = (1 + w)·v(x, t, image) − w·v(x, t, 0)` from t = 0 to 1 (default midpoint, 100 steps,
//! w = 0.3), then decode `floor(clamp((x + 1)/2, 0, 1)·255)/255` (soft, quantised to 1/255).
//!
//! **Noise streams.** The noise of sample `j` of image `i` (its index within the request) is
//! `seeded_normal([1, 1, H, W], seed, stream = (i << 32) | j)`. It depends only on
//! `(seed, i, j)`, so the first k samples of a run with n > k samples equal a run with k samples,
//! and batching / chunking do not change the draws (up to float summation order on the device).
//!
//! **Batching.** The `B·n` pairs, image-major (`i·n + j`), are solved in chunks of at most
//! `max_batch` states per network pass (doubled internally when CFG runs both branches).
//! `SampleSet::nfe` is network passes per sample: solver NFE × (2 if w ∉ {0, −1} else 1); with
//! Dopri5 it is the maximum over chunks, and since Dopri5 pools its error norm over a chunk its
//! step sequence (hence the samples) depends on the chunking; the fixed-grid solvers do not.
//!
//! **Released-script quirk.** The released evaluation script never calls `model.eval()`, so
//! dropout (p = 0.1) stays active and the raw, non-EMA weights are used. The weights are chosen
//! at load time ([`crate::checkpoint_load::WeightSelection::Raw`]); `dropout_at_sampling`
//! reproduces the dropout: burn's `Dropout` is active only on autodiff tensors, so each velocity
//! call then wraps its inputs with `.autodiff()` (the weights stay plain constants), which makes
//! every ResBlock dropout draw a fresh Bernoulli mask from the backend RNG (seeded once per call
//! of [`FlowSampler::sample`] via `Device::seed`), and unwraps the result with `.inner()`. No
//! backward is ever run; the graph is dropped with the output. This mask stream is not the
//! official one (torch's RNG) and is not prefix-stable.

use std::time::Instant;

use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::ode::{OdeError, SolverConfig, VelocityField, solve};
use crate::precision::{Precision, cast_module};
use crate::sampler::{MethodId, SampleError, SampleSet, SegmentationSampler, seeded_normal};
use crate::unet::UNet;

/// How the ODE end state is mapped to a soft mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decode {
    /// The official `floor(clamp((x + 1)/2, 0, 1)·255)/255`.
    Quantised,
    /// `clamp((x + 1)/2, 0, 1)` without the 1/255 quantisation.
    Unquantised,
}

/// Sampler settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FlowSamplerConfig {
    /// The ODE solver (paper: midpoint, 100 steps).
    pub solver: SolverConfig,
    /// CFG scale w (paper 0.3; 0 = conditional only, −1 = unconditional only).
    pub guidance: f64,
    /// Maximum ODE states per chunk (bounds memory).
    pub max_batch: usize,
    /// The decode step.
    pub decode: Decode,
    /// Keep dropout active while sampling (the released-script quirk; see the module docs).
    pub dropout_at_sampling: bool,
    /// The network's float type ([`crate::precision`]; the ODE state stays f32).
    #[serde(default)]
    pub precision: Precision,
}

impl Default for FlowSamplerConfig {
    fn default() -> Self {
        Self {
            solver: SolverConfig::paper(),
            guidance: 0.3,
            max_batch: 64,
            decode: Decode::Quantised,
            dropout_at_sampling: false,
            precision: Precision::F32,
        }
    }
}

impl FlowSamplerConfig {
    /// Network passes per velocity evaluation: 1 for w ∈ {0, −1}, else 2.
    pub fn passes(&self) -> usize {
        if self.guidance == 0.0 || self.guidance == -1.0 {
            1
        } else {
            2
        }
    }
}

/// The guided velocity of the U-Net for a fixed chunk of images.
pub struct GuidedField<'a> {
    /// The network.
    pub unet: &'a UNet,
    /// `[b, d_cond_image, H, W]`, one row per ODE state; a state batch k·b (the likelihood's
    /// copy-major replicas) uses image `r mod b` for state r.
    pub images: Tensor<4>,
    /// CFG scale w.
    pub guidance: f64,
    /// Run the forward with dropout active (see the module docs).
    pub dropout: bool,
}

impl VelocityField for GuidedField<'_> {
    /// Autodiff states (the likelihood) stay on the tape; plain states with `dropout` run on a
    /// temporary autodiff wrapping that is unwrapped again.
    fn velocity(&self, x: Tensor<4>, t: f64) -> Tensor<4> {
        let b = x.dims()[0];
        let rows = self.images.dims()[0];
        let images = if b != rows && rows > 0 && b.is_multiple_of(rows) {
            self.images.clone().repeat_dim(0, b / rows) // state r uses image r mod rows
        } else {
            self.images.clone()
        };
        let times = Tensor::<1>::full([b], t as f32, &x.device());
        let tracked = x.is_autodiff();
        if !(tracked || self.dropout) {
            return self.unet.forward_cfg(x, times, images, self.guidance);
        }
        let images = images.autodiff();
        let v = self
            .unet
            .forward_cfg(x.autodiff(), times.autodiff(), images, self.guidance);
        if tracked { v } else { v.inner() }
    }
}

/// The flow-matching sampler ([`MethodId::Flow`]).
pub struct FlowSampler {
    unet: UNet,
    config: FlowSamplerConfig,
}

impl FlowSampler {
    /// A sampler over a network that lives on a non-autodiff device; the network is cast to
    /// `config.precision` (check the device first with [`Precision::check`]).
    pub fn new(unet: UNet, config: FlowSamplerConfig) -> Self {
        let unet = cast_module(unet, config.precision);
        Self { unet, config }
    }

    /// The settings.
    pub fn config(&self) -> &FlowSamplerConfig {
        &self.config
    }

    /// The network.
    pub fn unet(&self) -> &UNet {
        &self.unet
    }

    /// The noise of sample `j` of image `i`: `[1, 1, H, W]` (see the module docs).
    pub fn noise(
        seed: u64,
        image: usize,
        sample: usize,
        hw: [usize; 2],
        device: &Device,
    ) -> Tensor<4> {
        let stream = ((image as u64) << 32) | sample as u64;
        seeded_normal([1, 1, hw[0], hw[1]], seed, stream, device)
    }

    fn check(&self, images: &Tensor<4>, count: usize) -> Result<(), SampleError> {
        let invalid = |m: String| Err(SampleError::InvalidRequest(m));
        let [b, c, h, w] = images.dims();
        let cfg = self.unet.config();
        if count == 0 || b == 0 {
            return invalid(format!(
                "need at least one image and one sample, got {b} × {count}"
            ));
        }
        if c != cfg.d_cond_image {
            return invalid(format!(
                "images have {c} channels, the model expects {}",
                cfg.d_cond_image
            ));
        }
        let factor = cfg.downsample_factor();
        if h % factor != 0 || w % factor != 0 {
            return invalid(format!(
                "{h}×{w} images are not divisible by the downsampling factor {factor}"
            ));
        }
        if images.device().is_autodiff() {
            return invalid("sampling must run on a non-autodiff device".into());
        }
        if self.config.max_batch == 0 {
            return invalid("max_batch must be at least 1".into());
        }
        Ok(())
    }
}

impl SegmentationSampler for FlowSampler {
    fn method(&self) -> MethodId {
        MethodId::Flow
    }

    fn sample(&self, images: Tensor<4>, count: usize, seed: u64) -> Result<SampleSet, SampleError> {
        self.check(&images, count)?;
        let start = Instant::now();
        let [b, _, h, w] = images.dims();
        let device = images.device();
        if self.config.dropout_at_sampling {
            device.seed(seed);
        }
        let pairs: Vec<(usize, usize)> = (0..b)
            .flat_map(|i| (0..count).map(move |j| (i, j)))
            .collect();
        let mut masks = Vec::with_capacity(b * count * h * w);
        let mut nfe = 0;
        for chunk in pairs.chunks(self.config.max_batch) {
            let noise = chunk
                .iter()
                .map(|&(i, j)| Self::noise(seed, i, j, [h, w], &device))
                .collect();
            let rows: Vec<i64> = chunk.iter().map(|&(i, _)| i as i64).collect();
            let index = Tensor::<1, burn::tensor::Int>::from_data(rows.as_slice(), &device);
            let field = GuidedField {
                unet: &self.unet,
                images: images.clone().select(0, index),
                guidance: self.config.guidance,
                dropout: self.config.dropout_at_sampling,
            };
            let solution = solve(&field, Tensor::cat(noise, 0), 0.0, 1.0, &self.config.solver)
                .map_err(|e: OdeError| SampleError::InvalidRequest(e.to_string()))?;
            nfe = nfe.max(solution.nfe * self.config.passes());
            let decoded = decode(solution.x, self.config.decode);
            let values = decoded
                .into_data()
                .try_to_vec::<f32>()
                .map_err(|e| SampleError::Readback(format!("{e:?}")))?;
            masks.extend(values);
        }
        Ok(SampleSet {
            masks,
            shape: [b, count, h, w],
            nfe,
            seconds: start.elapsed().as_secs_f64(),
        })
    }
}

/// Maps model-space states `[N, 1, H, W]` to soft masks in [0, 1].
pub fn decode(x: Tensor<4>, mode: Decode) -> Tensor<4> {
    let soft = ((x + 1.0) / 2.0).clamp(0.0, 1.0);
    match mode {
        Decode::Quantised => (soft * 255.0).floor() / 255.0,
        Decode::Unquantised => soft,
    }
}
