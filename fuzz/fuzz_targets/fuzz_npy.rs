//! libFuzzer target for fmseg-data's npy reader.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fmseg_fuzz::npy(data));
