#!/usr/bin/env bash
# GPU check of an fmseg binary (issue: run where the paper's experiments run), printing one
# Markdown table:
#   1. U-Net parity on the GPU: `fmseg model velocity --expect` on both parity fixtures of
#      ../shared/parity/unet (conditional, unconditional, CFG w = 0.3); max |Δ| must be ≤ 1e-4.
#   2. `fmseg bench train`: one flow-matching training step (default the paper's
#      `lidc_condition` net at 128 px, batch 8), median of 5 after 2 warm-up steps (kernel
#      compilation); the JSON lines are kept in $out/bench.jsonl.
#   3. `fmseg bench forward` and `fmseg bench sample` (one midpoint step with CFG), likewise.
#   4. experiments/smoke.yaml end to end on the device, with the device its manifest records.
#   5. With a Python that has torch: fmseg vs PyTorch, alternating (bench/pytorch/compare.py).
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

# 2–3. Timings: `fmseg bench` train (CondOT step, backward, AdamW, EMA), forward and sample (one
# midpoint step with CFG), batch 8, median of 5 after 2 warm-up repetitions.
case "$net" in
    paper|tiny) ;;
    *) echo "GPU_CHECK_NET must be paper or tiny" >&2; exit 2 ;;
esac
field() { sed -E "s/.*\"$1\":([^,}]*).*/\1/" <<<"$2"; }
for kind in train forward sample; do
    line=$("$fmseg" bench "$kind" --net "$net" --batch 8 --steps 5 --warmup 2 --device "$device" --json 2>"$out/bench.log") \
        || { cat "$out/bench.log" >&2; exit 1; }
    echo "$line" >> "$out/bench.jsonl"
    rows+=("| bench $kind, $net net at $(field size "$line") px, batch 8 | $(field gflop_per_s "$line" | cut -c1-6) GFLOP/s, peak RSS $(field peak_rss_mb "$line" | cut -d. -f1) MB | $(field median_s "$line") s |")
done

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

# 5. Where a Python with torch is present (the lent GPU machines have one): fmseg vs PyTorch on
# the same device, alternating (bench/pytorch/compare.py); GPU_CHECK_PYTORCH=0 skips it.
py="${PYTHON:-python3}"
if [ "${GPU_CHECK_PYTORCH:-1}" != 0 ] && "$py" -c "import torch" >/dev/null 2>&1; then
    echo
    python3 bench/pytorch/compare.py --fmseg "$fmseg" --python "$py" --device "$device" \
        --nets "$net" --rounds 2 --steps 5 || status=1
fi
exit "$status"
