//! The conditional-OT probability path of the paper (§1.1, official `CondOTScheduler` with
//! σ_min = 0 in `flow_matching/path/affine.py`).
//!
//! With a mask `m ∈ {0, 1}`, the data end is `x1 = 2·m − 1 ∈ {−1, +1}`, the noise end
//! `x0 ~ N(0, I)`, and for a flow time `t ∈ [0, 1]` (one per sample)
//!
//! - `x_t = t·x1 + (1 − t)·x0` (so `p_t(x | x1) = N(t·x1, (1 − t)²·I)`),
//! - target velocity `u = d x_t / dt = x1 − x0`.

use burn::tensor::Tensor;

/// One draw from the conditional path.
#[derive(Debug, Clone)]
pub struct PathSample {
    /// The interpolant `x_t`, `[B, C, H, W]`.
    pub x_t: Tensor<4>,
    /// The conditional target velocity `x1 − x0`, `[B, C, H, W]`.
    pub velocity: Tensor<4>,
}

/// `2·m − 1` applied element-wise on the host: masks in {0, 1} → model space {−1, +1}.
pub fn mask_to_model_space(masks: &[f32]) -> Vec<f32> {
    masks.iter().map(|&m| 2.0 * m - 1.0).collect()
}

/// The interpolant and target of the CondOT path.
///
/// # Shapes
///
/// - `x0`, `x1`: `[B, C, H, W]`
/// - `t`: `[B]`, broadcast over `C, H, W`
/// - returns `x_t` and `velocity`, both `[B, C, H, W]`
pub fn cond_ot(x0: Tensor<4>, x1: Tensor<4>, t: Tensor<1>) -> PathSample {
    let [b, ..] = x0.dims();
    let t = t.reshape([b, 1, 1, 1]);
    let one_minus_t = t.clone().neg().add_scalar(1.0);
    let x_t = x1.clone() * t + x0.clone() * one_minus_t;
    PathSample {
        x_t,
        velocity: x1 - x0,
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, TensorData};

    use super::*;

    fn t4(values: Vec<f32>, shape: [usize; 4], device: &Device) -> Tensor<4> {
        Tensor::from_data(TensorData::new(values, shape), device)
    }

    #[test]
    fn endpoints_and_midpoint() {
        let device = Device::flex();
        let x0 = t4(vec![0.5, -1.0, 2.0, 0.0], [2, 1, 1, 2], &device);
        let x1 = t4(
            mask_to_model_space(&[1.0, 0.0, 0.0, 1.0]),
            [2, 1, 1, 2],
            &device,
        );
        let t = Tensor::from_data(TensorData::new(vec![0.0f32, 1.0], [2]), &device);
        let s = cond_ot(x0, x1, t);
        let x_t: Vec<f32> = s.x_t.into_data().try_to_vec().unwrap();
        let u: Vec<f32> = s.velocity.into_data().try_to_vec().unwrap();
        // sample 0 at t = 0 is x0; sample 1 at t = 1 is x1.
        assert_eq!(x_t, vec![0.5, -1.0, -1.0, 1.0]);
        assert_eq!(u, vec![0.5, 0.0, -3.0, 1.0]);

        let x0 = t4(vec![1.0], [1, 1, 1, 1], &device);
        let x1 = t4(vec![-1.0], [1, 1, 1, 1], &device);
        let t = Tensor::from_data(TensorData::new(vec![0.25f32], [1]), &device);
        let x_t: Vec<f32> = cond_ot(x0, x1, t).x_t.into_data().try_to_vec().unwrap();
        assert_eq!(x_t, vec![-0.25 + 0.75]);
    }
}
