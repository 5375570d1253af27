"""Bundled circuit files as they stand, one run: how fast each learns, against the first.

    python -m benchmarks.circuit_files [CIRCUIT ...] [--examples 500] [--busy N] [--data-dir DIR]

Default: ``mnist_lif_fa`` (learning once per example) and ``mnist_lif_fa_online`` (learning on spike
events), the two MNIST LIF circuits whose accuracies figures/REPRODUCTION.md reports, each with its own
example length, learning rate and target. Where ``benchmarks.targets`` compares the learning modes on one
circuit, this compares the files a user runs: the cost of one training example of each, and so the cost of
each one's accuracy.

Each file in a process of its own (Brian2's standalone device is global), one after another: a first block
of the first N MNIST training images (compilation included: ``first_block_s``), then the timed block, the
same images again; examples/s = N / timed seconds. ``simulated_ms_per_example``: the example's length in
simulated time. Ratios are against the first file, measured in the same run. ``--busy N``: the same with N
CPU-bound competitor processes running throughout. Writes ``benchmarks/results/circuit_files.json``
(``circuit_files_busy.json`` with ``--busy``).
"""

from __future__ import annotations

import functools
import time

import numpy as np

from benchmarks import answered_one, competing, in_fresh_process, report, row_parser
from benchmarks.brian_speed import mnist


def one(name: str, n: int, data_dir: str | None) -> dict:
    """Train on the first ``n`` MNIST images twice with the circuit file ``name``; time the second."""
    from spikefa import load_circuit
    from spikefa.brian import Circuit
    from spikefa.reference import ReferenceEngine
    from spikefa.spec import seconds

    c = load_circuit(name)
    x, y = mnist(n, data_dir)
    engine = ReferenceEngine(c, np.random.default_rng(c.seed))
    brian = Circuit.for_engine(engine)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    brian.train_batch(x, y, c.optimizer.lr, rng)
    first = time.perf_counter() - start
    start = time.perf_counter()
    brian.train_batch(x, y, c.optimizer.lr, rng)
    total = time.perf_counter() - start
    return {
        "examples_per_s": n / total,
        "first_block_s": first,
        "simulated_ms_per_example": 1e3 * (seconds(c.brian.forward_time) + seconds(c.brian.error_time)),
        "learning": c.brian.learning,
        "target": c.brian.target,
    }


measured = functools.partial(in_fresh_process, "benchmarks.circuit_files")  # one row, in a process of its own


def main(argv: list[str] | None = None) -> dict:
    p = row_parser(__doc__)
    p.add_argument("circuits", nargs="*", default=["mnist_lif_fa", "mnist_lif_fa_online"], help="circuit files")
    p.add_argument("--examples", type=int, default=500, help="MNIST training images per block")
    args = p.parse_args(argv)
    if answered_one(args, one):
        return {}
    with competing(args.busy):
        rows = {name: measured(name, args.examples, args.data_dir) for name in args.circuits}
    first = rows[args.circuits[0]]["examples_per_s"]
    results = {name: {**r, f"/ {args.circuits[0]}": r["examples_per_s"] / first} for name, r in rows.items()}
    report(results, "circuit_files_busy" if args.busy else "circuit_files", args.out)
    return results


if __name__ == "__main__":
    main()
