"""Brian2 circuit speed: examples per second of the rate and LIF circuits for 784-500-10 on MNIST digits,
where the time per example goes, and how it scales with the hidden width, against the reference
engine learning the same examples one at a time in the same process.

    python -m benchmarks.brian_speed [--neurons rate lif] [--examples 2000] [--lif-examples 300]
                                     [--widths 100 250 500 1000 2000] [--data-dir DIR]

Input: the first MNIST training images (``--data-dir``, else ``$SPIKEFA_DATA``, else ``../shared/data/mnist``;
the spiking circuit's cost follows the pixel values: a pixel fires at x · max_rate). The rule is FA with
one example per learning step in every engine, so the ratio compares like with like. Each circuit runs
its default schedule (rate: dt = tau, L + L − 1 steps; LIF: 40 ms forward + 20 ms error at dt = 0.5 ms).

Per circuit: examples/s of a timed block of all the examples; the Brian2 per-run overhead (a block of
5 examples against that); then, from a second block run with Brian2's profiler, the
time per example split into simulation (Brian2's code objects, each with its Python call), plasticity
(the shared kernels) and Python overhead (the rest of the timed block's time per example: the
schedule's network operation and Brian2's network loop); for LIF, synaptic events (spikes and ± error events
times their fan-out) per example and per second, counted by monitors in a third, untimed block.
Writes ``benchmarks/results/brian_speed.json``.
"""

from __future__ import annotations

import argparse
import functools
import os
import time
from pathlib import Path

import numpy as np
from brian2 import EventMonitor, SpikeMonitor

from benchmarks import RESULTS, report
from spikefa import circuit_from_dict
from spikefa.brian import Circuit
from spikefa.reference import ReferenceEngine
from spikefa.tasks import one_hot, read_idx

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def circuit(neurons: str, target: str, hidden: int = 500):
    return circuit_from_dict(
        {
            "name": "speed",
            "seed": 0,
            "engine": "brian2",
            "brian": {"neurons": neurons, "target": target},
            "network": {"sizes": [784, hidden, 10], "hidden": "tanh" if neurons == "rate" else "relu"},
            "task": "mnist",
            "rule": "feedback_alignment",
            "optimizer": {"lr": 0.01},
        }
    )


def mnist(n: int, data_dir: str | None) -> tuple[np.ndarray, np.ndarray]:
    """The first n MNIST training images in [0, 1] and their one-hot labels."""
    root = Path(data_dir or os.environ.get("SPIKEFA_DATA") or SHARED_MNIST)
    x = read_idx(root / "train-images-idx3-ubyte.gz")[:n].reshape(n, -1) / 255.0
    return x, one_hot(read_idx(root / "train-labels-idx1-ubyte.gz")[:n], 10)


class PlasticityClock:
    """Times the engine's ``learn`` (the shared kernels) while installed."""

    def __init__(self, engine: ReferenceEngine):
        self.engine, self.seconds, self._learn = engine, 0.0, engine.learn
        engine.learn = self._timed

    def _timed(self, *args) -> None:
        start = time.perf_counter()
        self._learn(*args)
        self.seconds += time.perf_counter() - start


def synaptic_events(brian: Circuit, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> float:
    """Synaptic events per example of a LIF circuit: every spike times its forward fan-out, every ± error
    event times its feedback fan-out, counted by monitors over one untimed block."""
    spikes = {l: SpikeMonitor(g) for l, g in enumerate(brian.groups[:-1])}
    errors = {
        l: [EventMonitor(syn.source, "err_pos"), EventMonitor(syn.source, "err_neg")]
        for l, syn in enumerate(brian.feedback)
        if syn is not None
    }
    monitors = [*spikes.values(), *(m for pair in errors.values() for m in pair)]
    brian.network.add(*monitors)
    try:
        brian.train_batch(x, y, 0.01, rng)
    finally:
        brian.network.remove(*monitors)
    events = sum(m.num_spikes * len(brian.groups[l + 1]) for l, m in spikes.items())
    events += sum((p.num_events + n.num_events) * len(brian.groups[l]) for l, (p, n) in errors.items())
    return events / len(x)


def measure(neurons: str, x: np.ndarray, y: np.ndarray, target: str, hidden: int = 500, split: bool = True) -> dict:
    n = len(x)
    c = circuit(neurons, target, hidden)
    rng = np.random.default_rng(0)
    engine = ReferenceEngine(c, np.random.default_rng(1))
    brian = Circuit.for_engine(engine)
    brian.train_batch(x[:20], y[:20], 0.01, rng)  # compile and warm up

    def block(k: int) -> float:
        start = time.perf_counter()
        brian.train_batch(x[:k], y[:k], 0.01, rng)
        return time.perf_counter() - start

    short, total = block(5), block(n)
    marginal = (total - short) / (n - 5)  # seconds per example, the per-run overhead taken out

    ref = ReferenceEngine(c, np.random.default_rng(1))
    ref.train_batch(x[:1], y[:1], 0.01, rng)
    start = time.perf_counter()
    for k in range(n):
        ref.train_batch(x[k : k + 1], y[k : k + 1], 0.01, rng)
    ref_total = time.perf_counter() - start
    out = {
        "network": f"784-{hidden}-10 {c.network.hidden}, {neurons} neurons, FA, one example per step",
        "target": target,
        "examples": n,
        "brian_examples_per_s": n / total,
        "brian_ms_per_example": 1e3 * total / n,
        "marginal_ms_per_example": 1e3 * marginal,
        "per_run_overhead_s": short - 5 * marginal,
        "reference_examples_per_s": n / ref_total,
        "brian_over_reference_time": total / ref_total,
    }
    if not split:
        return out

    # where the time goes: a second block under Brian2's profiler, the kernels timed on their own
    m = max(n // 4, 1)
    clock = PlasticityClock(engine)
    run = brian.network.run
    brian.network.run = functools.partial(run, profile=True)
    brian.train_batch(x[:m], y[:m], 0.01, rng)
    brian.network.run = run
    profile = {name: float(t) for name, t in brian.network.profiling_info if not name.startswith("networkoperation")}
    simulation = sum(profile.values())
    sim_ms, plasticity_ms = 1e3 * simulation / m, 1e3 * clock.seconds / m
    out.update(
        simulation_ms_per_example=sim_ms,  # each code object's time, its Python call included
        plasticity_ms_per_example=plasticity_ms,
        python_overhead_ms_per_example=out["brian_ms_per_example"] - sim_ms - plasticity_ms,
        simulation_share_by_object={
            name: round(t / simulation, 3) for name, t in sorted(profile.items(), key=lambda item: -item[1])[:6]
        },
    )
    if neurons == "lif":
        events = synaptic_events(brian, x[:m], y[:m], rng)
        out.update(synaptic_events_per_example=events, synaptic_events_per_s=events * n / total)
    return out


def width_scan(neurons: str, x: np.ndarray, y: np.ndarray, target: str, widths: list[int]) -> dict:
    """Time per example (the per-run overhead taken out) as the hidden width grows, and the exponent of
    a power-law fit."""
    rows = {w: measure(neurons, x, y, target, w, split=False) for w in widths}
    ms = np.array([rows[w]["marginal_ms_per_example"] for w in widths])
    ref_ms = np.array([1e3 / rows[w]["reference_examples_per_s"] for w in widths])
    out = {f"ms_per_example_hidden_{w}": float(t) for w, t in zip(widths, ms)}
    out.update({f"reference_ms_per_example_hidden_{w}": float(t) for w, t in zip(widths, ref_ms)})
    out["exponent"] = float(np.polyfit(np.log(widths), np.log(ms), 1)[0])
    out["reference_exponent"] = float(np.polyfit(np.log(widths), np.log(ref_ms), 1)[0])
    return out


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--neurons", nargs="+", default=["rate", "lif"], choices=["rate", "lif"])
    p.add_argument("--examples", type=int, default=2000, help="rate circuit")
    p.add_argument("--lif-examples", type=int, default=300)
    p.add_argument("--widths", type=int, nargs="*", default=[100, 250, 500, 1000, 2000], help="none: no scan")
    p.add_argument("--target", default="cython", choices=["cython", "numpy"])
    p.add_argument("--data-dir", help="MNIST folder (default: $SPIKEFA_DATA, else ../shared/data/mnist)")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON (default benchmarks/results)")
    args = p.parse_args(argv)
    results = {}
    for neurons in args.neurons:
        n = args.examples if neurons == "rate" else args.lif_examples
        x, y = mnist(n, args.data_dir)
        results[neurons] = measure(neurons, x, y, args.target)
        if args.widths:
            k = max(n // 4, 25)
            results[f"{neurons}_width_scan"] = width_scan(neurons, x[:k], y[:k], args.target, args.widths)
    report(results, "brian_speed", args.out)
    return results


if __name__ == "__main__":
    main()
