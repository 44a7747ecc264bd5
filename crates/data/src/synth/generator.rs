//! The synthetic image generator (data-formats §4.3 items 1–5): item i is a pure function of
//! (dataset seed, i). The image shows a smooth background, a darker field, thin bright "vessels",
//! noise and one elliptic object of contrast c and edge softness w; the hypothesis probabilities
//! are a deterministic function of what the image shows (faint objects are often unmarked, soft
//! edges move the boundary), so the uncertainty is purely aleatoric and learnable.

use crate::error::DataError;
use crate::rng::Rng;
use crate::synth::geometry::{Disc, Ellipse, ramp};
use crate::synth::oracle::Oracle;
use crate::synth::preset::{HypothesisSet, PresetParams, SynthConfig};

/// One generated item.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthSample {
    /// The item index.
    pub index: u64,
    /// C×H×W, jointly min–max normalised to [0, 1].
    pub image: Vec<f32>,
    /// M×H×W masks in {0, 1}.
    pub annotations: Vec<u8>,
    /// The hypothesis each rater drew.
    pub rater_hypotheses: Vec<usize>,
    /// The known answer distribution.
    pub oracle: Oracle,
}

/// The images `[N, C, H, W]` and annotations `[N, M, H, W]` of `items`, concatenated.
pub fn stack(items: &[SynthSample]) -> (Vec<f32>, Vec<u8>) {
    let images = items
        .iter()
        .flat_map(|it| it.image.iter().copied())
        .collect();
    let annotations = items
        .iter()
        .flat_map(|it| it.annotations.iter().copied())
        .collect();
    (images, annotations)
}

/// A deterministic, endless synthetic dataset.
#[derive(Debug, Clone)]
pub struct SyntheticDataset {
    config: SynthConfig,
    params: PresetParams,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl SyntheticDataset {
    /// Validates the configuration.
    pub fn new(config: SynthConfig) -> Result<Self, DataError> {
        config.validate()?;
        Ok(Self {
            params: config.preset.params(),
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SynthConfig {
        &self.config
    }

    /// Number of image channels.
    pub fn channels(&self) -> usize {
        self.params.channel_contrast.len()
    }

    /// Generates item `index`.
    pub fn sample(&self, index: u64) -> SynthSample {
        let p = &self.params;
        let s = self.config.size;
        let side = s as f64;
        let mut rng = Rng::for_item(self.config.seed, index);
        let has_object = rng.uniform() >= p.no_object_probability;
        let jitter = 0.05 * side;
        let lesion = Ellipse {
            cx: side / 2.0 + (rng.normal() * jitter).clamp(-2.0 * jitter, 2.0 * jitter),
            cy: side / 2.0 + (rng.normal() * jitter).clamp(-2.0 * jitter, 2.0 * jitter),
            a: rng.range(p.axis_fraction.0, p.axis_fraction.1) * side,
            b: rng.range(p.axis_fraction.0, p.axis_fraction.1) * side,
            angle: rng.range(0.0, std::f64::consts::PI),
        };
        let contrast = rng.range(p.contrast.0, p.contrast.1);
        let soft_unit = rng.uniform();
        let (w_lo, w_hi) = p.softness_px_at_128;
        let softness = ((w_lo + (w_hi - w_lo) * soft_unit) * side / 128.0).max(0.5);
        let satellite = (rng.uniform() < p.satellite_probability).then(|| {
            let r = rng.range(0.3, 0.5) * lesion.a.min(lesion.b);
            let dir = rng.range(0.0, std::f64::consts::TAU);
            let dist = lesion.a.max(lesion.b) + r + 1.5;
            let disc = Disc {
                cx: lesion.cx + dist * dir.cos(),
                cy: lesion.cy + dist * dir.sin(),
                r,
            };
            (disc, contrast * rng.range(0.4, 0.8))
        });
        let image = self.draw_image(
            &mut rng,
            has_object.then_some(&lesion),
            contrast,
            softness,
            satellite,
        );
        let oracle = self.hypotheses(
            has_object, &lesion, contrast, softness, soft_unit, satellite,
        );
        let rater_hypotheses: Vec<usize> = (0..self.config.raters)
            .map(|_| oracle.draw(&mut rng))
            .collect();
        let annotations = rater_hypotheses
            .iter()
            .flat_map(|&h| oracle.masks[h].clone())
            .collect();
        SynthSample {
            index,
            image,
            annotations,
            rater_hypotheses,
            oracle,
        }
    }

    fn draw_image(
        &self,
        rng: &mut Rng,
        lesion: Option<&Ellipse>,
        contrast: f64,
        softness: f64,
        satellite: Option<(Disc, f64)>,
    ) -> Vec<f32> {
        let s = self.config.size;
        let side = s as f64;
        let blobs: Vec<(f64, f64, f64, f64)> = (0..3)
            .map(|_| {
                let sigma = rng.range(0.3, 0.6) * side;
                (
                    rng.range(0.0, side),
                    rng.range(0.0, side),
                    sigma,
                    rng.range(-0.15, 0.15),
                )
            })
            .collect();
        let field = Ellipse {
            cx: side / 2.0 + rng.range(-0.1, 0.1) * side,
            cy: side / 2.0 + rng.range(-0.1, 0.1) * side,
            a: rng.range(0.35, 0.5) * side,
            b: rng.range(0.3, 0.45) * side,
            angle: rng.range(0.0, std::f64::consts::PI),
        };
        let vessels: Vec<(f64, f64, f64)> = (0..3)
            .map(|_| {
                let theta = rng.range(0.0, std::f64::consts::PI);
                (theta.cos(), theta.sin(), rng.range(0.1, 0.9) * side)
            })
            .collect();
        let channels = self.channels();
        let mut image = vec![0.0f32; channels * s * s];
        for (c, &gain) in self.params.channel_contrast.iter().enumerate() {
            let base = 0.3 + 0.1 * c as f64;
            for y in 0..s {
                for x in 0..s {
                    let (fx, fy) = (x as f64 + 0.5, y as f64 + 0.5);
                    let mut v = base;
                    for &(bx, by, sigma, amp) in &blobs {
                        v += amp
                            * (-((fx - bx).powi(2) + (fy - by).powi(2)) / (2.0 * sigma * sigma))
                                .exp();
                    }
                    v -= 0.15 * ramp(field.signed_distance(fx, fy), 4.0);
                    for &(nx, ny, offset) in &vessels {
                        let d = nx * fx + ny * fy - offset;
                        v += 0.12 * (-(d * d) / 0.5).exp();
                    }
                    if let Some(l) = lesion {
                        v += gain * contrast * ramp(l.signed_distance(fx, fy), softness);
                    }
                    if let Some((disc, sc)) = satellite.filter(|_| lesion.is_some()) {
                        v += gain * sc * ramp(disc.signed_distance(fx, fy), softness);
                    }
                    v += 0.03 * rng.normal();
                    image[(c * s + y) * s + x] = v as f32;
                }
            }
        }
        let (lo, hi) = image
            .iter()
            .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let span = (hi - lo).max(f32::EPSILON);
        image.iter_mut().for_each(|v| *v = (*v - lo) / span);
        image
    }

    fn hypotheses(
        &self,
        has_object: bool,
        lesion: &Ellipse,
        contrast: f64,
        softness: f64,
        soft_unit: f64,
        satellite: Option<(Disc, f64)>,
    ) -> Oracle {
        let s = self.config.size;
        let p = &self.params;
        let raster = |inside: &dyn Fn(f64, f64) -> bool| -> Vec<u8> {
            (0..s * s)
                .map(|i| u8::from(inside((i % s) as f64 + 0.5, (i / s) as f64 + 0.5)))
                .collect()
        };
        let empty = vec![0u8; s * s];
        if !has_object {
            return Oracle {
                names: vec!["empty"],
                masks: vec![empty],
                probabilities: vec![1.0],
            };
        }
        let delta = (1.2 * softness).max(1.0);
        let nominal = raster(&|x, y| lesion.contains(x, y));
        let loose = raster(&|x, y| lesion.grown(delta).contains(x, y));
        let p_empty = sigmoid((p.empty_midpoint - contrast) / p.empty_temperature).min(p.max_empty);
        let q = 0.1 + 0.25 * soft_unit;
        match p.hypotheses {
            HypothesisSet::NominalOnly => Oracle {
                names: vec!["nominal"],
                masks: vec![nominal],
                probabilities: vec![1.0],
            },
            HypothesisSet::EmptyNominalLoose => Oracle {
                names: vec!["empty", "nominal", "loose"],
                masks: vec![empty, nominal, loose],
                probabilities: vec![p_empty, (1.0 - p_empty) * (1.0 - q), (1.0 - p_empty) * q],
            },
            HypothesisSet::Full => {
                let tight = raster(&|x, y| lesion.grown(-delta).contains(x, y));
                let mut names = vec!["empty", "tight", "nominal", "loose"];
                let sat_share =
                    satellite.map_or(0.0, |(_, sc)| 0.5 * (sc / contrast).clamp(0.0, 1.0));
                let rest = (1.0 - p_empty) * (1.0 - sat_share);
                let mut probabilities = vec![p_empty, rest * q, rest * (1.0 - 2.0 * q), rest * q];
                let mut masks = vec![empty, tight, nominal, loose];
                if let Some((disc, _)) = satellite {
                    names.push("satellite");
                    masks.push(raster(&|x, y| {
                        lesion.contains(x, y) || disc.signed_distance(x, y) > 0.0
                    }));
                    probabilities.push((1.0 - p_empty) * sat_share);
                }
                Oracle {
                    names,
                    masks,
                    probabilities,
                }
            }
        }
    }
}
