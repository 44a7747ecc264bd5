//! safetensors files with the official key names (PyTorch `state_dict` layout).
//!
//! Reading accepts F32, F64, F16 and BF16 tensors and converts them to f32; writing produces
//! F32 tensors with the `{"format": "pt"}` metadata that `safetensors.torch.save_file` writes, so
//! files load with `safetensors.torch.load_file` + `model.load_state_dict` and vice versa.

use std::collections::HashMap;
use std::path::Path;

use half::{bf16, f16};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use super::named::NamedTensor;
use crate::unet::error::WeightsError;
use crate::unet::model::UNet;

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> WeightsError + '_ {
    move |source| WeightsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn decode(bytes: &[u8], width: usize, f: impl Fn(&[u8]) -> f32) -> Vec<f32> {
    bytes.chunks_exact(width).map(f).collect()
}

fn to_f32(view: &TensorView<'_>, key: &str, source_name: &str) -> Result<Vec<f32>, WeightsError> {
    let bytes = view.data();
    Ok(match view.dtype() {
        Dtype::F32 => decode(bytes, 4, |c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        Dtype::F64 => decode(bytes, 8, |c| {
            f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32
        }),
        Dtype::F16 => decode(bytes, 2, |c| f16::from_le_bytes([c[0], c[1]]).to_f32()),
        Dtype::BF16 => decode(bytes, 2, |c| bf16::from_le_bytes([c[0], c[1]]).to_f32()),
        other => {
            let (key, source_name) = (key.to_string(), source_name.to_string());
            return Err(WeightsError::Dtype {
                key,
                source_name,
                dtype: other.to_string(),
            });
        }
    })
}

/// Every tensor of a safetensors file as `(key, shape, f32 values)`, sorted by key.
pub fn read_safetensors(path: impl AsRef<Path>) -> Result<Vec<NamedTensor>, WeightsError> {
    let path = path.as_ref();
    let source_name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    let file = SafeTensors::deserialize(&bytes).map_err(|source| WeightsError::SafeTensors {
        source_name: source_name.clone(),
        source,
    })?;
    let mut tensors = file
        .tensors()
        .into_iter()
        .map(|(key, view)| {
            let data = to_f32(&view, &key, &source_name)?;
            Ok((key, view.shape().to_vec(), data))
        })
        .collect::<Result<Vec<NamedTensor>, WeightsError>>()?;
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(tensors)
}

/// Writes `tensors` as F32 safetensors with PyTorch's `{"format": "pt"}` metadata.
pub fn write_safetensors(
    path: impl AsRef<Path>,
    tensors: &[NamedTensor],
) -> Result<(), WeightsError> {
    let path = path.as_ref();
    let source_name = path.display().to_string();
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, data)| data.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let safetensors_error = |source| WeightsError::SafeTensors {
        source_name: source_name.clone(),
        source,
    };
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|((key, shape, _), data)| {
            let view =
                TensorView::new(Dtype::F32, shape.clone(), data).map_err(safetensors_error)?;
            Ok((key.as_str(), view))
        })
        .collect::<Result<Vec<_>, WeightsError>>()?;
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::serialize_to_file(views, Some(metadata), path).map_err(|source| match source {
        safetensors::SafeTensorError::IoError(source) => io_error(path)(source),
        source => WeightsError::SafeTensors {
            source_name: source_name.clone(),
            source,
        },
    })
}

impl UNet {
    /// Loads an official-named safetensors checkpoint (see [`UNet::load_named_tensors`]).
    pub fn load_safetensors(self, path: impl AsRef<Path>) -> Result<Self, WeightsError> {
        let path = path.as_ref();
        let tensors = read_safetensors(path)?;
        self.load_named_tensors(tensors, &path.display().to_string())
    }

    /// Saves all parameters under their official keys (loadable by PyTorch's `UNetModel`).
    pub fn save_safetensors(&self, path: impl AsRef<Path>) -> Result<(), WeightsError> {
        write_safetensors(path, &self.to_named_tensors()?)
    }
}
