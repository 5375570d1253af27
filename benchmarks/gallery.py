"""The gallery of hypotheses on every target: each circuit of ``circuits/hypotheses/`` (and the FA
baseline it is compared with) run as the command line runs it, on cython with the generated schedule
(``plasticity: code``) and compiled (``cpp_standalone``), one process each, one after another.

    python -m benchmarks.gallery [--epochs 1] [--seed 1] [--circuits NAME ...]

Per circuit and target: the final test accuracy, B₁ against W₁ᵀ (``angle_B1``), the effective feedback
into layer 1 through every route against backprop's (``angle_E1``, :mod:`spikefa.routes`), ΔW₀ against
backprop's (``angle_dW0``), the run's seconds and examples/s, and whether the compiled run gave the
cython run's numbers (every metrics row's test accuracy and training loss to 1e-9). Every run starts
with an empty spikefa cache, so a compiled run's seconds include its compile. A circuit a target
refuses is listed with its one-line reason. Writes ``benchmarks/results/gallery.md``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from benchmarks import ROOT, run_cli, write_markdown

CIRCUITS = [
    "brian_digits_lif_fa",
    *sorted(f"hypotheses/{p.stem}" for p in (ROOT / "circuits" / "hypotheses").glob("*.yaml")),
]
TARGETS = {
    "cython": ["brian.target=cython", "brian.plasticity=code"],
    "cpp_standalone": ["brian.target=cpp_standalone"],
}


def run(circuit: str, target: str, epochs: int, seed: int, out: Path) -> dict:
    """One run in a process of its own, with an empty cache; its last metrics row and summary, or the
    line it was refused with."""
    sets = [*TARGETS[target], f"phases.0.learn.epochs={epochs}", f"seed={seed}"]
    with tempfile.TemporaryDirectory() as cache:
        done = run_cli(circuit, sets, out, cache)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.startswith("spikefa")]
        return {"refused": lines[-1] if lines else done.stderr.strip().splitlines()[-1]}
    import spikefa

    r = spikefa.load_run(out)
    learned = r.metrics[r.metrics["kind"] == "learn"]
    return {"metrics": r.metrics, "last": learned.iloc[-1], "seconds": r.summary["seconds"]}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--circuits", nargs="+", default=CIRCUITS)
    args = p.parse_args(argv)
    folder = ROOT / "runs" / "benchmarks" / "gallery"
    rows = [
        f"Gallery × targets: digits 64-100-10 LIF, {args.epochs} epoch(s), seed {args.seed}, "
        "each run with an empty cache (compile included).\n",
        "| circuit | target | test acc % | angle_B1 | angle_E1 | angle_dW0 | s | examples/s | same as cython |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for circuit in args.circuits:
        results = {}
        for target in TARGETS:
            out = folder / f"{circuit.replace('/', '-')}-{target}"
            results[target] = res = run(circuit, target, args.epochs, args.seed, out)
            if "refused" in res:
                rows.append(f"| {circuit} | {target} | refused: {res['refused']} | | | | | | |")
                continue
            last, m = res["last"], res["metrics"]
            same = ""
            if target != "cython" and "metrics" in results["cython"]:
                a, b = results["cython"]["metrics"], m
                same = (
                    "yes"
                    if all(
                        np.allclose(a[c], b[c], rtol=1e-9, atol=1e-12, equal_nan=True)
                        for c in ("test_acc", "train_loss")
                    )
                    else "no"
                )
            cells = [f"{100 * last['test_acc']:.2f}"] + [
                f"{last[k]:.1f}" if k in last and np.isfinite(last[k]) else "–"
                for k in ("angle_B1", "angle_E1", "angle_dW0")
            ]
            rate = last["examples"] / res["seconds"]
            rows.append(f"| {circuit} | {target} | {' | '.join(cells)} | {res['seconds']:.0f} | {rate:.0f} | {same} |")
            print(rows[-1], flush=True)
    write_markdown("\n".join(rows) + "\n", "gallery")


if __name__ == "__main__":
    main()
