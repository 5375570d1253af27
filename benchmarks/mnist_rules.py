"""MNIST 784-500-10, every rule, 20 epochs: final test accuracy and output-layer B–Wᵀ angle.

    python -m benchmarks.mnist_rules [--seeds 1 2] [--rules backprop feedback_alignment ...] [--set KEY=VALUE]

Runs ``circuits/mnist_<rule>.yaml`` (reusing finished run folders under ``runs/benchmarks/``), prints a
Markdown table and writes it as JSON to ``benchmarks/results/mnist_rules.json``. The reference column is
the 20-epoch point of Akrout et al.'s own logged runs (ANCHORS.md); BP is the baseline of the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from spikefa import load_circuit, load_run, run_circuit

ROOT = Path(__file__).resolve().parents[1]
FILES = {
    "backprop": "mnist_backprop",
    "feedback_alignment": "mnist_fa",
    "direct_feedback_alignment": "mnist_dfa",
    "sign_symmetry": "mnist_sign_symmetry",
    "weight_mirror": "mnist_weight_mirror",
    "kolen_pollack": "mnist_kolen_pollack",
}
AUTHORS_20_EPOCHS = {"backprop": 96.2, "feedback_alignment": 92.3}  # Akrout et al. 2019 logs, epoch 20


def mean_sd(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rules", nargs="+", default=list(FILES), choices=list(FILES))
    p.add_argument("--seeds", nargs="+", type=int, default=[1])
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override for every circuit")
    p.add_argument("--out", default=str(ROOT / "runs" / "benchmarks"))
    args = p.parse_args(argv)
    rows = {}
    for rule in args.rules:
        accs, angles, seconds = [], [], []
        for seed in args.seeds:
            circuit = load_circuit(ROOT / "circuits" / f"{FILES[rule]}.yaml", [*args.set, f"seed={seed}"])
            tag = "-".join(s.replace("=", "_").replace("/", "_") for s in args.set)
            folder = Path(args.out) / f"{FILES[rule]}{'-' + tag if tag else ''}-seed{seed}"
            run = load_run(run_circuit(circuit, folder, source=FILES[rule]).path)
            final = run.summary["final"]
            accs.append(100 * final["test_acc"])
            angles.append(final.get("angle_B1", float("nan")))
            seconds.append(run.summary["seconds"])
            print(f"{rule} seed {seed}: {accs[-1]:.2f} %, angle {angles[-1]:.1f}°, {seconds[-1]:.0f} s", flush=True)
        rows[rule] = {
            "test_acc": mean_sd(accs),
            "angle_B1": mean_sd(angles),
            "seconds": statistics.fmean(seconds),
            "seeds": args.seeds,
            "circuit": f"circuits/{FILES[rule]}.yaml",
        }
    bp = rows.get("backprop", {}).get("test_acc", (float("nan"),))[0]
    print(
        "\n| rule | test accuracy % | vs BP (points) | output-layer angle B–Wᵀ (°) | Akrout et al. logs, epoch 20 "
        "| seconds |"
    )
    print("|---|---|---|---|---|---|")
    for rule, r in rows.items():
        (acc, acc_sd), (ang, ang_sd) = r["test_acc"], r["angle_B1"]
        print(
            f"| {rule} | {acc:.2f} ± {acc_sd:.2f} | {acc - bp:+.2f} | {ang:.1f} ± {ang_sd:.1f} | "
            f"{AUTHORS_20_EPOCHS.get(rule, '–')} | {r['seconds']:.0f} |"
        )
    out = ROOT / "benchmarks" / "results" / "mnist_rules.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"overrides": args.set, "rows": rows}, indent=2) + "\n")
    print(f"\nwritten: {out}")
    return rows


if __name__ == "__main__":
    main()
