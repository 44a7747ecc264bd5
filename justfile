# fmseg task runner. `just` lists the recipes; every recipe is commented.
set shell := ["bash", "-euo", "pipefail", "-c"]

# Release binary used by the recipes below.
fmseg := env_var_or_default("CARGO_TARGET_DIR", "target") + "/release/fmseg"

# List the recipes.
default:
    @just --list

# Build the release binary `fmseg` (CPU backend `flex`).
build:
    cargo build --locked --release -p fmseg-runner

# Without arguments: the embedded default, experiments/cpu-default.yaml (flow matching vs Prob-UNet, PHiSeg, CIMD and the oracle on the
# synthetic lidc-like benchmark at 32 px, with learning curves; ~21 min after the build on 2 cores) into
# results/cpu-default/. `just reproduce-paper lidc DIR` runs experiments/paper-lidc.yaml on Knegt's
# data_lidc.pickle in DIR (or DIR is the pickle itself); `just reproduce-paper mmis DIR` runs
# experiments/paper-mmis.yaml on MMIS2024TASK1 (DIR holds training/ and validation/); both are
# GPU-sized. Writes table.md/.tex, metrics.csv/.parquet, figures/ and manifest.json; a second run
# skips every finished cell and only re-renders the tables and figures.
# Reproduce the paper's comparison: CPU default, or `lidc DIR` / `mmis DIR` (GPU-sized).
reproduce-paper dataset="" data="": build
    #!/usr/bin/env bash
    set -euo pipefail
    case "{{dataset}}" in
        "") {{fmseg}} run experiments/cpu-default.yaml ;;
        lidc|mmis)
            test -n "{{data}}" || { echo "usage: just reproduce-paper {{dataset}} DATA_DIR" >&2; exit 2; }
            {{fmseg}} run experiments/paper-{{dataset}}.yaml --data "{{dataset}}={{data}}" ;;
        *) echo "unknown dataset '{{dataset}}' (expected lidc or mmis, or nothing for the CPU default)" >&2; exit 2 ;;
    esac

# experiments/smoke.yaml: all four methods, 40 steps each, 8 test images of the `tiny` preset.
# The whole pipeline on tiny networks, under 3 min after the build, into results/smoke/.
smoke: build
    {{fmseg}} run experiments/smoke.yaml

# Run any experiment file: `just run experiments/qubiq-brain-growth.yaml [--out DIR ...]`.
run file *args: build
    {{fmseg}} run {{file}} {{args}}

# `just sweep FILE --slurm --partition P --gpus-per-task 1 --time 04:00:00` writes a Slurm job
# array (one cell per task; merge with `fmseg collect DIR`).
# Run an ablation's cells locally, or write a Slurm job array with --slurm.
sweep file *args: build
    {{fmseg}} sweep {{file}} {{args}}

# Run every test of the workspace (golden tests read ../shared/parity and skip when it is absent).
test:
    cargo test --locked --workspace

# Format the code.
fmt:
    cargo fmt --all

# Lint exactly as CI does.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# What CI runs (.ci/run): lint, then the tests.
ci: lint test

# CUDA's build downloads LLVM (DOCS_RS=1 skips that for a check); Vulkan builds offline.
# Type-check the GPU code paths as CI does (CUDA and Vulkan features).
check-gpu:
    DOCS_RS=1 cargo check --locked -p fmseg-runner --features cuda
    cargo check --locked -p fmseg-runner --features vulkan

# U-Net parity on DEVICE, a paper-net training-step and a sampling timing, and
# experiments/smoke.yaml end to end, as one table; on a CPU use the small net:
# `GPU_CHECK_NET=tiny just gpu-check cpu`.
# Run scripts/gpu-check.sh with the release binary on DEVICE (default vulkan).
gpu-check device="vulkan":
    FMSEG={{fmseg}} scripts/gpu-check.sh {{device}}

# NET = tiny, cpu-default, cpu-small or paper; DEVICE as --device; one JSON line per kind.
# Time NET's training step, forward pass and CFG midpoint step with fmseg bench (batch 8).
bench net="cpu-default" device="cpu": build
    for kind in train forward sample; do {{fmseg}} bench $kind --net {{net}} --batch 8 --steps 5 --device {{device}} --json; done

# PYTHON = an interpreter with torch, else a venv .venv-bench gets pip's torch (needs network);
# DEVICE = cpu, cuda[:N] or vulkan[:N] (PyTorch then runs on CUDA). Never part of CI.
# fmseg vs PyTorch (bench/pytorch), alternating runs of every net and kind, one Markdown table.
bench-vs-pytorch device="cpu": build
    #!/usr/bin/env bash
    set -euo pipefail
    py="${PYTHON:-python3}"
    if ! "$py" -c "import torch" 2>/dev/null; then
        python3 -m venv .venv-bench && .venv-bench/bin/pip install --quiet torch
        py=.venv-bench/bin/python
    fi
    python3 bench/pytorch/compare.py --fmseg {{fmseg}} --python "$py" --device {{device}}

# Benchmark the metrics (images/s for n = 16, m = 4 at 128×128, with and without the sweep).
bench-metrics:
    cargo bench -p fmseg-metrics --bench metrics
