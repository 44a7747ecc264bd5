//! Shared fuzz entry points for fmseg-data's untrusted-input readers: the pickle VM (and the
//! LIDC layout on top of it), the `.npy` reader (preamble, header and body), the dataset cache's
//! `index.json`, and the MMIS HDF5 reader. Each entry point
//! must return (Ok or Err) for any input and never panic, hang or allocate without bound.

use std::path::Path;

/// The pickle VM and the LIDC/official layout decoder.
pub fn pickle(data: &[u8]) {
    let _ = fmseg_data::formats::pickle::from_bytes(data);
    let _ = fmseg_data::formats::lidc_pickle::lidc_from_bytes("fuzz.pkl", data);
}

/// The `.npy` reader on bytes in memory: the same preamble, header and body checks as on a file.
pub fn npy(data: &[u8]) {
    let _ = fmseg_data::npy::NpyArray::from_bytes(Path::new("fuzz.npy"), data);
}

/// A dataset cache's `index.json`: JSON, the format tag, counts and shard names.
pub fn cache_index(data: &[u8]) {
    let _ = fmseg_data::cache::CacheIndex::parse(Path::new("index.json"), data);
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
        "cache_index" => Some(cache_index),
        "hdf5" => Some(hdf5),
        _ => None,
    }
}
