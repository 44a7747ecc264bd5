//! libFuzzer target for fmseg-data's hdf5 reader.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fmseg_fuzz::hdf5(data));
