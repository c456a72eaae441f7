#!/usr/bin/env python3
"""The ONNX peers of spatialact's CPU operators, for the JMH benchmark PeerBench (issue 10:
"ONNX Runtime Java in the same JMH run"). Written at benchmark time; no model file is committed.

For C channels it writes into --out:

    leaky_relu.onnx   LeakyRelu(alpha)
    frelu.onnx        Max(x, BatchNormalization(Conv(x, W, B, group=C, pads k//2)))   (raw BN, as exported)
    td_lrelu.onnx     TD-LReLU, hard gate, T iterations unrolled (docs/OPERATORS.md):
                        u = Where(o > 0, 1, alpha)
                        T times: f = o - lambda * Gv * Gh * (1 - 2u);  u = Where(f > 0, 1, alpha)
                        y = o * u
                      Gv, Gh: the separable Gaussian as two depthwise Convs (zero padding)
    frelu/            the FReLU parameters as .npy files named as a PyTorch state_dict
                      (conv.weight, conv.bias, bn.weight, bn.bias, bn.running_mean,
                      bn.running_var), which the benchmark loads with FReLUWeights, so both sides
                      run the same parameters

N, H and W are symbolic: one model per channel count serves every shape. The Gaussian taps are
computed as sa_td_gaussian does (double, normalised, rounded to float once).

    python3 scripts/onnx_models.py --out jmh/target/onnx --channels 64
Needs python3-onnx and python3-numpy (Debian: apt install python3-onnx).
"""
import argparse
import math
import os
import sys

try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as e:
    sys.exit(f"onnx_models: needs numpy and onnx (Debian: apt install python3-onnx): {e}")

OPSET = 13


def tensor_info(name):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", "C", "H", "W"])


def save(graph, path):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="spatialact")
    model.ir_version = 8  # readable by ONNX Runtime 1.x
    onnx.checker.check_model(model)
    onnx.save(model, path)


def const(name, value):
    return numpy_helper.from_array(np.asarray(value, dtype=np.float32), name)


def leaky_relu(out, alpha):
    g = helper.make_graph([helper.make_node("LeakyRelu", ["x"], ["y"], alpha=alpha)], "leaky_relu",
                          [tensor_info("x")], [tensor_info("y")])
    save(g, os.path.join(out, "leaky_relu.onnx"))


def frelu(out, c, k, eps, seed):
    r = np.random.default_rng(seed)
    w = (0.3 * r.standard_normal((c, 1, k, k))).astype(np.float32)
    b = (0.1 * r.standard_normal(c)).astype(np.float32)
    gamma = (1.0 + 0.1 * r.standard_normal(c)).astype(np.float32)
    beta = (0.1 * r.standard_normal(c)).astype(np.float32)
    mean = (0.1 * r.standard_normal(c)).astype(np.float32)
    var = (0.5 + r.random(c)).astype(np.float32)
    d = os.path.join(out, "frelu")
    os.makedirs(d, exist_ok=True)
    for name, v in [("conv.weight", w), ("conv.bias", b), ("bn.weight", gamma), ("bn.bias", beta),
                    ("bn.running_mean", mean), ("bn.running_var", var)]:
        np.save(os.path.join(d, name + ".npy"), v)
    p = k // 2
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["t"], group=c, kernel_shape=[k, k], pads=[p, p, p, p]),
        helper.make_node("BatchNormalization", ["t", "gamma", "beta", "mean", "var"], ["bn"], epsilon=eps),
        helper.make_node("Max", ["x", "bn"], ["y"]),
    ]
    init = [const("w", w), const("b", b), const("gamma", gamma), const("beta", beta), const("mean", mean), const("var", var)]
    save(helper.make_graph(nodes, "frelu", [tensor_info("x")], [tensor_info("y")], init), os.path.join(out, "frelu.onnx"))


def gaussian(sigma, r):
    g = [math.exp(-(i * i) / (2.0 * sigma * sigma)) for i in range(-r, r + 1)]
    z = sum(g)
    return np.array([v / z for v in g], dtype=np.float32)


def td_lrelu(out, c, alpha, lam, sigma, r, T):
    g = gaussian(sigma, r)
    kv = np.tile(g.reshape(1, 1, 2 * r + 1, 1), (c, 1, 1, 1))
    kh = np.tile(g.reshape(1, 1, 1, 2 * r + 1), (c, 1, 1, 1))
    init = [const("kv", kv), const("kh", kh), const("zero", 0.0), const("one", 1.0), const("two", 2.0),
            const("alpha", alpha), const("lambda", lam)]
    nodes = [helper.make_node("Greater", ["o", "zero"], ["pos0"]),
             helper.make_node("Where", ["pos0", "one", "alpha"], ["u0"])]
    u = "u0"
    for t in range(T):
        nodes += [
            helper.make_node("Mul", [u, "two"], [f"u2_{t}"]),
            helper.make_node("Sub", ["one", f"u2_{t}"], [f"v_{t}"]),
            helper.make_node("Conv", [f"v_{t}", "kv"], [f"cv_{t}"], group=c, kernel_shape=[2 * r + 1, 1], pads=[r, 0, r, 0]),
            helper.make_node("Conv", [f"cv_{t}", "kh"], [f"gv_{t}"], group=c, kernel_shape=[1, 2 * r + 1], pads=[0, r, 0, r]),
            helper.make_node("Mul", [f"gv_{t}", "lambda"], [f"lg_{t}"]),
            helper.make_node("Sub", ["o", f"lg_{t}"], [f"f_{t}"]),
            helper.make_node("Greater", [f"f_{t}", "zero"], [f"pos_{t + 1}"]),
            helper.make_node("Where", [f"pos_{t + 1}", "one", "alpha"], [f"u{t + 1}"]),
        ]
        u = f"u{t + 1}"
    nodes.append(helper.make_node("Mul", ["o", u], ["y"]))
    save(helper.make_graph(nodes, "td_lrelu", [tensor_info("o")], [tensor_info("y")], init),
         os.path.join(out, "td_lrelu.onnx"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--channels", type=int, required=True)
    ap.add_argument("--alpha", type=float, default=0.01)
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--eps", type=float, default=1e-5)
    ap.add_argument("--lam", type=float, default=0.1)
    ap.add_argument("--sigma", type=float, default=1.0)
    ap.add_argument("--radius", type=int, default=3)
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    leaky_relu(a.out, a.alpha)
    frelu(a.out, a.channels, a.k, a.eps, a.seed)
    td_lrelu(a.out, a.channels, a.alpha, a.lam, a.sigma, a.radius, a.iterations)
    print(f"onnx_models: C={a.channels}: leaky_relu.onnx, frelu.onnx (k={a.k}), td_lrelu.onnx "
          f"(T={a.iterations}, r={a.radius}, sigma={a.sigma}, lambda={a.lam}, alpha={a.alpha}) in {a.out}")


if __name__ == "__main__":
    main()
