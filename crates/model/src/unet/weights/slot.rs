//! One parameter seen through its official PyTorch layout.
//!
//! burn stores `Linear` weights as `[in, out]` while PyTorch stores `[out, in]`; the official
//! attention projections are `Conv1d(k = 1)` with weights `[out, in, 1]`, implemented here as
//! `Linear`. A [`Slot`] converts between the two layouts in both directions so that keys,
//! shapes and values in files are exactly PyTorch's `state_dict`.

use burn::module::Param;
use burn::tensor::{Tensor, TensorData};

/// A mutable parameter and the PyTorch layout of its stored form.
pub(crate) enum Slot<'a> {
    /// Same layout in both: GroupNorm affine, biases (`[n]`).
    Vector(&'a mut Param<Tensor<1>>),
    /// `nn.Linear` weight: PyTorch `[out, in]`, burn `[in, out]`.
    Linear(&'a mut Param<Tensor<2>>),
    /// `nn.Conv1d(k = 1)` weight: PyTorch `[out, in, 1]`, burn `Linear` `[in, out]`.
    Conv1d(&'a mut Param<Tensor<2>>),
    /// `nn.Conv2d` weight: OIHW in both.
    Conv2d(&'a mut Param<Tensor<4>>),
}

/// Transposes a row-major `[rows, cols]` matrix.
fn transpose(data: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; data.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = data[r * cols + c];
        }
    }
    out
}

impl Slot<'_> {
    /// The shape of the parameter in PyTorch layout (does not initialise lazy parameters).
    pub(crate) fn torch_shape(&self) -> Vec<usize> {
        match self {
            Self::Vector(p) => p.lazy_shape().to_vec(),
            Self::Linear(p) => {
                let s = p.lazy_shape();
                vec![s[1], s[0]]
            }
            Self::Conv1d(p) => {
                let s = p.lazy_shape();
                vec![s[1], s[0], 1]
            }
            Self::Conv2d(p) => p.lazy_shape().to_vec(),
        }
    }

    /// Replaces the value by `data` given in PyTorch layout with shape [`Self::torch_shape`],
    /// keeping the parameter id, device and gradient setting.
    pub(crate) fn assign(self, data: Vec<f32>) {
        let shape = self.torch_shape();
        match self {
            Self::Vector(p) => {
                let device = p.lazy_device();
                replace(p, Tensor::from_data(TensorData::new(data, shape), &device));
            }
            Self::Linear(p) | Self::Conv1d(p) => {
                let (out, inp) = (shape[0], shape[1]);
                let device = p.lazy_device();
                let data = TensorData::new(transpose(&data, out, inp), [inp, out]);
                replace(p, Tensor::from_data(data, &device));
            }
            Self::Conv2d(p) => {
                let device = p.lazy_device();
                replace(p, Tensor::from_data(TensorData::new(data, shape), &device));
            }
        }
    }

    /// The value in PyTorch layout, or the backend's message if it cannot be read back.
    pub(crate) fn export(&self) -> Result<Vec<f32>, String> {
        let read = |data: TensorData| data.try_into_vec_as::<f32>().map_err(|e| e.to_string());
        match self {
            Self::Vector(p) => read(p.val().into_data()),
            Self::Linear(p) | Self::Conv1d(p) => {
                let [inp, out] = p.val().dims();
                Ok(transpose(&read(p.val().into_data())?, inp, out))
            }
            Self::Conv2d(p) => read(p.val().into_data()),
        }
    }
}

fn replace<const D: usize>(param: &mut Param<Tensor<D>>, value: Tensor<D>) {
    let id = param.id;
    *param = param.clone().transform_for_load(value, id);
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn linear_weights_round_trip_through_pytorch_layout() {
        let device = Device::flex();
        let burn_layout = TensorData::new(vec![1.0f32, 2., 3., 4., 5., 6.], [2, 3]); // [in, out]
        let mut param = Param::from_data(burn_layout, &device);
        let slot = Slot::Linear(&mut param);
        assert_eq!(slot.torch_shape(), vec![3, 2]);
        assert_eq!(slot.export().unwrap(), vec![1., 4., 2., 5., 3., 6.]);
        Slot::Linear(&mut param).assign(vec![10., 40., 20., 50., 30., 60.]);
        let back = param.val().into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(back, vec![10., 20., 30., 40., 50., 60.]);
        assert_eq!(Slot::Conv1d(&mut param).torch_shape(), vec![3, 2, 1]);
    }
}
