#!/usr/bin/env python3
"""TD-LReLU (T=5, r=3) and NTD-LReLU (S=3, P=1, T=5) written as PyTorch eager ops, timed on
the GPU beside F.leaky_relu: the peer for the bar "spatialact's CUDA TD-LReLU >= 10x PyTorch
eager" (docs/TD-LReLU.md). The math is the project's formulation (docs/TD-LReLU.md,
OPERATORS.md sections 3 and 4):

    gate(f) = alpha + (1 - alpha) * [f > 0]             (hard, eps = 0)
              alpha + (1 - alpha) * sigmoid((1 - alpha) f / eps)   (soft)
    u = gate(o);  repeat T times: f = o - lambda * S(1 - 2u);  u = gate(f);   y = o * u

with S = the separable Gaussian (two depthwise conv2d, zero padding, 1-D taps normalised to
sum 1) for TD, and S = the normalised nonlocal average sum_k w_k * shift_k(v) for NTD, its
weights built once per call from the channel mean (replicate padding = clamp to edge, patch
mean by avg_pool2d, exp(-d / h^2), zero outside the image, optional top-k).

Timing as in torch_frelu_bench.py: CUDA events around each run, L2 flushed before each run,
warm-up, median of --runs runs. GB/s counts the bytes the operator must move (o read once,
y written once: 8 bytes per element), the same count for every row, so the column compares
throughput. With --lib PATH/libspatialact.so the script also times spatialact's CUDA kernels
(sa_cuda_td_lrelu_forward / sa_cuda_ntd_lrelu_forward through ctypes, on PyTorch's stream)
and checks them against the eager result (hard form: fraction of differing elements).
"""
import argparse
import ctypes
import math
import statistics
import sys

try:
    import torch
    import torch.nn.functional as F
except ImportError as e:
    sys.exit(f"torch_td_bench: PyTorch is not installed ({e})")


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


# ---- the operators in eager PyTorch --------------------------------------------------------

def gauss1(sigma, r, device):
    k = torch.arange(-r, r + 1, dtype=torch.float64)
    g = torch.exp(-k * k / (2.0 * sigma * sigma))
    return (g / g.sum()).to(torch.float32).to(device)


def make_gate(alpha, eps):
    if eps == 0.0:
        return lambda f: torch.where(f > 0, 1.0, alpha)
    return lambda f: alpha + (1.0 - alpha) * torch.sigmoid(((1.0 - alpha) * f) / eps)


def td_lrelu(o, alpha=0.01, lam=0.1, sigma=1.0, r=3, T=5, eps=0.0):
    c = o.shape[1]
    g = gauss1(sigma, r, o.device)
    kv = g.view(1, 1, -1, 1).expand(c, 1, 2 * r + 1, 1).contiguous()
    kh = g.view(1, 1, 1, -1).expand(c, 1, 1, 2 * r + 1).contiguous()
    gate = make_gate(alpha, eps)

    def blur(v):  # separable, zero padding
        v = F.conv2d(v, kv, padding=(r, 0), groups=c)
        return F.conv2d(v, kh, padding=(0, r), groups=c)

    u = gate(o)
    for _ in range(T):
        f = o - lam * blur(1.0 - 2.0 * u)
        u = gate(f)
    return o * u


def ntd_weights(guide, S=3, P=1, h=1.0, knn=0):
    """N x K x H x W weights, normalised over the window (K = (2S+1)^2, raster offset order)."""
    n, cg, hh, ww = guide.shape
    gp = F.pad(guide, (P + S,) * 4, mode="replicate")          # clamp to edge
    inside = F.pad(torch.ones((n, 1, hh, ww), device=guide.device), (S,) * 4)  # y in the image
    a = gp[:, :, S:S + hh + 2 * P, S:S + ww + 2 * P]
    ws = []
    for dy in range(-S, S + 1):
        for dx in range(-S, S + 1):
            b = gp[:, :, S + dy:S + dy + hh + 2 * P, S + dx:S + dx + ww + 2 * P]
            e = ((a - b) ** 2).sum(1, keepdim=True)
            d = F.avg_pool2d(e, 2 * P + 1, stride=1) / cg       # mean over patch and channels
            w = torch.exp(-d / (h * h))
            w = w * inside[:, :, S + dy:S + dy + hh, S + dx:S + dx + ww]
            ws.append(w)
    w = torch.cat(ws, 1)
    K = w.shape[1]
    if 0 < knn < K:  # keep x and the knn-1 largest others (topk ties are not raster-ordered)
        self_k = K // 2
        others = w.clone()
        others[:, self_k] = -1.0
        idx = others.topk(knn - 1, dim=1).indices
        keep = torch.zeros_like(w).scatter_(1, idx, 1.0)
        keep[:, self_k] = 1.0
        w = w * keep
    return w / w.sum(1, keepdim=True)


def ntd_lrelu(o, alpha=0.01, lam=0.1, T=5, eps=0.0, S=3, P=1, h=1.0, knn=0):
    n, c, hh, ww = o.shape
    w = ntd_weights(o.mean(1, keepdim=True), S, P, h, knn)  # built once per call
    gate = make_gate(alpha, eps)
    u = gate(o)
    for _ in range(T):
        vp = F.pad(1.0 - 2.0 * u, (S,) * 4)                  # zero padding
        acc = torch.zeros_like(o)
        k = 0
        for dy in range(-S, S + 1):
            for dx in range(-S, S + 1):
                acc.addcmul_(w[:, k:k + 1], vp[:, :, S + dy:S + dy + hh, S + dx:S + dx + ww])
                k += 1
        u = gate(o - lam * acc)
    return o * u


# ---- spatialact through ctypes ----------------------------------------------------------------

class SaShape(ctypes.Structure):
    _fields_ = [("n", ctypes.c_int64), ("c", ctypes.c_int64), ("h", ctypes.c_int64), ("w", ctypes.c_int64)]


class SaParams(ctypes.Structure):  # mirrors sa_params in spatialact.h, field for field
    _fields_ = [("alpha", ctypes.c_float), ("alpha_per_channel", ctypes.c_void_p), ("act", ctypes.c_int32),
                ("k", ctypes.c_int32), ("variant", ctypes.c_int32), ("weight", ctypes.c_void_p),
                ("bias", ctypes.c_void_p), ("lambda_", ctypes.c_float), ("sigma", ctypes.c_float),
                ("eps", ctypes.c_float), ("radius", ctypes.c_int32), ("iterations", ctypes.c_int32),
                ("search", ctypes.c_int32), ("patch", ctypes.c_int32), ("h", ctypes.c_float),
                ("knn", ctypes.c_int32), ("guide_channels", ctypes.c_int64)]


def load_lib(path):
    lib = ctypes.CDLL(path)
    lib.sa_params_init.argtypes = [ctypes.POINTER(SaParams)]
    lib.sa_last_error.restype = ctypes.c_char_p
    lib.sa_cuda_td_lrelu_forward.argtypes = [ctypes.c_void_p, ctypes.c_void_p, SaShape, ctypes.POINTER(SaParams),
                                             ctypes.c_void_p]
    lib.sa_cuda_ntd_lrelu_forward.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, SaShape,
                                              ctypes.POINTER(SaParams), ctypes.c_void_p]
    return lib


def sa_call(lib, ntd, o, y, **kw):
    p = SaParams()
    lib.sa_params_init(ctypes.byref(p))
    for key, val in kw.items():
        setattr(p, "lambda_" if key == "lam" else key, val)
    shape = SaShape(*o.shape)
    stream = ctypes.c_void_p(torch.cuda.current_stream().cuda_stream)

    def run():
        if ntd:
            rc = lib.sa_cuda_ntd_lrelu_forward(o.data_ptr(), None, y.data_ptr(), shape, ctypes.byref(p), stream)
        else:
            rc = lib.sa_cuda_td_lrelu_forward(o.data_ptr(), y.data_ptr(), shape, ctypes.byref(p), stream)
        if rc != 0:
            raise RuntimeError(f"spatialact returned {rc}: {lib.sa_last_error().decode()}")
    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shapes", nargs="+", type=parse_shape, default=[(1, 64, 512, 512)])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--lam", type=float, default=0.3)
    ap.add_argument("--eps", type=float, default=0.0, help="0 = hard gate (default); > 0 soft")
    ap.add_argument("--lib", default=None, help="path of libspatialact.so: time its CUDA kernels too")
    ap.add_argument("--no-tf32", action="store_true", help="disable TF32 in cuDNN convolutions")
    args = ap.parse_args()

    if not torch.cuda.is_available():
        sys.exit("torch_td_bench: no CUDA device visible to PyTorch")
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = not args.no_tf32
    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(dev)
    l2 = getattr(props, "L2_cache_size", 50 << 20)
    flush = torch.empty(2 * max(l2, 1 << 20), dtype=torch.uint8, device=dev)
    lib = load_lib(args.lib) if args.lib else None
    print(f"PyTorch {torch.__version__}, CUDA {torch.version.cuda}, {props.name}, L2 {l2 >> 20} MiB, "
          f"cudnn.allow_tf32={torch.backends.cudnn.allow_tf32}; lambda={args.lam} eps={args.eps}")
    print(f"{'shape':<16} {'operator':<44} {'median ms':>10} {'GB/s':>8} {'t/LeakyReLU':>12}")

    gen = torch.Generator(device=dev).manual_seed(1234)
    with torch.inference_mode():
        for n, c, h, w in args.shapes:
            name = f"{n}x{c}x{h}x{w}"
            o = torch.randn((n, c, h, w), generator=gen, device=dev)
            y = torch.empty_like(o)
            moved = 8.0 * o.numel()
            td_kw = dict(alpha=0.01, lam=args.lam, sigma=1.0, r=3, T=5, eps=args.eps)
            ntd_kw = dict(alpha=0.01, lam=args.lam, T=5, eps=args.eps, S=3, P=1, h=1.0, knn=0)
            rows = [
                ("F.leaky_relu 0.01", lambda: F.leaky_relu(o, 0.01)),
                ("TD-LReLU eager (T=5, r=3)", lambda: td_lrelu(o, **td_kw)),
                ("NTD-LReLU eager (S=3, P=1, T=5)", lambda: ntd_lrelu(o, **ntd_kw)),
            ]
            if lib is not None:
                rows.append(("spatialact CUDA TD-LReLU (T=5, r=3)",
                             sa_call(lib, False, o, y, alpha=0.01, lam=args.lam, sigma=1.0, radius=3, iterations=5,
                                     eps=args.eps)))
                rows.append(("spatialact CUDA NTD-LReLU (S=3, P=1, T=5)",
                             sa_call(lib, True, o, y, alpha=0.01, lam=args.lam, iterations=5, eps=args.eps, search=3,
                                     patch=1, h=1.0)))
            leaky_t = None
            times = {}
            for label, fn in rows:
                t = timed(fn, flush, args.warmup, args.runs)
                times[label] = t
                if label.startswith("F.leaky_relu"):
                    leaky_t = t
                print(f"{name:<16} {label:<44} {t * 1e3:10.3f} {moved / t / 1e9:8.1f} {t / leaky_t:12.2f}")
            if lib is not None:
                for eager, ours, fn_ref, ntd in (
                        ("TD-LReLU eager (T=5, r=3)", "spatialact CUDA TD-LReLU (T=5, r=3)",
                         lambda: td_lrelu(o, **td_kw), False),
                        ("NTD-LReLU eager (S=3, P=1, T=5)", "spatialact CUDA NTD-LReLU (S=3, P=1, T=5)",
                         lambda: ntd_lrelu(o, **ntd_kw), True)):
                    ref = fn_ref()
                    sa_call(lib, ntd, o, y, **({"alpha": 0.01, "lam": args.lam, "iterations": 5, "eps": args.eps,
                                                "search": 3, "patch": 1, "h": 1.0} if ntd else
                                               {"alpha": 0.01, "lam": args.lam, "sigma": 1.0, "radius": 3,
                                                "iterations": 5, "eps": args.eps}))()
                    torch.cuda.synchronize()
                    if args.eps == 0.0:
                        diff = (y != ref).float().mean().item()
                        agree = f"elements differing: {diff:.2e} (hard gate; flips within rounding are expected)"
                    else:
                        rel = ((y - ref).norm() / ref.norm()).item()
                        agree = f"relative L2 difference {rel:.2e}"
                    print(f"{name:<16} {ours}: {times[eager] / times[ours]:.1f}x faster than eager; {agree}")
            del o, y


if __name__ == "__main__":
    main()
