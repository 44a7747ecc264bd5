#!/usr/bin/env python3
"""The PyTorch side of `fmseg bench`: the same flow-matching U-Net, timed the same way.

Written for fmseg from the architecture description in ../shared/docs/paper-and-baselines.md and
../shared/parity/unet/README.md (not copied from any repository): guided-diffusion layout with a
sinusoidal time MLP, ResBlocks with scale-shift GroupNorm(32), single-head attention (new qkv
order) at the listed downsampling factors and in the middle block, AvgPool 2x2 down and nearest x2
up (conv_resample off), input cat([x_t, image]).

Kinds (as `fmseg bench`): `train` = one CondOT step (x_t = t*x1 + (1-t)*x0, target x1 - x0, MSE,
per-batch CFG drop 0.5, backward, AdamW, EMA of the parameters); `forward` = one inference pass
(no_grad); `sample` = one midpoint step with CFG w = 0.3 (two network calls on 2B rows). Each
repetition ends by reading a scalar back (`.item()`), which also synchronises CUDA. One JSON line
with the keys of `fmseg bench --json`. `--expect-params N` exits 1 when the parameter count
differs from fmseg's (the two implementations must be the same network).

Usage: python3 bench/pytorch/bench.py train --net cpu-default --batch 8 --steps 10 --json
"""

import argparse
import json
import math
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

NETS = {
    # name: (model_channels, channel_mult, num_res_blocks, attention_resolutions, size)
    "tiny": (32, (1, 2, 2), 1, (2,), 32),
    "cpu-default": (32, (1, 2), 1, (), 32),
    "cpu-small": (32, (1, 2, 2), 2, (), 32),
    "paper": (64, (1, 2, 4, 4), 2, (2,), 128),
}


def norm(channels):
    return nn.GroupNorm(32, channels, eps=1e-5)


class ResBlock(nn.Module):
    def __init__(self, c_in, c_out, emb, dropout):
        super().__init__()
        self.in_norm = norm(c_in)
        self.in_conv = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb, 2 * c_out)
        self.out_norm = norm(c_out)
        self.drop = nn.Dropout(dropout)
        self.out_conv = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Identity() if c_in == c_out else nn.Conv2d(c_in, c_out, 1)

    def forward(self, x, emb):
        h = self.in_conv(F.silu(self.in_norm(x)))
        scale, shift = self.emb(F.silu(emb))[:, :, None, None].chunk(2, dim=1)
        h = self.out_norm(h) * (1 + scale) + shift
        return self.skip(x) + self.out_conv(self.drop(F.silu(h)))


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = norm(c)
        self.qkv = nn.Conv1d(c, 3 * c, 1)
        self.proj = nn.Conv1d(c, c, 1)

    def forward(self, x):
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x).reshape(b, c, h * w)).chunk(3, dim=1)
        scale = 1.0 / math.sqrt(math.sqrt(c))
        weights = torch.softmax(torch.einsum("bct,bcs->bts", q * scale, k * scale), dim=-1)
        a = torch.einsum("bts,bcs->bct", weights, v)
        return x + self.proj(a).reshape(b, c, h, w)


class Block(nn.Module):
    """A ResBlock with optional attention and optional nearest x2 upsampling after it."""

    def __init__(self, res, attention=None, up=False):
        super().__init__()
        self.res, self.attention, self.up = res, attention, up

    def forward(self, x, emb):
        x = self.res(x, emb)
        if self.attention is not None:
            x = self.attention(x)
        return F.interpolate(x, scale_factor=2, mode="nearest") if self.up else x


class UNet(nn.Module):
    def __init__(self, mc, mult, blocks, attn_at, in_channels=2, dropout=0.1):
        super().__init__()
        emb = 4 * mc
        self.mc = mc
        self.time = nn.Sequential(nn.Linear(mc, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.stem = nn.Conv2d(in_channels, mc, 3, padding=1)
        self.encoder = nn.ModuleList()  # None = AvgPool down
        skips, ch, ds = [mc], mc, 1
        for level, m in enumerate(mult):
            for _ in range(blocks):
                out = m * mc
                att = Attention(out) if ds in attn_at else None
                self.encoder.append(Block(ResBlock(ch, out, emb, dropout), att))
                ch = out
                skips.append(ch)
            if level != len(mult) - 1:
                self.encoder.append(None)
                skips.append(ch)
                ds *= 2
        self.mid1 = ResBlock(ch, ch, emb, dropout)
        self.mid_attn = Attention(ch)
        self.mid2 = ResBlock(ch, ch, emb, dropout)
        self.decoder = nn.ModuleList()
        for level, m in list(enumerate(mult))[::-1]:
            for i in range(blocks + 1):
                out = m * mc
                res = ResBlock(ch + skips.pop(), out, emb, dropout)
                att = Attention(out) if ds in attn_at else None
                up = level != 0 and i == blocks
                self.decoder.append(Block(res, att, up))
                ch = out
                if up:
                    ds //= 2
        self.out_norm = norm(ch)
        self.out_conv = nn.Conv2d(ch, 1, 3, padding=1)
        half = mc // 2
        neg_log = -torch.tensor(math.log(10000.0), dtype=torch.float32)
        freqs = torch.exp(neg_log * torch.arange(half) / half)
        self.register_buffer("freqs", freqs, persistent=False)

    def forward(self, x_t, t, image):
        args = t.float()[:, None] * self.freqs[None]
        emb = self.time(torch.cat([torch.cos(args), torch.sin(args)], dim=1))
        h = self.stem(torch.cat([x_t, image], dim=1))
        hs = [h]
        for block in self.encoder:
            h = F.avg_pool2d(h, 2) if block is None else block(h, emb)
            hs.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, emb)), emb)
        for block in self.decoder:
            h = block(torch.cat([h, hs.pop()], dim=1), emb)
        return self.out_conv(F.silu(self.out_norm(h)))


def peak_rss_mb():
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("kind", choices=["train", "forward", "sample"])
    p.add_argument("--net", choices=sorted(NETS), required=True)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--size", type=int)
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    p.add_argument("--threads", type=int, help="torch.set_num_threads (CPU)")
    p.add_argument("--expect-params", type=int)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    mc, mult, blocks, attn_at, size = NETS[a.net]
    size = a.size or size
    device = torch.device(a.device)
    torch.manual_seed(0)
    net = UNet(mc, mult, blocks, attn_at).to(device)
    params = sum(p.numel() for p in net.parameters())
    if a.expect_params is not None and params != a.expect_params:
        print(f"parameter count {params} differs from fmseg's {a.expect_params}", file=sys.stderr)
        sys.exit(1)
    b = a.batch
    image = torch.rand(b, 1, size, size, device=device)
    masks = (torch.rand(b, 1, size, size, device=device) < 0.3).float()
    x = torch.randn(b, 1, size, size, device=device)
    times = []
    if a.kind == "train":
        net.train()
        optim = torch.optim.AdamW(net.parameters(), lr=1e-4)
        ema = [q.detach().clone() for q in net.parameters()]
    else:
        net.eval()
    for rep in range(a.warmup + a.steps):
        start = time.perf_counter()
        if a.kind == "train":
            t = torch.rand(b, device=device)
            x0 = torch.randn_like(masks)
            x1 = 2 * masks - 1
            cond = image if torch.rand(()) >= 0.5 else torch.zeros_like(image)
            tt = t[:, None, None, None]
            loss = F.mse_loss(net(tt * x1 + (1 - tt) * x0, t, cond), x1 - x0)
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            with torch.no_grad():
                torch._foreach_lerp_(ema, list(net.parameters()), 1e-4)
            loss.item()
        else:
            with torch.no_grad():
                if a.kind == "forward":
                    out = net(x, torch.full((b,), 0.5, device=device), image)
                else:
                    w, dt = 0.3, 0.01
                    both = torch.cat([image, torch.zeros_like(image)])

                    def field(state, t):
                        v = net(torch.cat([state, state]), torch.full((2 * b,), t, device=device), both)
                        return (1 + w) * v[:b] - w * v[b:]

                    out = x + dt * field(x + 0.5 * dt * field(x, 0.0), 0.5 * dt)
                out.sum().item()
        if rep >= a.warmup:
            times.append(time.perf_counter() - start)
    times.sort()
    n = len(times)
    median = times[n // 2] if n % 2 else (times[n // 2 - 1] + times[n // 2]) / 2
    line = {
        "kind": a.kind,
        "net": a.net,
        "batch": b,
        "size": size,
        "params": params,
        "device": a.device,
        "median_s": median,
        "min_s": times[0],
        "max_s": times[-1],
        "peak_rss_mb": peak_rss_mb(),
        # Same network, same FLOPs: the comparison takes fmseg's count (UNetConfig::forward_flops).
        "gflop_per_s": None,
        "impl": f"pytorch {torch.__version__}",
        "threads": torch.get_num_threads(),
    }
    if a.json:
        print(json.dumps(line))
    else:
        print(f"{a.kind} {a.net} batch {b} at {size} px on {a.device}: median {median:.4f} s "
              f"(min {times[0]:.4f}, max {times[-1]:.4f}), {params} parameters")


if __name__ == "__main__":
    main()
