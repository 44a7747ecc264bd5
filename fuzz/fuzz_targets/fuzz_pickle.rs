//! libFuzzer target for fmseg-data's pickle reader.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fmseg_fuzz::pickle(data));
