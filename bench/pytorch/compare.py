#!/usr/bin/env python3
"""fmseg vs PyTorch on the same machine, alternating runs, one Markdown table.

For every net and kind, `rounds` times: `fmseg bench KIND --json`, then `bench.py KIND --json
--expect-params <fmseg's count>` (a different parameter count stops the comparison: the two
would not be the same network). The ratio is fmseg's median / PyTorch's median of the per-round
medians (below 1 = fmseg faster); PyTorch's GFLOP/s uses fmseg's FLOP count of the same net.

Usage: compare.py --fmseg PATH --python PY [--device cpu|cuda[:N]|vulkan[:N]] [--nets ...]
       [--kinds train forward sample] [--batch 8] [--steps 5] [--rounds 3] [--threads N]
(`just bench-vs-pytorch` runs it; never part of CI.)
"""

import argparse
import json
import pathlib
import platform
import statistics
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fmseg", required=True)
    p.add_argument("--python", required=True, help="an interpreter with torch")
    p.add_argument("--device", default="cpu")
    p.add_argument("--nets", nargs="+", default=["tiny", "cpu-default", "cpu-small"])
    p.add_argument("--kinds", nargs="+", default=["train", "forward", "sample"])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, help="PyTorch threads (default: torch's)")
    a = p.parse_args()
    torch_device = a.device.replace("vulkan", "cuda") if a.device != "cpu" else "cpu"
    if torch_device == "cuda":
        torch_device = "cuda:0"
    common = ["--batch", str(a.batch), "--steps", str(a.steps), "--json"]
    rows = []
    for net in a.nets:
        for kind in a.kinds:
            ours, theirs, line = [], [], None
            for _ in range(a.rounds):
                line = run_json([a.fmseg, "bench", kind, "--net", net, "--device", a.device] + common)
                ours.append(line["median_s"])
                cmd = [a.python, str(HERE / "bench.py"), kind, "--net", net,
                       "--device", torch_device, "--expect-params", str(line["params"])] + common
                if a.threads:
                    cmd += ["--threads", str(a.threads)]
                theirs.append(run_json(cmd))
            m_ours = statistics.median(ours)
            m_theirs = statistics.median(t["median_s"] for t in theirs)
            gflop = line["gflop_per_s"] * line["median_s"]  # GFLOP per repetition
            rows.append((net, kind, line["size"], line["params"], m_ours, line["peak_rss_mb"],
                         m_theirs, max(t["peak_rss_mb"] for t in theirs), gflop,
                         theirs[-1]["impl"], theirs[-1]["threads"]))
    print(f"fmseg vs PyTorch — {platform.node()}, {platform.processor() or platform.machine()}, "
          f"device {a.device}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, batch {a.batch}, "
          f"{a.rounds} alternating rounds of {a.steps} timed steps; {rows[0][9]}, {rows[0][10]} threads")
    print()
    print("| net (params) | kind | fmseg s | PyTorch s | ratio | fmseg GFLOP/s | PyTorch GFLOP/s | peak RSS fmseg / PyTorch MB |")
    print("|---|---|---|---|---|---|---|---|")
    for net, kind, size, params, mo, ro, mt, rt, gflop, _, _ in rows:
        print(f"| {net} ({params:,}, {size} px) | {kind} | {mo:.4f} | {mt:.4f} | {mo / mt:.2f}× | "
              f"{gflop / mo:.1f} | {gflop / mt:.1f} | {ro:.0f} / {rt:.0f} |")


if __name__ == "__main__":
    sys.exit(main())
