//! Classifier-free guidance on the velocity (paper §1.1 / §5 "Sampling").
//!
//! `v = (1 + w)·v_cond − w·v_uncond`, where `v_uncond` is the network on an all-zero image (the
//! official null condition) and the paper samples with w = 0.3. The official code calls the two
//! branches separately; here they run as one forward over a doubled batch, which gives the same
//! result up to float32 summation order.

use burn::tensor::Tensor;

use super::model::UNet;

impl UNet {
    /// The unconditional velocity: [`UNet::forward`] with an all-zero image.
    ///
    /// # Shapes
    ///
    /// - `x_t`: `[B, mask_channels, H, W]`, `t`: `[B]`
    /// - returns `[B, out_channels, H, W]`
    pub fn forward_uncond(&self, x_t: Tensor<4>, t: Tensor<1>) -> Tensor<4> {
        let [b, _, h, w] = x_t.dims();
        let zeros = Tensor::zeros([b, self.config().d_cond_image, h, w], &x_t.device());
        self.forward(x_t, t, zeros)
    }

    /// The guided velocity `(1 + cfg_scale)·v_cond − cfg_scale·v_uncond`.
    ///
    /// `cfg_scale = 0` returns the conditional velocity and `cfg_scale = −1` the unconditional
    /// one, each with a single (un-doubled) forward. Any other value runs the conditional and the
    /// unconditional branch as one forward over the batch `[x_t; x_t]`.
    ///
    /// # Shapes
    ///
    /// As [`UNet::forward`]: `x_t` `[B, mask_channels, H, W]`, `t` `[B]`, `image`
    /// `[B, d_cond_image, H, W]`; returns `[B, out_channels, H, W]`.
    pub fn forward_cfg(
        &self,
        x_t: Tensor<4>,
        t: Tensor<1>,
        image: Tensor<4>,
        cfg_scale: f64,
    ) -> Tensor<4> {
        if cfg_scale == 0.0 {
            return self.forward(x_t, t, image);
        }
        if cfg_scale == -1.0 {
            return self.forward_uncond(x_t, t);
        }
        let batch = x_t.dims()[0];
        let null = image.zeros_like();
        let v = self.forward(
            Tensor::cat(vec![x_t.clone(), x_t], 0), // [2B, mask_channels, H, W]
            Tensor::cat(vec![t.clone(), t], 0),     // [2B]
            Tensor::cat(vec![image, null], 0),      // [2B, d_cond_image, H, W]
        );
        let v_cond = v.clone().narrow(0, 0, batch);
        let v_uncond = v.narrow(0, batch, batch);
        v_cond * (1.0 + cfg_scale) - v_uncond * cfg_scale
    }
}

#[cfg(test)]
mod tests {
    use crate::unet::UNetConfig;
    use burn::tensor::{Device, Distribution, Tensor};

    #[test]
    fn batched_guidance_equals_separate_branches() {
        let device = Device::flex();
        let mut config = UNetConfig::cpu_small();
        config.num_res_blocks = 1;
        let unet = config.init(&device);
        let x = Tensor::<4>::random([2, 1, 8, 8], Distribution::Default, &device);
        let t = Tensor::<1>::random([2], Distribution::Default, &device);
        let img = Tensor::<4>::random([2, 1, 8, 8], Distribution::Default, &device);
        let cond = unet.forward(x.clone(), t.clone(), img.clone());
        let uncond = unet.forward_uncond(x.clone(), t.clone());
        let expected = cond.clone() * 1.3 - uncond.clone() * 0.3;
        let max_diff = |a: Tensor<4>, b: Tensor<4>| (a - b).abs().max().into_scalar::<f32>();
        let guided = unet.forward_cfg(x.clone(), t.clone(), img.clone(), 0.3);
        assert!(max_diff(guided, expected) < 1e-5);
        assert_eq!(
            max_diff(
                unet.forward_cfg(x.clone(), t.clone(), img.clone(), 0.0),
                cond
            ),
            0.0
        );
        assert_eq!(max_diff(unet.forward_cfg(x, t, img, -1.0), uncond), 0.0);
    }
}
