"""Learning curves on MNIST against Akrout et al. 2019's logged runs: their setup, and spikefa's tuned circuits.

    python -m benchmarks.curves [--seeds 1 2 3] [--rules backprop ...] [--jobs 2]

Runs, per seed, ``circuits/akrout_mnist_<rule>.yaml`` (their setup: 784-500-10 sigmoid with binary
cross-entropy, their init, learning rates, data order and weight mirror) and ``circuits/mnist_<rule>.yaml``
(spikefa's tuned circuits, the rules table's; their run folders are shared with
:mod:`benchmarks.rules_table`), 20 epochs each, reusing finished run folders under ``runs/benchmarks/``.
Prints per rule the test accuracy after epochs 1, 10 and 20, the output-layer (B_1) and first-layer (B_0,
their setup only) B–Wᵀ angles and the test loss after epoch 20, mean ± s.d. over the seeds, beside the
authors' logged values, and writes the table as JSON to ``benchmarks/results/curves.json``.
"""

from __future__ import annotations

import argparse
import json
import math
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from benchmarks.rules_table import ROOT, SUFFIX, mean_sd, show
from spikefa import load_circuit, load_run, run_circuit

EPOCHS = (1, 10, 20)
RULES = ("backprop", "feedback_alignment", "weight_mirror", "kolen_pollack")
# Akrout et al. 2019, github.com/makrout/Deep-Learning-without-Weight-Transport, experiments/mnist/*-V0
# (seed 1111): test accuracy % after epochs 1, 10 and 20 (their "Epoch 0, 9, 19"), and the B–Wᵀ angles
# (degrees) after epoch 20 of the output layer (their layer_1) and the first layer (layer_0). Their
# backprop logs no angles.
AUTHORS = {
    "backprop": {"acc": (88.0, 94.12, 96.23), "angle_B1": None, "angle_B0": None},
    "feedback_alignment": {"acc": (85.49, 90.86, 92.25), "angle_B1": 31.2, "angle_B0": 89.8},
    "weight_mirror": {"acc": (78.48, 90.49, 92.62), "angle_B1": 18.7, "angle_B0": 63.3},
    "kolen_pollack": {"acc": (88.9, 95.41, 97.0), "angle_B1": 8.7, "angle_B0": 38.0},
}


def run_one(name: str, seed: int, out: str) -> str:
    """Run (or reuse) one circuit file at one seed; returns its run folder."""
    circuit = load_circuit(ROOT / "circuits" / f"{name}.yaml", [f"seed={seed}"])
    return str(run_circuit(circuit, Path(out) / f"{name}-seed{seed}", source=name, progress=False).path)


def curve(folder: str) -> dict:
    """Test accuracy (%) after each epoch of ``EPOCHS`` of the learn phase, and the epoch-20 angles and loss."""
    m = load_run(folder).metrics
    learn = m[m["kind"] == "learn"]
    at = {e: learn[learn["epoch"] == e].iloc[-1] for e in EPOCHS}
    last = at[EPOCHS[-1]]
    return {
        "acc": [100 * float(at[e]["test_acc"]) for e in EPOCHS],
        "angle_B1": float(last.get("angle_B1", math.nan)),
        "angle_B0": float(last.get("angle_B0", math.nan)),
        "test_loss": float(last["test_loss"]),
        "norm_W0": float(last["norm_W0"]),
        "norm_W1": float(last["norm_W1"]),
    }


def summarise(curves: list[dict]) -> dict:
    out = {"acc": [mean_sd([c["acc"][k] for c in curves]) for k in range(len(EPOCHS))]}
    for key in ("angle_B1", "angle_B0", "test_loss", "norm_W0", "norm_W1"):
        out[key] = mean_sd([c[key] for c in curves])
    return out


def cell(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rules", nargs="+", choices=RULES, default=list(RULES))
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    p.add_argument("--jobs", type=int, default=2, help="runs at once, one process (and BLAS thread) each")
    p.add_argument("--out", default=str(ROOT / "runs" / "benchmarks"))
    args = p.parse_args(argv)
    setups = {"theirs": "akrout_mnist_{}", "tuned": "mnist_{}"}
    jobs = [(setup, rule, seed) for setup in setups for rule in args.rules for seed in args.seeds]
    with ProcessPoolExecutor(args.jobs) as pool:
        folders = pool.map(run_one, *zip(*[(setups[s].format(SUFFIX[r]), seed, args.out) for s, r, seed in jobs]))
        found: dict[tuple[str, str], list[dict]] = {}
        for (setup, rule, seed), folder in zip(jobs, folders):
            found.setdefault((setup, rule), []).append(curve(folder))
            print(f"{setup} {rule} seed {seed}: {found[setup, rule][-1]['acc']}", flush=True)
    rows = {f"{setup}/{rule}": summarise(c) for (setup, rule), c in found.items()}
    print(
        "\n| rule | setup | test acc. % epoch 1 | epoch 10 | epoch 20 | B₁–W₁ᵀ (°) | B₀–W₀ᵀ (°) | test loss "
        "| ‖W₀‖ / ‖W₁‖ |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for rule in args.rules:
        a = AUTHORS[rule]
        print(
            f"| {rule} | Akrout et al. logs | {' | '.join(f'{v:.2f}' for v in a['acc'])} | "
            f"{cell(a['angle_B1'])} | {cell(a['angle_B0'])} | | |"
        )
        for setup, label in (("theirs", "their setup, spikefa"), ("tuned", "tuned circuit, spikefa")):
            r = rows.get(f"{setup}/{rule}")
            if r is None:
                continue
            accs = " | ".join(show(*r["acc"][k], 2) for k in range(len(EPOCHS)))
            norms = f"{r['norm_W0'][0]:.0f} / {r['norm_W1'][0]:.0f}"
            print(
                f"| {rule} | {label} | {accs} | {show(*r['angle_B1'], 1)} | {show(*r['angle_B0'], 1)} | "
                f"{show(*r['test_loss'], 3)} | {norms} |"
            )
    out = ROOT / "benchmarks" / "results" / "curves.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({"seeds": args.seeds, "epochs": EPOCHS, "authors": AUTHORS, "rows": rows}, indent=2) + "\n"
    )
    print(f"\nwritten: {out}")
    return rows


if __name__ == "__main__":
    main()
