"""Reference-engine speed as ratios against baselines measured in the same process run.

    python -m benchmarks.performance [--examples 60000] [--dtype float64 float32]

- one epoch of FA on 784-1000-10 (batch 128), against the BLAS bound: the same epoch's three GEMMs
  per layer per batch (forward, error, gradient; same shapes and dtype) timed alone;
- the same network and rule written plainly in PyTorch (CPU, when ``torch`` is installed: the
  ``bench`` extra), same batch size and threads: ratio of epoch times;
- the weight-mirror phase: seconds per noise sample, and its share of an epoch at one mirror step of
  128 samples per batch;
- scaling: epoch time as the hidden width goes 250 → 4000, with the fitted exponent.

Inputs are MNIST-sized random vectors (the speed does not depend on the pixel values). Writes
``benchmarks/results/performance.json``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks import RESULTS, report
from spikefa import circuit_from_dict
from spikefa.reference import ReferenceEngine

BATCH = 128


def circuit(hidden: int, dtype: str, rule: str = "feedback_alignment", noise: str = "gaussian"):
    return circuit_from_dict(
        {
            "name": "speed",
            "dtype": dtype,
            "network": {"sizes": [784, hidden, 10], "hidden": "relu"},
            "task": "mnist",
            "rule": {"name": rule, "mirror": {"batch_size": BATCH, "noise": noise}}
            if rule == "weight_mirror"
            else rule,
            "optimizer": {"lr": 0.01, "momentum": 0.9, "batch_size": BATCH},
        }
    )


def data(n: int, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.random((n, 784)).astype(dtype)
    y = np.eye(10, dtype=dtype)[rng.integers(0, 10, n)]
    return x, y


def epoch_seconds(engine: ReferenceEngine, x: np.ndarray, y: np.ndarray) -> float:
    rng = np.random.default_rng(1)
    engine.train_batch(x[:BATCH], y[:BATCH], 0.01, rng)  # compile the kernels
    start = time.perf_counter()
    for k in range(0, len(x), BATCH):
        engine.train_batch(x[k : k + BATCH], y[k : k + BATCH], 0.01, rng)
    return time.perf_counter() - start


def blas_bound(sizes: tuple[int, ...], n: int, dtype: str) -> float:
    """Seconds of the epoch's GEMMs alone: per batch and layer, a (B×n_in)(n_in×n_out) forward, a
    (B×n_out)(n_out×n_in) error and a (n_out×B)(B×n_in) gradient product, on preallocated arrays."""
    rng = np.random.default_rng(2)
    pairs = list(zip(sizes, sizes[1:]))
    h = {k: rng.random((BATCH, k)).astype(dtype) for k in sizes}
    W = [rng.random((o, i)).astype(dtype) for i, o in pairs]
    start = time.perf_counter()
    for _ in range(0, n, BATCH):
        for (n_in, n_out), w in zip(pairs, W):
            h[n_in] @ w.T
            h[n_out] @ w
            h[n_out].T @ h[n_in]
    return time.perf_counter() - start


def torch_epoch_seconds(sizes: tuple[int, ...], x: np.ndarray, y: np.ndarray) -> float | None:
    """The same FA epoch written plainly in PyTorch (no autograd: the FA update by hand), or None."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
    dt = torch.float64 if x.dtype == np.float64 else torch.float32
    g = torch.Generator().manual_seed(0)
    W0 = (torch.rand(sizes[1], sizes[0], generator=g, dtype=dt) - 0.5) * 0.1
    W1 = (torch.rand(sizes[2], sizes[1], generator=g, dtype=dt) - 0.5) * 0.1
    B1 = (torch.rand(sizes[1], sizes[2], generator=g, dtype=dt) - 0.5) * 0.1
    b0, b1 = torch.zeros(sizes[1], dtype=dt), torch.zeros(sizes[2], dtype=dt)
    v = [torch.zeros_like(t) for t in (W0, W1, b0, b1)]
    X, Y = torch.from_numpy(x), torch.from_numpy(y)
    start = time.perf_counter()
    with torch.no_grad():
        for k in range(0, len(X), BATCH):
            xb, yb = X[k : k + BATCH], Y[k : k + BATCH]
            a0 = xb @ W0.T + b0
            h0 = torch.relu(a0)
            p = torch.softmax(h0 @ W1.T + b1, dim=1)
            d1 = (p - yb) / len(xb)
            d0 = (d1 @ B1.T) * (a0 > 0)
            for vel, grad, param in zip(v, (d0.T @ xb, d1.T @ h0, d0.sum(0), d1.sum(0)), (W0, W1, b0, b1)):
                vel.mul_(0.9).add_(grad)
                param.sub_(0.01 * vel)
    return time.perf_counter() - start


def mirror_cost(x: np.ndarray, y: np.ndarray, dtype: str) -> dict:
    """Seconds per weight-mirror noise sample, and a mirror step per batch as a share of an FA epoch,
    for Gaussian and for binary (±σ) noise."""
    learn = epoch_seconds(ReferenceEngine(circuit(1000, dtype), np.random.default_rng(0)), x, y)
    batches = len(range(0, len(x), BATCH))
    out = {}
    for noise in ("gaussian", "binary"):
        engine = ReferenceEngine(circuit(1000, dtype, "weight_mirror", noise), np.random.default_rng(0))
        rng = np.random.default_rng(1)
        engine.mirror(1, rng)
        start = time.perf_counter()
        engine.mirror(batches, rng)
        mirror = time.perf_counter() - start
        out[f"mirror_{noise}_us_per_noise_sample"] = 1e6 * mirror / (batches * BATCH)
        out[f"mirror_{noise}_share_of_epoch"] = mirror / learn
    return out


def scaling(x: np.ndarray, y: np.ndarray, dtype: str, widths=(250, 500, 1000, 2000, 4000)) -> dict:
    """Epoch time against hidden width, and the exponent of a power-law fit."""
    seconds = [epoch_seconds(ReferenceEngine(circuit(w, dtype), np.random.default_rng(0)), x, y) for w in widths]
    exponent = float(np.polyfit(np.log(widths), np.log(seconds), 1)[0])
    return {"widths": list(widths), "epoch_seconds": seconds, "fitted_exponent": exponent}


def measure(n: int, dtype: str, scale_examples: int) -> dict:
    x, y = data(n, dtype)
    sizes = (784, 1000, 10)
    epoch = epoch_seconds(ReferenceEngine(circuit(1000, dtype), np.random.default_rng(0)), x, y)
    bound = blas_bound(sizes, n, dtype)
    torch_s = torch_epoch_seconds(sizes, x, y)
    out = {
        "dtype": dtype,
        "examples": n,
        "fa_epoch_seconds": epoch,
        "blas_bound_seconds": bound,
        "epoch_over_blas_bound": epoch / bound,
        "torch_epoch_seconds": torch_s,
        "torch_over_ours": torch_s / epoch if torch_s else None,
    }
    out.update(mirror_cost(x, y, dtype))
    out["scaling"] = scaling(x[:scale_examples], y[:scale_examples], dtype)
    return out


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--examples", type=int, default=60000, help="examples per epoch (MNIST: 60,000)")
    p.add_argument("--scale-examples", type=int, default=10000, help="examples per epoch in the width scan")
    p.add_argument("--dtype", nargs="+", default=["float64", "float32"], choices=["float64", "float32"])
    p.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON (default benchmarks/results)")
    args = p.parse_args(argv)
    results = {dtype: measure(args.examples, dtype, args.scale_examples) for dtype in args.dtype}
    report(results, "performance", args.out)
    return results


if __name__ == "__main__":
    main()
