#!/usr/bin/env python3
"""PyTorch eager on the CPU: the second peer of issue 10 (item 5), in its own process, each
operator reported as its throughput relative to PyTorch's own leaky_relu on the same shape and
thread count (the ratio the library's bars use, so that a slow baseline cannot flatter it).

    leaky_relu   F.leaky_relu(x, alpha, out=y)
    frelu        torch.maximum(x, batch_norm(conv2d(x, w, groups=C, padding=1)))   as exported
    frelu_folded torch.maximum(x, conv2d(x, w * scale, shift, groups=C, padding=1)) BN folded
    td_lrelu     TD-LReLU hard, T = 5, r = 3 (torch_td_bench.td_lrelu: two depthwise conv2d per
                 iteration, torch.where gates)

Outputs preallocated where PyTorch allows it (out=); torch.set_num_threads(--threads);
inference mode; a warm-up, then the median of --runs runs, interleaved: each round runs every
operator once, so drifting load hits all alike. Prints a table and, with --tsv FILE, rows
"impl<TAB>op<TAB>shape<TAB>seconds<TAB>ratio" for scripts/peers.sh.

    python3 scripts/torch_cpu_bench.py --shape 1x64x256x256 --threads 2
Needs python3-torch (Debian: apt install python3-torch).
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import torch
    import torch.nn.functional as F
except ImportError as e:
    sys.exit(f"torch_cpu_bench: PyTorch is not installed ({e}); Debian: apt install python3-torch")
from torch_td_bench import parse_shape, td_lrelu  # noqa: E402  (the one eager TD formulation)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shape", type=parse_shape, action="append", help="NxCxHxW (repeatable)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=31)
    ap.add_argument("--warmup-seconds", type=float, default=2.0)
    ap.add_argument("--tsv", help="append result rows to this file")
    a = ap.parse_args()
    shapes = a.shape or [(1, 64, 256, 256), (1, 8, 32, 32)]
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    alpha = 0.01
    print(f"PyTorch {torch.__version__} eager, CPU, {torch.get_num_threads()} threads, median of {a.runs} interleaved runs")
    rows = []
    with torch.inference_mode():
        for (n, c, h, w) in shapes:
            g = torch.Generator().manual_seed(11)
            x = torch.randn(n, c, h, w, generator=g)
            y = torch.empty_like(x)
            wt = 0.3 * torch.randn(c, 1, 3, 3, generator=g)
            gamma = 1 + 0.1 * torch.randn(c, generator=g)
            beta = 0.1 * torch.randn(c, generator=g)
            mean = 0.1 * torch.randn(c, generator=g)
            var = 0.5 + torch.rand(c, generator=g)
            scale = gamma / torch.sqrt(var + 1e-5)
            wf = (wt * scale.view(c, 1, 1, 1)).contiguous()
            bf = beta - mean * scale
            ops = {
                "leaky_relu": lambda: torch._C._nn.leaky_relu(x, alpha, out=y),  # F.leaky_relu has no out=
                "frelu": lambda: torch.maximum(x, F.batch_norm(F.conv2d(x, wt, groups=c, padding=1), mean, var, gamma, beta,
                                                               training=False, eps=1e-5), out=y),
                "frelu_folded": lambda: torch.maximum(x, F.conv2d(x, wf, bf, groups=c, padding=1), out=y),
                "td_lrelu": lambda: td_lrelu(x, alpha=alpha, lam=0.1, sigma=1.0, r=3, T=5),
            }
            end = time.perf_counter() + a.warmup_seconds
            while time.perf_counter() < end:
                for f in ops.values():
                    f()
            times = {k: [] for k in ops}
            names = list(ops)
            for i in range(a.runs):
                for j in range(len(names)):
                    k = names[(i + j) % len(names)]
                    t0 = time.perf_counter()
                    ops[k]()
                    times[k].append(time.perf_counter() - t0)
            med = {k: statistics.median(v) for k, v in times.items()}
            shape = f"{n}x{c}x{h}x{w}"
            for k in names:
                rows.append(("pytorch", k, shape, med[k], med["leaky_relu"] / med[k]))
                print(f"  {shape:>14} {k:<13} {med[k] * 1e3:9.3f} ms   {med['leaky_relu'] / med[k]:7.3f}x its leaky_relu")
    if a.tsv:
        with open(a.tsv, "a") as f:
            for r in rows:
                f.write("\t".join(str(v) for v in r) + "\n")


if __name__ == "__main__":
    main()
