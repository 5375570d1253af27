"""Every speed benchmark in one run, and the table of the performance targets.

    python -m benchmarks [--quick]

Runs :mod:`benchmarks.performance` (reference engine against the BLAS bound and PyTorch, weight-mirror
cost, width scan) and :mod:`benchmarks.brian_speed` (Brian2 rate and LIF circuits, width scans), each
writing its own JSON, then prints one table of the measures the targets are about and writes it to
``benchmarks/results/summary.json``. ``--quick`` runs fewer examples (a check that everything runs; its
numbers are noisier) and writes to ``benchmarks/results/quick/`` instead.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

import brian2
import numba
import numpy as np

from benchmarks import RESULTS, brian_speed, performance


def targets(perf: dict, brian: dict) -> dict[str, dict]:
    """measure → {value, target, met} for each target of the performance issue."""
    rows = {}
    for dtype, r in perf.items():
        rows[f"reference FA epoch / BLAS bound ({dtype})"] = (
            r["epoch_over_blas_bound"],
            "≤ 1.3",
            r["epoch_over_blas_bound"] <= 1.3,
        )
        if r["torch_over_ours"] is not None:
            rows[f"PyTorch epoch / ours ({dtype})"] = (r["torch_over_ours"], "≥ 1.5", r["torch_over_ours"] >= 1.5)
        share = r["mirror_binary_share_of_epoch"]
        rows[f"weight mirror (binary noise) share of an epoch ({dtype})"] = (share, "≤ 0.15", share <= 0.15)
        rows[f"reference width exponent 250 → 4000 ({dtype})"] = (r["scaling"]["fitted_exponent"], "", None)
    for neurons, goal in (("rate", 1000), ("lif", 100)):
        if neurons in brian:
            speed = brian[neurons]["brian_examples_per_s"]
            rows[f"Brian2 {neurons} 784-500-10 examples/s"] = (speed, f"≥ {goal}", speed >= goal)
        if f"{neurons}_width_scan" in brian:
            rows[f"Brian2 {neurons} width exponent 100 → 2000"] = (brian[f"{neurons}_width_scan"]["exponent"], "", None)
    return {k: {"value": v, "target": t, "met": m} for k, (v, t, m) in rows.items()}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer examples: a check that everything runs")
    args = p.parse_args(argv)
    out = RESULTS / "quick" if args.quick else RESULTS  # quick numbers never replace full ones
    where = ["--out", str(out)]
    perf = performance.main(where + (["--examples", "6400", "--scale-examples", "2000"] if args.quick else []))
    brian = brian_speed.main(where + (["--examples", "400", "--lif-examples", "60"] if args.quick else []))
    table = targets(perf, brian)
    print("\n| measure | value | target | met |\n|---|---|---|---|")
    for name, row in table.items():
        met = "" if row["met"] is None else ("yes" if row["met"] else "no")
        print(f"| {name} | {row['value']:.3g} | {row['target']} | {met} |")
    summary = {"machine": machine(), "targets": table}
    path = out / "summary.json"
    path.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\n{summary['machine']}\nwritten: {path}")
    return summary


def machine() -> dict:
    """What the numbers were measured on."""
    cpu = next((line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")), "")
    return {
        "cpu": cpu or platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "brian2": brian2.__version__,
    }


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


if __name__ == "__main__":
    main()
