//! One sample's arrays → [`RawSample`] fields, with the checks the readers promise.
//!
//! Reference behaviour: Knegt's loader asserts 2-D images in [0, 1] and masks in {0, 1};
//! PHiSeg stacks the masks as uint8. Here: the image must be a 2-D numeric array, every mask
//! an array of the image's shape; images follow [`crate::formats::raw`] (u1 / 255, floats as
//! stored) and a mask pixel is foreground when its value is `> 0.5`.

use super::super::pickle::{ArrayData, DType, NdArray, PyValue};
use super::super::raw::{RawDataset, RawSample, binarize};

/// Builds one sample (id and group left empty); errors are `(field path, detail)`.
pub(super) fn build(
    image: PyValue,
    masks: PyValue,
    ds: &mut RawDataset,
    fimg: &str,
    fmask: &str,
) -> Result<RawSample, (String, String)> {
    let tn = image.type_name();
    let img = image
        .into_array()
        .ok_or_else(|| (fimg.to_string(), format!("has type {tn}, expected ndarray")))?;
    let &[h, w] = img.shape() else {
        return Err((
            fimg.into(),
            format!("shape {} is not 2-D", shape_str(img.shape())),
        ));
    };
    if img.dtype() == DType::Bool {
        return Err((fimg.into(), "boolean image".into()));
    }
    let list: Vec<NdArray> = match masks {
        PyValue::List(v) | PyValue::Tuple(v) => v
            .into_iter()
            .enumerate()
            .map(|(r, m)| {
                let tn = m.type_name();
                m.into_array().ok_or_else(|| {
                    (
                        format!("{fmask}[{r}]"),
                        format!("has type {tn}, expected ndarray"),
                    )
                })
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err((
                fmask.into(),
                format!("has type {}, expected list", other.type_name()),
            ));
        }
    };
    if list.is_empty() {
        return Err((fmask.into(), "holds no masks".into()));
    }
    let mut out = Vec::with_capacity(list.len());
    for (r, m) in list.iter().enumerate() {
        if m.shape() != img.shape() {
            return Err((
                format!("{fmask}[{r}]"),
                format!(
                    "shape {} differs from image {}",
                    shape_str(m.shape()),
                    shape_str(img.shape())
                ),
            ));
        }
        out.push(binarize(m));
    }
    ds.image_dtype.get_or_insert(img.dtype());
    ds.mask_dtype.get_or_insert(list[0].dtype());
    let image = match img.data() {
        ArrayData::U8(v) => v.iter().map(|&x| f32::from(x) / 255.0).collect(),
        _ => img.to_f32_vec(),
    };
    Ok(RawSample {
        id: String::new(),
        group: None,
        image,
        channels: 1,
        height: h,
        width: w,
        masks: out,
    })
}

/// numpy-style shape text: `(64,64)`, `(5,)`.
fn shape_str(s: &[usize]) -> String {
    let parts: Vec<String> = s.iter().map(usize::to_string).collect();
    if s.len() == 1 {
        format!("({},)", parts[0])
    } else {
        format!("({})", parts.join(","))
    }
}
