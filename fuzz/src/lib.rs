//! Shared fuzz entry points for fmseg-data's untrusted-input readers: the pickle VM (and the
//! LIDC layout on top of it), the `.npy` reader, and the MMIS HDF5 reader. Each entry point
//! must return (Ok or Err) for any input and never panic, hang or allocate without bound.

use std::io::Write;

/// The pickle VM and the LIDC/official layout decoder.
pub fn pickle(data: &[u8]) {
    let _ = fmseg_data::formats::pickle::from_bytes(data);
    let _ = fmseg_data::formats::lidc_pickle::lidc_from_bytes("fuzz.pkl", data);
}

/// The `.npy` reader (which only reads from a path: the bytes go through a temporary file).
pub fn npy(data: &[u8]) {
    let dir = std::env::temp_dir().join(format!("fmseg-fuzz-npy-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("input.npy");
    if let Ok(mut f) = std::fs::File::create(&path)
        && f.write_all(data).is_ok()
    {
        let _ = fmseg_data::npy::NpyArray::read(&path);
    }
}

/// The MMIS HDF5 reader (hdf5-pure underneath).
pub fn hdf5(data: &[u8]) {
    let _ = fmseg_data::formats::mmis_h5::mmis_from_h5_bytes("fuzz.h5", data.to_vec());
}

/// Looks an entry point up by name.
pub fn target(name: &str) -> Option<fn(&[u8])> {
    match name {
        "pickle" => Some(pickle),
        "npy" => Some(npy),
        "hdf5" => Some(hdf5),
        _ => None,
    }
}
