//! libFuzzer target for the dataset cache's `index.json` parser.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fmseg_fuzz::cache_index(data));
