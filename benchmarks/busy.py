"""Speed on a busy machine: an MNIST-sized FA epoch of the reference engine alone, and again while a
CPU-bound competitor process runs, on spikefa's default thread count and on more.

    python -m benchmarks.busy [--examples 60000] [--threads 1 2] [--competitors 1]

Each measurement is a fresh process (``--child``) that sizes its BLAS pool through
:mod:`spikefa.threads`, as ``spikefa run --threads N`` does, and reports the epoch's wall time and the
CPU time it used (a pool that busy-waits shows as CPU time far above wall time × threads). The
competitor is a Python busy loop per ``--competitors``. The figure of merit is busy / alone for the
default (1 thread): the issue's target is ≤ 2.5 on 2 cores. Writes ``benchmarks/results/busy.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

from benchmarks import RESULTS, competing

ROOT = Path(__file__).resolve().parents[1]


def child(threads: int, examples: int) -> dict:
    """One FA epoch (784-1000-10, batch 128) on ``threads`` BLAS threads, in this process."""
    import numpy as np

    from benchmarks.performance import circuit, data, epoch_seconds
    from spikefa.reference import ReferenceEngine
    from spikefa.threads import limited

    x, y = data(examples, "float64")
    engine = ReferenceEngine(circuit(1000, "float64"), np.random.default_rng(0))
    with limited(threads):
        before = resource.getrusage(resource.RUSAGE_SELF)
        seconds = epoch_seconds(engine, x, y)
        after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"seconds": seconds, "cpu_seconds": cpu}


def measure(threads: int, examples: int, competitors: int) -> dict:
    """The child's epoch with ``competitors`` busy loops running beside it."""
    with competing(competitors):
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.busy", "--child", str(threads), "--examples", str(examples)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--examples", type=int, default=60000)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--competitors", type=int, default=1)
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.child, args.examples)))
        return {}
    results = {}
    print(f"FA epoch, {args.examples} examples, {os.cpu_count()} cores, {args.competitors} competitor(s)")
    print("| threads | alone s | busy s | busy / alone | CPU s alone | CPU s busy |\n|---|---|---|---|---|---|")
    for n in args.threads:
        alone = measure(n, args.examples, 0)
        busy = measure(n, args.examples, args.competitors)
        ratio = busy["seconds"] / alone["seconds"]
        results[f"threads_{n}"] = {"alone": alone, "busy": busy, "busy_over_alone": ratio}
        print(
            f"| {n} | {alone['seconds']:.2f} | {busy['seconds']:.2f} | {ratio:.2f} | "
            f"{alone['cpu_seconds']:.2f} | {busy['cpu_seconds']:.2f} |",
            flush=True,
        )
    results["setup"] = {"examples": args.examples, "competitors": args.competitors, "cores": os.cpu_count()}
    path = args.out / "busy.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written: {path}")
    return results


if __name__ == "__main__":
    main()
