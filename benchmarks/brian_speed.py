"""Brian2 circuit speed: examples per second of the rate and LIF circuits for 784-500-10 on MNIST-sized
input, and where the time per example goes (simulation vs plasticity), against the reference engine in
the same process.

    python -m benchmarks.brian_speed [--neurons rate lif] [--examples 2000] [--lif-examples 300]

Input: random MNIST-sized vectors (784 values in [0, 1]); the rule is FA, one example per learning step
in every engine, so the ratio compares like with like. The LIF circuit runs its default schedule
(40 ms forward + 20 ms error per example at dt = 0.5 ms). Writes ``benchmarks/results/brian_speed.json``.
"""

from __future__ import annotations

import argparse
import functools
import time

import numpy as np

from benchmarks import report
from spikefa import circuit_from_dict
from spikefa.brian import Circuit
from spikefa.reference import ReferenceEngine


def circuit(neurons: str, target: str):
    return circuit_from_dict(
        {
            "name": "speed",
            "seed": 0,
            "engine": "brian2",
            "brian": {"neurons": neurons, "target": target},
            "network": {"sizes": [784, 500, 10], "hidden": "tanh" if neurons == "rate" else "relu"},
            "task": "mnist",
            "rule": "feedback_alignment",
            "optimizer": {"lr": 0.01},
        }
    )


def measure(neurons: str, n: int, target: str) -> dict:
    c = circuit(neurons, target)
    rng = np.random.default_rng(0)
    x = rng.random((n, 784))
    y = np.eye(10)[rng.integers(0, 10, n)]
    engine = ReferenceEngine(c, np.random.default_rng(1))
    brian = Circuit.for_engine(engine)
    brian.train_batch(x[:20], y[:20], 0.01, rng)  # compile and warm up
    learn_seconds = [0.0]
    learn = engine.learn

    def timed_learn(*a):
        start = time.perf_counter()
        learn(*a)
        learn_seconds[0] += time.perf_counter() - start

    engine.learn = timed_learn
    start = time.perf_counter()
    brian.train_batch(x, y, 0.01, rng)
    total = time.perf_counter() - start

    # where the simulation time goes: Brian2's own profile of one more block
    run = brian.network.run
    brian.network.run = functools.partial(run, profile=True)
    brian.train_batch(x[: n // 4], y[: n // 4], 0.01, rng)
    brian.network.run = run
    profile = sorted(brian.network.profiling_info, key=lambda item: -float(item[1]))
    sim = sum(float(t) for _, t in profile)
    top = {name: round(float(t) / sim, 3) for name, t in profile[:6]}

    ref = ReferenceEngine(c, np.random.default_rng(1))
    start = time.perf_counter()
    for k in range(n):
        ref.train_batch(x[k : k + 1], y[k : k + 1], 0.01, rng)
    ref_total = time.perf_counter() - start
    return {
        "network": f"784-500-10 {c.network.hidden}, {neurons} neurons, FA, one example per step",
        "target": target,
        "examples": n,
        "brian_examples_per_s": n / total,
        "brian_ms_per_example": 1e3 * total / n,
        "plasticity_ms_per_example": 1e3 * learn_seconds[0] / n,
        "simulation_and_overhead_ms_per_example": 1e3 * (total - learn_seconds[0]) / n,
        "reference_examples_per_s": n / ref_total,
        "brian_over_reference_time": total / ref_total,
        "simulation_share_by_object": top,
    }


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--neurons", nargs="+", default=["rate", "lif"], choices=["rate", "lif"])
    p.add_argument("--examples", type=int, default=2000, help="rate circuit")
    p.add_argument("--lif-examples", type=int, default=300)
    p.add_argument("--target", default="cython", choices=["cython", "numpy"])
    args = p.parse_args(argv)
    results = {}
    for neurons in args.neurons:
        n = args.examples if neurons == "rate" else args.lif_examples
        results[neurons] = measure(neurons, n, args.target)
    report(results, "brian_speed")
    return results


if __name__ == "__main__":
    main()
