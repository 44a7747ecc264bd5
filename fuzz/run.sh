#!/usr/bin/env bash
# Fuzz fmseg-data's readers on STABLE Rust, without cargo-fuzz and without sanitizers.
#   ./run.sh libfuzzer [seconds]  - real libFuzzer (coverage-guided) via the sancov flags that
#                                   `cargo fuzz run --sanitizer none` passes
#   ./run.sh mutate [seconds]     - the dependency-free random-mutation loop (src/bin/mutate.rs)
# With cargo-fuzz installed, `cargo fuzz run fuzz_pickle --sanitizer none` works as well.
set -euo pipefail
cd "$(dirname "$0")"
mode=${1:-libfuzzer}
secs=${2:-60}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-fuzz}
triple=x86_64-unknown-linux-gnu
if [ "$mode" = libfuzzer ]; then
  export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
  export CARGO_TARGET_DIR="$CARGO_TARGET_DIR/libfuzzer"
  cargo build --release --features libfuzzer --target "$triple" \
    --bin fuzz_pickle --bin fuzz_npy --bin fuzz_cache_index --bin fuzz_hdf5
  for t in ${FUZZ_TARGETS:-pickle npy cache_index hdf5}; do
    mkdir -p "corpus/$t" "artifacts/$t"
    cp -n seeds/$t/* "corpus/$t/" || true
    "$CARGO_TARGET_DIR/$triple/release/fuzz_$t" "corpus/$t" -max_total_time="$secs" \
      -rss_limit_mb=2048 -max_len=65536 -timeout=10 -artifact_prefix="artifacts/$t/"
  done
else
  cargo build --release --bin mutate
  for t in ${FUZZ_TARGETS:-pickle npy cache_index hdf5}; do
    "$CARGO_TARGET_DIR/release/mutate" "$t" "$secs" 1000000000 seeds/$t/*
  done
fi
