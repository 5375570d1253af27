"""Every rule on one task: final test accuracy and output-layer B–Wᵀ angle, against backprop.

    python -m benchmarks.rules_table mnist [--seeds 1 2] [--rules backprop ...] [--set KEY=VALUE]
    python -m benchmarks.rules_table digits

Runs ``circuits/<task>_<rule>.yaml`` (reusing finished run folders under ``runs/benchmarks/``), prints a
Markdown table and writes it as JSON to ``benchmarks/results/<task>_rules.json`` (with ``--set``, the
overrides in the name). For MNIST the reference
column is the 20-epoch point of Akrout et al.'s own logged runs (ANCHORS.md); BP is the baseline
measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path

from spikefa import load_circuit, load_run, run_circuit

ROOT = Path(__file__).resolve().parents[1]
SUFFIX = {
    "backprop": "backprop",
    "feedback_alignment": "fa",
    "direct_feedback_alignment": "dfa",
    "sign_symmetry": "sign_symmetry",
    "weight_mirror": "weight_mirror",
    "kolen_pollack": "kolen_pollack",
    "local_classifiers": "local_classifiers",
}
AUTHORS_20_EPOCHS = {
    "backprop": 96.2,
    "feedback_alignment": 92.3,
    "weight_mirror": 92.6,
    "kolen_pollack": 97.0,
}  # logs, epoch 20


def mean_sd(values: list[float]) -> tuple[float, float]:
    """Mean and sample s.d. (0 for one value; NaN where a value is NaN, e.g. an angle a rule lacks)."""
    if any(math.isnan(v) for v in values):
        return float("nan"), float("nan")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def show(mean: float, sd: float, digits: int) -> str:
    return "–" if math.isnan(mean) else f"{mean:.{digits}f} ± {sd:.{digits}f}"


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("task", choices=["mnist", "digits"])
    p.add_argument("--rules", nargs="+", choices=list(SUFFIX), help="default: every rule with a circuit file")
    p.add_argument("--seeds", nargs="+", type=int, default=[1])
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override for every circuit")
    p.add_argument("--out", default=str(ROOT / "runs" / "benchmarks"))
    args = p.parse_args(argv)
    files = {
        r: f"{args.task}_{s}" for r, s in SUFFIX.items() if (ROOT / "circuits" / f"{args.task}_{s}.yaml").is_file()
    }
    tag = "-".join(s.replace("=", "_").replace("/", "_").replace(" ", "") for s in args.set)
    rows = {}
    for rule in args.rules or list(files):
        accs, angles, seconds, losses, norms = [], [], [], [], []
        for seed in args.seeds:
            circuit = load_circuit(ROOT / "circuits" / f"{files[rule]}.yaml", [*args.set, f"seed={seed}"])
            folder = Path(args.out) / f"{files[rule]}{'-' + tag if tag else ''}-seed{seed}"
            run = load_run(run_circuit(circuit, folder, source=files[rule]).path)
            final = run.summary["final"]
            accs.append(100 * final["test_acc"])
            angles.append(final.get("angle_B1", float("nan")))
            seconds.append(run.summary["seconds"])
            losses.append(final["test_loss"])
            norms.append((final["norm_W0"], final["norm_W1"]))
            print(f"{rule} seed {seed}: {accs[-1]:.2f} %, angle {angles[-1]:.1f}°, {seconds[-1]:.0f} s", flush=True)
        rows[rule] = {
            "test_acc": mean_sd(accs),
            "angle_B1": mean_sd(angles),
            "test_loss": mean_sd(losses),
            "norm_W": [statistics.fmean(n[k] for n in norms) for k in (0, 1)],
            "seconds": statistics.fmean(seconds),
            "seeds": args.seeds,
            "circuit": f"circuits/{files[rule]}.yaml",
        }
    bp = rows.get("backprop", {}).get("test_acc", (float("nan"),))[0]
    published = AUTHORS_20_EPOCHS if args.task == "mnist" else {}
    print(
        "\n| rule | test accuracy % | vs BP (points) | output-layer angle B–Wᵀ (°) | test loss | ‖W₀‖ / ‖W₁‖ "
        "| Akrout et al. logs, epoch 20 | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for rule, r in rows.items():
        (acc, acc_sd), (ang, ang_sd) = r["test_acc"], r["angle_B1"]
        print(
            f"| {rule} | {show(acc, acc_sd, 2)} | {acc - bp:+.2f} | {show(ang, ang_sd, 1)} | "
            f"{show(*r['test_loss'], 3)} | {r['norm_W'][0]:.1f} / {r['norm_W'][1]:.1f} | "
            f"{published.get(rule, '–')} | {r['seconds']:.0f} |"
        )
    out = ROOT / "benchmarks" / "results" / f"{args.task}_rules{'-' + tag if tag else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"overrides": args.set, "rows": rows}, indent=2) + "\n")
    print(f"\nwritten: {out}")
    return rows


if __name__ == "__main__":
    main()
