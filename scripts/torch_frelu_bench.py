#!/usr/bin/env python3
"""FReLU (k = 3) the way PyTorch users run it today, timed on the GPU: the peer of the GPU
table printed by bench_ops (src/test/native/bench_ops.cpp).

    t = conv2d(x, w, groups=C, padding=1)          # depthwise 3x3, cuDNN
    t = batch_norm(t, mean, var, gamma, beta)      # inference mode
    y = maximum(x, t)

three eager kernels, plus F.leaky_relu and a plain copy for reference. Timing as in
bench_ops: CUDA events around each run, L2 flushed before each run, warm-up, median of
--runs runs; GB/s counts the bytes the operator must move (x read once, y written once:
8 bytes per element), so the unfused path shows a lower figure than the bytes it really
moves (about 5 passes over the tensor). Optional: --compile adds torch.compile(frelu).
"""
import argparse
import statistics
import sys

try:
    import torch
    import torch.nn.functional as F
except ImportError as e:  # the GPU host has PyTorch; say so clearly elsewhere
    sys.exit(f"torch_frelu_bench: PyTorch is not installed ({e})")


def parse_shape(text):
    dims = tuple(int(v) for v in text.lower().split("x"))
    if len(dims) != 4 or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"shape {text!r} is not NxCxHxW")
    return dims


def timed(fn, flush, warmup, runs):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(runs)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(runs)]
    for i in range(runs):
        flush.fill_(i & 0xFF)  # evict the inputs from L2
        starts[i].record()
        fn()
        ends[i].record()
    torch.cuda.synchronize()
    return statistics.median(s.elapsed_time(e) for s, e in zip(starts, ends)) * 1e-3


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shapes", nargs="+", type=parse_shape,
                    default=[(1, 64, 512, 512), (8, 64, 256, 256), (1, 64, 256, 256)])
    ap.add_argument("--runs", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--no-cudnn-benchmark", action="store_true",
                    help="use cuDNN's heuristics instead of timing its algorithms (PyTorch's default)")
    ap.add_argument("--no-tf32", action="store_true", help="disable TF32 in cuDNN convolutions")
    ap.add_argument("--compile", action="store_true", help="also time torch.compile(frelu)")
    args = ap.parse_args()

    if not torch.cuda.is_available():
        sys.exit("torch_frelu_bench: no CUDA device visible to PyTorch")
    torch.backends.cudnn.benchmark = not args.no_cudnn_benchmark
    torch.backends.cudnn.allow_tf32 = not args.no_tf32
    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(dev)
    l2 = getattr(props, "L2_cache_size", 50 << 20)
    flush = torch.empty(2 * max(l2, 1 << 20), dtype=torch.uint8, device=dev)
    print(f"PyTorch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, "
          f"{props.name}, L2 {l2 >> 20} MiB; cudnn.benchmark={torch.backends.cudnn.benchmark}, "
          f"cudnn.allow_tf32={torch.backends.cudnn.allow_tf32}")
    print(f"{'shape':<16} {'operator':<40} {'median us':>12} {'GB/s':>10} {'t/LeakyReLU':>12}")

    gen = torch.Generator(device=dev).manual_seed(1234)

    def uniform(shape, lo, hi):
        return torch.rand(shape, generator=gen, device=dev) * (hi - lo) + lo

    with torch.inference_mode():
        for n, c, h, w in args.shapes:
            name = f"{n}x{c}x{h}x{w}"
            x = uniform((n, c, h, w), -2.0, 2.0)
            weight = uniform((c, 1, 3, 3), -1.0 / 3, 1.0 / 3)
            gamma, beta = uniform((c,), 0.5, 1.5), uniform((c,), -0.5, 0.5)
            mean, var = uniform((c,), -0.2, 0.2), uniform((c,), 0.5, 2.0)
            y = torch.empty_like(x)
            moved = 8.0 * x.numel()  # x read once, y written once

            def frelu():
                t = F.conv2d(x, weight, None, 1, 1, 1, c)
                t = F.batch_norm(t, mean, var, gamma, beta, False, 0.0, 1e-5)
                return torch.maximum(x, t)

            rows = [
                ("copy (y.copy_(x))", lambda: y.copy_(x)),
                ("F.leaky_relu 0.01", lambda: F.leaky_relu(x, 0.01)),
                ("conv2d dw3x3 alone", lambda: F.conv2d(x, weight, None, 1, 1, 1, c)),
                ("FReLU eager: conv2d + batch_norm + maximum", frelu),
            ]
            if args.compile:
                rows.append(("FReLU torch.compile", torch.compile(frelu)))
            leaky_t = None
            for label, fn in rows:
                t = timed(fn, flush, args.warmup, args.runs)
                if label.startswith("F.leaky_relu"):
                    leaky_t = t
                ratio = f"{t / leaky_t:12.2f}" if leaky_t else f"{'':>12}"
                print(f"{name:<16} {label:<40} {t * 1e6:12.1f} {moved / t / 1e9:10.1f} {ratio}")
            del x, y


if __name__ == "__main__":
    main()
