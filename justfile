# fmseg task runner. `just` lists the recipes; every recipe is commented.
set shell := ["bash", "-euo", "pipefail", "-c"]

# Release binary used by the recipes below.
fmseg := env_var_or_default("CARGO_TARGET_DIR", "target") + "/release/fmseg"

# List the recipes.
default:
    @just --list

# Build the release binary `fmseg` (CPU backend `flex`).
build:
    cargo build --release -p fmseg-runner

# Reproduce on the embedded default (CPU, ~10 min after the build on 2 cores): the synthetic
# lidc-like benchmark at 32 px. Trains the flow model (experiments/reproduce-flow.yaml, training
# images 0..511), draws 16 samples for each of 32 held-out test images (indices 10000..10031;
# midpoint solver, 10 steps, CFG w = 0.3), and scores them next to the oracle sampler (16 draws from
# the known answer distribution: the best achievable numbers) with the paper's metrics for
# k = 1, 2, 4, 8, 16. Writes {{out}}/table.md, table.tex and metrics.csv. Reruns retrain only if
# {{out}}/flow/model.safetensors is missing. Baselines join as they are wired to training.
reproduce-paper out="results/reproduce": build
    {{fmseg}} data synth --preset lidc-like --count 32 --size 32 --seed 0 --start 10000 --oracle-samples 16 --out {{out}}/test
    test -f {{out}}/flow/model.safetensors || {{fmseg}} train --experiment experiments/reproduce-flow.yaml --out {{out}}/flow
    {{fmseg}} sample --checkpoint {{out}}/flow --images {{out}}/test/images.npy --count 16 --solver midpoint --steps 10 --seed 0 --out {{out}}/flow-samples.npy
    {{fmseg}} compare --annotations {{out}}/test/annotations.npy --method oracle={{out}}/test/oracle_samples.npy --method flow={{out}}/flow-samples.npy --dataset synthetic-lidc-like-32 --out {{out}}

# Train the small flow model on the 32-px `tiny` preset (~1.5 min) and score 16 samples of 16
# test images: a quick end-to-end check of train → sample → evaluate.
smoke out="results/smoke": build
    {{fmseg}} data synth --preset tiny --count 16 --size 32 --seed 0 --start 10000 --out {{out}}/test
    test -f {{out}}/flow/model.safetensors || {{fmseg}} train --experiment experiments/flow-tiny.yaml --out {{out}}/flow
    {{fmseg}} sample --checkpoint {{out}}/flow --images {{out}}/test/images.npy --count 16 --solver midpoint --steps 10 --out {{out}}/flow-samples.npy
    {{fmseg}} evaluate --samples {{out}}/flow-samples.npy --annotations {{out}}/test/annotations.npy

# Run every test of the workspace (golden tests read ../shared/parity and skip when it is absent).
test:
    cargo test --workspace

# Format the code.
fmt:
    cargo fmt --all

# Lint exactly as CI does.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# What CI runs (.ci/run): lint, then the tests.
ci: lint test

# Type-check the CUDA path (its build downloads LLVM; DOCS_RS=1 skips that for a check).
check-cuda:
    DOCS_RS=1 cargo check -p fmseg-runner --features cuda

# Benchmark the metrics (images/s for n = 16, m = 4 at 128×128, with and without the sweep).
bench-metrics:
    cargo bench -p fmseg-metrics --bench metrics
