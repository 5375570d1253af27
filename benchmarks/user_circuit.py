"""A user's circuit against the built-in one, compiled, at MNIST scale: ``circuits/mnist_lif_pool_code_rule``
(an interneuron pool of 30 LIF neurons, and W learning by a three-factor rule written in the circuit
file as Brian2 code, with an eligibility trace per synapse; and the same pool with a rule that keeps no
state per synapse, FA's update with soft bounds) against ``circuits/mnist_lif_fa`` (built-in FA),
784-500-10 LIF, cpp_standalone.

    python -m benchmarks.user_circuit [--examples 4000] [--rounds 2]

Each circuit is first run on 200 examples to compile its project into an empty cache of its own (the
compile is reported, not counted); then, alternating the two circuits ``--rounds`` times, one epoch of
``--examples`` training examples and 1000 test examples, each in a process of its own with the
project from the cache. Reported: seconds and examples/s per run (the run's own time: learning and
test read-outs), the best of the rounds, and the user circuit's examples/s as a fraction of the
built-in's. Writes ``benchmarks/results/user_circuit.md``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from benchmarks import ROOT, run_cli, write_markdown

SOFT_BOUND = (
    'forward.plasticity={each_example: "w = w - eta * error_post * rate_pre * (1 - (w / w_max)**2)", '
    "constants: {w_max: 1.0}}"
)
CIRCUITS = {  # name → (circuit file, --set changes)
    "built-in FA": ("circuits/mnist_lif_fa.yaml", []),
    "user: pool + three-factor rule": ("circuits/mnist_lif_pool_code_rule.yaml", []),
    # the same pool, W by a rule that keeps no state per synapse: FA's update with soft bounds
    "user: pool + soft-bound rule": ("circuits/mnist_lif_pool_code_rule.yaml", [SOFT_BOUND]),
}


def run(circuit: str, changes: list[str], examples: int, tests: int, cache: str, out: Path) -> tuple[float, float]:
    """One epoch of ``examples`` in a process of its own: (its own seconds, wall seconds)."""
    sets = [
        *changes,
        f"task.n_train={examples}",
        f"task.n_test={tests}",
        "phases.0.learn.epochs=1",
        "optimizer.schedule=constant",
    ]
    start = time.perf_counter()
    done = run_cli(circuit, sets, out, cache)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{circuit}: {done.stderr.strip().splitlines()[-1]}")
    import spikefa

    return spikefa.load_run(out).summary["seconds"], wall


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--examples", type=int, default=4000)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args(argv)
    folder = ROOT / "runs" / "benchmarks" / "user_circuit"
    caches = {name: tempfile.mkdtemp(prefix="spikefa-bench-cache-") for name in CIRCUITS}
    rows = [
        f"MNIST 784-500-10 LIF, cpp_standalone, {args.examples} training + 1000 test examples per run, "
        f"{os.cpu_count()} cores.\n",
        "| circuit | compile run s (200 examples) | round | s | examples/s |",
        "|---|---|---|---|---|",
    ]
    compile_s = {}
    for k, (name, (circuit, changes)) in enumerate(CIRCUITS.items()):
        compile_s[name] = run(circuit, changes, 200, 200, caches[name], folder / f"{k}-compile")[1]
    best = {}
    for k in range(args.rounds):
        for j, (name, (circuit, changes)) in enumerate(CIRCUITS.items()):
            seconds, _ = run(circuit, changes, args.examples, 1000, caches[name], folder / f"{j}-{k}")
            rate = args.examples / seconds
            best[name] = max(best.get(name, 0.0), rate)
            rows.append(f"| {name} | {compile_s[name]:.0f} | {k + 1} | {seconds:.1f} | {rate:.0f} |")
            print(rows[-1], flush=True)
    builtin = best["built-in FA"]
    rows.append(f"\nBest of {args.rounds} rounds, examples/s as a fraction of the built-in's ({builtin:.0f}):")
    rows += [f"- {name}: {rate:.0f}, {rate / builtin:.2f}" for name, rate in best.items() if name != "built-in FA"]
    write_markdown("\n".join(rows) + "\n", "user_circuit")


if __name__ == "__main__":
    main()
