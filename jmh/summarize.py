#!/usr/bin/env python3
"""Summarise a JMH JSON result of the spatialact benchmarks as Markdown.

    python3 summarize.py results/<run>.json [more.json ...]

For every benchmark: the median over all measurement iterations of all forks (robust on a
shared machine), JMH's mean +- 99.9% error, and the throughput in elements/s and GB/s (minimum
memory traffic: unary ops read x and write y, 8 B/element; star reads a and b, 12 B/element).
Then the ratios and bars of docs/PERFORMANCE.md, computed from the medians of the same run:
  FReLU(k=3) / native LeakyReLU         (bar >= 0.5x)
  native LeakyReLU / plain Java loop    (bar >= 1.5x)
  API call - kernel alone, 1x8x32x32    (bar <= 2 us)
Throughput-mode scores are ops/s summed over threads; AverageTime scores are us per call per
thread, so elements/s = threads * numel / time.
"""
import json
import statistics
import sys


def numel(shape):
    n = 1
    for d in shape.lower().split("x"):
        n *= int(d)
    return n


def bytes_per_element(bench):
    return 12 if bench.endswith("starRelu") or bench.endswith("star") else 8


def load(paths):
    rows = []
    for p in paths:
        with open(p) as f:
            for r in json.load(f):
                pm = r["primaryMetric"]
                raw = [v for fork in pm["rawData"] for v in fork]
                params = r.get("params", {}) or {}
                name = r["benchmark"].rsplit(".", 2)
                rows.append({
                    "class": name[-2], "bench": name[-1], "params": params,
                    "mode": r["mode"], "threads": r["threads"], "forks": r["forks"],
                    "unit": pm["scoreUnit"], "mean": pm["score"], "err": pm["scoreError"],
                    "median": statistics.median(raw) if raw else float("nan"),
                    "min": min(raw) if raw else float("nan"), "max": max(raw) if raw else float("nan"),
                    "n": len(raw),
                })
    return rows


def elements_per_s(r):
    shape = r["params"].get("shape")
    if not shape:
        return None
    n = numel(shape)
    if r["mode"] == "thrpt" and r["unit"] == "ops/s":
        return r["median"] * n
    if r["mode"] == "avgt" and r["unit"] == "us/op":
        return r["threads"] * n / (r["median"] * 1e-6)
    return None


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")  # JMH writes "NaN" when there are too few samples for an error


def fmt(v, digits=3):
    v = None if v is None else num(v)
    if v is None or v != v:
        return "-"
    if abs(v) >= 1e5:
        return f"{v:.4g}"
    return f"{v:.{digits}f}" if abs(v) < 100 else f"{v:.1f}"


def sci(v):
    return "-" if v is None else f"{v:.3g}"


def key(r, *names):
    return tuple(r["params"].get(n) for n in names)


def main(paths):
    rows = load(paths)
    out = []
    w = out.append

    act = [r for r in rows if r["class"] == "ActivationBench"]
    if act:
        w("### Throughput (ActivationBench, out-of-place)\n")
        w(f"threads: {act[0]['threads']}, forks: {act[0]['forks']}; median over all measurement iterations "
          "(ops/s summed over threads); elements/s = ops/s x numel; GB/s counts x read + y written "
          "(star: a, b read + y written).\n")
        w("| shape | memory | benchmark | median ops/s | mean ± err ops/s | elements/s | GB/s |")
        w("|---|---|---|---:|---:|---:|---:|")
        order = ["javaLeakyRelu", "leakyRelu", "frelu", "freluLight", "starRelu"]
        shapes = []
        for r in act:
            if r["params"]["shape"] not in shapes:
                shapes.append(r["params"]["shape"])
        for shape in shapes:
            for mem in ("array", "buffer"):
                for b in order:
                    for r in act:
                        if r["bench"] == b and key(r, "shape", "memory") == (shape, mem):
                            e = elements_per_s(r)
                            w(f"| {shape} | {mem} | {b} | {fmt(r['median'])} | {fmt(r['mean'])} ± {fmt(r['err'])} | "
                              f"{sci(e)} | {fmt(e * bytes_per_element(b) / 1e9 if e else None, 2)} |")
        w("")
        w("### Ratios (medians of this run)\n")
        w("| shape | memory | FReLU / LeakyReLU (bar >= 0.5) | FReLU-light / LeakyReLU | star / LeakyReLU | "
          "LeakyReLU / Java loop (bar >= 1.5) |")
        w("|---|---|---:|---:|---:|---:|")
        for shape in shapes:
            for mem in ("array", "buffer"):
                m = {r["bench"]: r["median"] for r in act if key(r, "shape", "memory") == (shape, mem)}
                if "leakyRelu" not in m:
                    continue

                def ratio(a, b, bar=None):
                    if a not in m or b not in m:
                        return "-"
                    v = m[a] / m[b]
                    s = f"{v:.2f}x"
                    if bar is not None:
                        s += " (pass)" if v >= bar else " (**MISS**)"
                    return s

                w(f"| {shape} | {mem} | {ratio('frelu', 'leakyRelu', 0.5)} | {ratio('freluLight', 'leakyRelu')} | "
                  f"{ratio('starRelu', 'leakyRelu')} | {ratio('leakyRelu', 'javaLeakyRelu', 1.5)} |")
        w("")

    ov = [r for r in rows if r["class"] == "OverheadBench"]
    if ov:
        w("### Call overhead (OverheadBench, AverageTime, us per call per thread)\n")
        w(f"threads: {ov[0]['threads']}, forks: {ov[0]['forks']}\n")
        w("| shape | benchmark | median us | mean ± err us | min..max us |")
        w("|---|---|---:|---:|---:|")
        order = ["jniTrivial", "kernelPointer", "kernelArray", "kernelBuffer", "apiPointer", "apiArray", "apiBuffer",
                 "javaLeakyRelu"]
        shapes = []
        for r in ov:
            if r["params"]["shape"] not in shapes:
                shapes.append(r["params"]["shape"])
        for shape in shapes:
            for b in order:
                for r in ov:
                    if r["bench"] == b and r["params"]["shape"] == shape:
                        w(f"| {shape} | {b} | {r['median']:.3f} | {r['mean']:.3f} ± {num(r['err']):.3f} | "
                          f"{r['min']:.3f}..{r['max']:.3f} |")
        w("")
        w("| shape | API - kernel alone (medians) | us | bar <= 2 us |")
        w("|---|---|---:|---|")
        for shape in shapes:
            m = {r["bench"]: r["median"] for r in ov if r["params"]["shape"] == shape}
            for api, kern in (("apiPointer", "kernelPointer"), ("apiArray", "kernelPointer"),
                              ("apiArray", "kernelArray"), ("apiBuffer", "kernelBuffer")):
                if api in m and kern in m:
                    d = m[api] - m[kern]
                    w(f"| {shape} | {api} - {kern} | {d:+.3f} | {'pass' if d <= 2.0 else '**MISS**'} |")
        w("")

    cu = [r for r in rows if r["class"] == "CudaBench"]
    if cu:
        w("### CUDA (CudaBench, device-resident tensors)\n")
        w("| shape | op | benchmark | median ops/s | elements/s | GB/s |")
        w("|---|---|---|---:|---:|---:|")
        for r in cu:
            e = elements_per_s(r)
            op = r["params"].get("op", "")
            w(f"| {r['params'].get('shape')} | {op} | {r['bench']} | {fmt(r['median'])} | {sci(e)} | "
              f"{fmt(e * bytes_per_element(op) / 1e9 if e else None, 2)} |")
        w("")

    print("\n".join(out))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
