//! Resolution changes between U-Net levels (guided-diffusion `Downsample` / `Upsample`).
//!
//! With `conv_resample = false` (the paper's networks, §1.4): 2×2 average pooling with stride 2
//! down and nearest-neighbour ×2 up, without parameters (so no keys). With `conv_resample =
//! true`: a 3×3 stride-2 conv (padding 1, key `op`) down and nearest ×2 followed by a 3×3 conv
//! (padding 1, key `conv`) up. Channels are kept in both directions.

use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::module::{avg_pool2d, interpolate};
use burn::tensor::ops::{AvgPoolOptions, InterpolateMode, InterpolateOptions};
use burn::tensor::{Device, Tensor};

use super::resblock::conv3x3;

/// Halves H and W.
#[derive(Module, Debug)]
pub struct Downsample {
    /// `op`: the stride-2 conv, or `None` for average pooling.
    pub(crate) op: Option<Conv2d>,
}

impl Downsample {
    /// Average pooling (`use_conv = false`) or a stride-2 conv over `channels` channels.
    pub fn new(channels: usize, use_conv: bool, device: &Device) -> Self {
        let op = use_conv.then(|| {
            Conv2dConfig::new([channels, channels], [3, 3])
                .with_stride([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device)
        });
        Self { op }
    }

    /// `[B, C, H, W]` → `[B, C, H/2, W/2]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match &self.op {
            Some(conv) => conv.forward(x),
            None => avg_pool2d(x, AvgPoolOptions::new([2, 2])),
        }
    }
}

/// Doubles H and W.
#[derive(Module, Debug)]
pub struct Upsample {
    /// `conv`: the 3×3 conv after nearest upsampling, or `None`.
    pub(crate) conv: Option<Conv2d>,
}

impl Upsample {
    /// Nearest ×2, optionally followed by a 3×3 conv over `channels` channels.
    pub fn new(channels: usize, use_conv: bool, device: &Device) -> Self {
        Self {
            conv: use_conv.then(|| conv3x3(channels, channels, false, device)),
        }
    }

    /// `[B, C, H, W]` → `[B, C, 2H, 2W]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [_, _, h, w] = x.dims();
        let options =
            InterpolateOptions::new(InterpolateMode::Nearest).with_output_size([2 * h, 2 * w]);
        let x = interpolate(x, options);
        match &self.conv {
            Some(conv) => conv.forward(x),
            None => x,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    fn grid(device: &Device) -> Tensor<4> {
        let values: Vec<f32> = (0..16).map(|v| v as f32).collect();
        Tensor::from_data(TensorData::new(values, [1, 1, 4, 4]), device)
    }

    #[test]
    fn average_pool_takes_2x2_means() {
        let device = Device::flex();
        let out = Downsample::new(1, false, &device).forward(grid(&device));
        let v = out.into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(v, vec![2.5, 4.5, 10.5, 12.5]);
    }

    #[test]
    fn nearest_repeats_each_pixel_twice_per_axis() {
        let device = Device::flex();
        let x = grid(&device).narrow(2, 0, 2).narrow(3, 0, 2); // [[0, 1], [4, 5]]
        let v = Upsample::new(1, false, &device)
            .forward(x)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let expected = [
            0., 0., 1., 1., 0., 0., 1., 1., 4., 4., 5., 5., 4., 4., 5., 5.,
        ];
        assert_eq!(v, expected.to_vec());
    }

    #[test]
    fn conv_variants_keep_channels() {
        let device = Device::flex();
        let x = Tensor::<4>::zeros([2, 32, 8, 8], &device);
        assert_eq!(
            Downsample::new(32, true, &device).forward(x.clone()).dims(),
            [2, 32, 4, 4]
        );
        assert_eq!(
            Upsample::new(32, true, &device).forward(x).dims(),
            [2, 32, 16, 16]
        );
    }
}
