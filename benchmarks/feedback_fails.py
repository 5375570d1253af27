"""Where feedback alignment fails, as tables: every rule's final test accuracy and first-layer update
angle to backprop, with each rule's learning rate chosen by the same search (see
:mod:`spikefa.figures.fails`), on MNIST through a 5-unit bottleneck (784-5-10) and four hidden layers
of 30 (784-30-30-30-30-10), and FA after noise pretraining (Cheon et al. 2024).

    python -m benchmarks.feedback_fails [--tasks mnist digits mnist1d] [--quick]

The runs are the figure's (``runs/figures/``, reused when finished): ``--tasks digits mnist1d`` prints
the tables behind ``spikefa figure feedback-fails``. Writes ``benchmarks/results/feedback_fails.md``.
"""

from __future__ import annotations

import argparse

import pandas as pd

from benchmarks import write_markdown
from benchmarks.rules_table import ROOT
from spikefa.figures.common import LABELS, Runner
from spikefa.figures.fails import FILES, NOISE, table

SHAPES = {"mnist": [(5, 1), (30, 4)]}  # (width, depth); the figure's tasks: its own sweeps
NAMES = {**LABELS, NOISE: "FA + noise"}


def markdown(results: pd.DataFrame, task: str) -> str:
    """One row per network, one column per rule: accuracy ± s.d. [learning rate]; angle to backprop; then
    every layer's update angle to backprop (the rules after backprop, which comes first)."""
    d = results[results["task"] == task]
    rules = list(dict.fromkeys(d["rule"]))
    n_in = {"digits": 64, "mnist1d": 40, "mnist": 784}[task]
    lines = [
        f"{task}: final test accuracy % (mean ± s.d. over {int(d['seeds'].max())} seeds) [chosen learning "
        "rate]; angle of ΔW₀ to backprop's (°)",
        "",
        "| network | " + " | ".join(NAMES[r] for r in rules) + " |",
        "|---|" + "---|" * len(rules),
    ]
    layers = [
        "",
        f"{task}: every layer's update angle to backprop's, ΔW₀/ΔW₁/… (°, mean over seeds)",
        "",
        "| network | " + " | ".join(NAMES[r] for r in rules[1:]) + " |",
        "|---|" + "---|" * (len(rules) - 1),
    ]
    for (width, depth), g in d.groupby(["width", "depth"], sort=False):
        network = "-".join(map(str, [n_in, *[width] * depth, 10]))
        rows = [g[g["rule"] == rule].iloc[0] for rule in rules]
        cells = []
        for rule, r in zip(rules, rows):
            if not r["seeds"]:
                cells.append(f"diverged on every seed [{r['lr']:g}]")
                continue
            angle = "" if rule == "backprop" else f"; {r['angle_dW0']:.0f}°"
            diverged = f" ({int(r['diverged'])} diverged)" if r["diverged"] else ""
            cells.append(f"{r['test_acc']:.2f} ± {r['test_acc_sd']:.2f} [{r['lr']:g}]{angle}{diverged}")
        lines.append(f"| {network} | " + " | ".join(cells) + " |")
        layers.append(f"| {network} | " + " | ".join(r["angles_dW"] for r in rows[1:]) + " |")
    lines += layers
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> pd.DataFrame:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", nargs="+", choices=list(FILES), default=["mnist"])
    p.add_argument("--quick", action="store_true", help="small configurations: a check that it runs")
    p.add_argument("--data-dir", help="folder with the MNIST IDX files (else SPIKEFA_DATA, else task.data_dir)")
    p.add_argument("--runs", default=str(ROOT / "runs" / "figures"), help="run folders, shared with the figure")
    args = p.parse_args(argv)
    runner = Runner(args.runs, ROOT / "circuits", args.data_dir, args.quick, progress=False)
    results = pd.concat([table(runner, (task,), SHAPES.get(task)) for task in args.tasks], ignore_index=True)
    text = "\n".join(markdown(results, task) for task in args.tasks)
    write_markdown(text, "feedback_fails", args.quick)
    return results


if __name__ == "__main__":
    main()
