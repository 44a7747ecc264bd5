//! The DDPM noise schedule on the host (f64), as guided-diffusion's `GaussianDiffusion`
//! buffers, and improved-DDPM timestep respacing (`respace.py`: `space_timesteps`).

/// Every per-timestep coefficient of a (possibly respaced) schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// Original timestep index fed to the denoiser for each schedule step.
    pub timestep_map: Vec<usize>,
    /// β_t.
    pub betas: Vec<f64>,
    /// ᾱ_t.
    pub alphas_cumprod: Vec<f64>,
    /// ᾱ_{t−1} (1 at t = 0).
    pub alphas_cumprod_prev: Vec<f64>,
    /// β̃_t = β_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t).
    pub posterior_variance: Vec<f64>,
    /// log β̃_t with β̃_0 replaced by β̃_1 (guided-diffusion's clipping).
    pub posterior_log_variance_clipped: Vec<f64>,
    /// Coefficient of x0 in the posterior mean.
    pub posterior_mean_coef1: Vec<f64>,
    /// Coefficient of x_t in the posterior mean.
    pub posterior_mean_coef2: Vec<f64>,
}

impl Schedule {
    /// guided-diffusion's linear schedule: β from `1e-4·1000/T` to `0.02·1000/T`.
    pub fn linear(timesteps: usize) -> Self {
        let scale = 1000.0 / timesteps as f64;
        let (start, end) = (scale * 1e-4, scale * 0.02);
        let betas = (0..timesteps)
            .map(|i| {
                let frac = if timesteps > 1 {
                    i as f64 / (timesteps - 1) as f64
                } else {
                    0.0
                };
                start + (end - start) * frac
            })
            .collect();
        Self::from_betas(betas, (0..timesteps).collect())
    }

    /// The buffers of a β sequence (β in (0, 1)).
    pub fn from_betas(betas: Vec<f64>, timestep_map: Vec<usize>) -> Self {
        let n = betas.len();
        let mut alphas_cumprod = Vec::with_capacity(n);
        let mut acc = 1.0;
        for b in &betas {
            acc *= 1.0 - b;
            alphas_cumprod.push(acc);
        }
        let alphas_cumprod_prev: Vec<f64> = std::iter::once(1.0)
            .chain(alphas_cumprod[..n.saturating_sub(1)].iter().copied())
            .collect();
        let posterior_variance: Vec<f64> = (0..n)
            .map(|t| betas[t] * (1.0 - alphas_cumprod_prev[t]) / (1.0 - alphas_cumprod[t]))
            .collect();
        let posterior_log_variance_clipped = (0..n)
            .map(|t| {
                let v = if t == 0 && n > 1 {
                    posterior_variance[1]
                } else {
                    posterior_variance[t]
                };
                v.max(1e-20).ln()
            })
            .collect();
        let posterior_mean_coef1 = (0..n)
            .map(|t| betas[t] * alphas_cumprod_prev[t].sqrt() / (1.0 - alphas_cumprod[t]))
            .collect();
        let posterior_mean_coef2 = (0..n)
            .map(|t| {
                (1.0 - alphas_cumprod_prev[t]) * (1.0 - betas[t]).sqrt() / (1.0 - alphas_cumprod[t])
            })
            .collect();
        Self {
            timestep_map,
            betas,
            alphas_cumprod,
            alphas_cumprod_prev,
            posterior_variance,
            posterior_log_variance_clipped,
            posterior_mean_coef1,
            posterior_mean_coef2,
        }
    }

    /// The schedule restricted to `steps` evenly spaced timesteps of `self` (rounded
    /// `i·(T−1)/(steps−1)`; the last one when `steps = 1`), with β recomputed so that ᾱ is
    /// unchanged at the kept timesteps.
    pub fn respaced(&self, steps: usize) -> Self {
        let t = self.betas.len();
        let steps = steps.clamp(1, t);
        if steps == t {
            return self.clone();
        }
        let kept: Vec<usize> = if steps == 1 {
            vec![t - 1]
        } else {
            (0..steps)
                .map(|i| ((i as f64) * (t - 1) as f64 / (steps - 1) as f64).round() as usize)
                .collect()
        };
        let mut last = 1.0;
        let betas = kept
            .iter()
            .map(|&k| {
                let ac = self.alphas_cumprod[k];
                let beta = 1.0 - ac / last;
                last = ac;
                beta
            })
            .collect();
        let map = kept.iter().map(|&k| self.timestep_map[k]).collect();
        Self::from_betas(betas, map)
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.betas.len()
    }

    /// Whether the schedule is empty.
    pub fn is_empty(&self) -> bool {
        self.betas.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_schedule_matches_guided_diffusion() {
        let s = Schedule::linear(1000);
        assert!((s.betas[0] - 1e-4).abs() < 1e-12 && (s.betas[999] - 0.02).abs() < 1e-12);
        assert!(s.alphas_cumprod[999] < 1e-4 && s.alphas_cumprod[999] > 0.0);
        assert_eq!(s.posterior_variance[0], 0.0);
        assert_eq!(
            s.posterior_log_variance_clipped[0],
            s.posterior_variance[1].ln()
        );
        // Posterior mean coefficients of t = 0: x0 exactly.
        assert!(
            (s.posterior_mean_coef1[0] - 1.0).abs() < 1e-12 && s.posterior_mean_coef2[0] == 0.0
        );
    }

    #[test]
    fn respacing_keeps_alpha_bar_at_kept_steps() {
        let s = Schedule::linear(1000);
        let r = s.respaced(10);
        assert_eq!(r.len(), 10);
        assert_eq!(r.timestep_map[0], 0);
        assert_eq!(r.timestep_map[9], 999);
        for (i, &k) in r.timestep_map.iter().enumerate() {
            assert!((r.alphas_cumprod[i] - s.alphas_cumprod[k]).abs() < 1e-12);
        }
        assert_eq!(s.respaced(1000), s);
        assert_eq!(s.respaced(1).timestep_map, vec![999]);
    }
}
