#!/usr/bin/env bash
# GPU check of an fmseg binary (issue: run where the paper's experiments run), printing one
# Markdown table:
#   1. U-Net parity on the GPU: `fmseg model velocity --expect` on both parity fixtures of
#      ../shared/parity/unet (conditional, unconditional, CFG w = 0.3); max |Δ| must be ≤ 1e-4.
#   2. A training-step timing: `fmseg train` of the flow model for a few steps on synthetic
#      data (default the paper's `lidc_condition` net at 128 px, batch 8); median seconds per
#      step from loss.csv, the first step (warm-up, kernel compilation) left out.
#   3. A sampling timing: `fmseg sample` (midpoint, 10 steps, CFG) on the trained folder.
#   4. experiments/smoke.yaml end to end on the device, with the device its manifest records.
# Until `fmseg bench` and bench/pytorch exist, 2 and 3 are timed through the CLI and nothing
# is compared with PyTorch here.
#
# Usage: scripts/gpu-check.sh [DEVICE] (default vulkan); FMSEG=path/to/fmseg (default
# target/release/fmseg or $CARGO_TARGET_DIR/release/fmseg); GPU_CHECK_NET=paper|tiny (tiny: the
# parity fixture's net at 32 px, for trying the script on a CPU); GPU_CHECK_OUT=DIR;
# GPU_CHECK_PARITY=DIR (default ../shared/parity/unet, else shared/parity/unet).
set -euo pipefail
cd "$(dirname "$0")/.."
device="${1:-vulkan}"
fmseg="${FMSEG:-${CARGO_TARGET_DIR:-target}/release/fmseg}"
net="${GPU_CHECK_NET:-paper}"
out="${GPU_CHECK_OUT:-$(mktemp -d)}"
# The parity fixtures: ../shared beside a checkout, or shared/ inside a copied work tree.
parity="${GPU_CHECK_PARITY:-$( [ -d ../shared/parity/unet ] && echo ../shared/parity/unet || echo shared/parity/unet )}"
mkdir -p "$out"
test -x "$fmseg" || { echo "no fmseg binary at $fmseg (build it or set FMSEG)" >&2; exit 2; }
rows=()
status=0

# 1. Parity.
for fixture in tiny paper-shape; do
    dir="$parity/$fixture"
    if [ ! -d "$dir" ]; then rows+=("| parity $fixture | skipped: $dir absent | |"); continue; fi
    for case in "conditional v_cond" "unconditional v_uncond" "0.3 v_cfg"; do
        set -- $case
        line=$("$fmseg" model velocity --official-config "$dir/config.json" \
            --weights "$dir/weights.safetensors" --x-t "$dir/x_t.npy" --t "$dir/t.npy" \
            --image "$dir/image.npy" --guidance "$1" --out "$out/v.npy" \
            --expect "$dir/$2.npy" --device "$device")
        diff=$(sed -E 's/.*"max_abs_diff":([^,}]*).*/\1/' <<<"$line")
        secs=$(sed -E 's/.*"seconds":([^,}]*).*/\1/' <<<"$line")
        verdict=$(awk -v d="$diff" 'BEGIN { print (d <= 1e-4) ? "ok" : "FAIL" }')
        [ "$verdict" = ok ] || status=1
        rows+=("| parity $fixture $2 | max abs diff $diff ($verdict, gate 1e-4) | ${secs} s |")
    done
done

# 2. Training steps.
case "$net" in
    paper) size=128; model="{ preset: lidc-condition }"; batch=8; steps=6 ;;
    tiny) size=32; model="{ preset: cpu-small, model_channels: 32, channel_mult: [1, 2, 2], num_res_blocks: 1, attention_resolutions: [2] }"; batch=8; steps=4 ;;
    *) echo "GPU_CHECK_NET must be paper or tiny" >&2; exit 2 ;;
esac
cat > "$out/step.yaml" <<YAML
name: gpu-check
datasets:
  - id: lidc-like-$size
    synthetic: { preset: lidc-like, size: $size, train_count: 16, test_start: 10000, test_count: 8 }
methods:
  - method: flow
    model: $model
    training: { steps: $steps, batch_size: $batch, checkpoint_every: 0, log_every: 1 }
YAML
"$fmseg" train --experiment "$out/step.yaml" --out "$out/train" --device "$device" >/dev/null 2>"$out/train.log" \
    || { cat "$out/train.log" >&2; exit 1; }
step=$(awk -F, 'NR > 1 { if (NR > 2) print $3 - prev; prev = $3 }' "$out/train/loss.csv" \
    | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
rows+=("| train step, $net net at $size px, batch $batch | median of steps 2..$steps | ${step} s |")

# 3. Sampling.
"$fmseg" data synth --preset lidc-like --count 8 --size "$size" --start 10000 --out "$out/test" >/dev/null 2>&1
sample=$("$fmseg" sample --checkpoint "$out/train" --images "$out/test/images.npy" --count 8 \
    --solver midpoint --steps 10 --guidance 0.3 --out "$out/s.npy" --device "$device" 2>&1 | tail -1)
rows+=("| sample 8 images x 8, midpoint 10 steps, CFG | $(sed -E 's/.*: (NFE [0-9]+).*/\1/' <<<"$sample") | $(sed -E 's/.* ([0-9.]+) s$/\1/' <<<"$sample") s |")

# 4. Smoke experiment end to end.
start=$(date +%s.%N)
"$fmseg" run experiments/smoke.yaml --out "$out/smoke" --device "$device" >/dev/null 2>"$out/smoke.log" \
    || { cat "$out/smoke.log" >&2; exit 1; }
wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
recorded=$(tr -d '\n ' < "$out/smoke/manifest.json" | sed -E 's/.*"this_invocation":"([^"]*)".*/\1/')
rows+=("| experiments/smoke.yaml | manifest device: $recorded | ${wall} s |")

echo "fmseg GPU check — device $device, $(date -u +%Y-%m-%dT%H:%MZ), outputs in $out"
echo
echo "| check | result | time |"
echo "|---|---|---|"
printf '%s\n' "${rows[@]}"
exit "$status"
