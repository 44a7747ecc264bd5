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

# Reproduce on the embedded default: the synthetic lidc-like benchmark (test images 10000..10099
# of seed 0), scored with the paper's metrics for k = 1..16 samples. At this stage the only sampler
# is the oracle (16 draws from the known answer distribution: the best achievable scores); the
# trained methods join as they land. Results go to results/reproduce/.
reproduce-paper out="results/reproduce": build
    {{fmseg}} data synth --preset lidc-like --count 100 --size 64 --seed 0 --start 10000 --oracle-samples 16 --out {{out}}/data
    {{fmseg}} evaluate --samples {{out}}/data/oracle_samples.npy --annotations {{out}}/data/annotations.npy --json > {{out}}/oracle-metrics.json.tmp
    mv {{out}}/oracle-metrics.json.tmp {{out}}/oracle-metrics.json
    {{fmseg}} evaluate --samples {{out}}/data/oracle_samples.npy --annotations {{out}}/data/annotations.npy | tee {{out}}/oracle-metrics.txt

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
