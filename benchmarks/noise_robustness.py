"""Noise pretraining and robustness out of distribution: FA on MNIST, tested on shifted, rotated and zoomed digits.

    python -m benchmarks.noise_robustness [--seeds 1 2 3] [--quick] [--data-dir DIR]

Cheon, Lee & Paik (NeurIPS 2024) report that pretraining a feedback-alignment network on random noise
(noise inputs, random labels) before it sees data makes it more robust out of distribution. This trains
``circuits/cheon_noise_pretrain.yaml`` (MNIST 784-500-10 relu, FA: noise pretraining, then 20 data epochs)
as written and from scratch (its learn phase alone, same epochs), per seed, through the figure runner: the
run folders under ``runs/figures/`` are those of ``spikefa figure noise-pretraining`` and are reused when
finished. Each run's final weights are then tested on the MNIST test set and on copies of it (scipy.ndimage,
linear interpolation, zeros outside, applied to the [0, 1] images before the task's standardisation):
shifted 2 and 4 pixels in a uniformly random direction per image, rotated by 15° and 30° with a random sign
per image, and zoomed 0.8 and 1.2 about the centre (padded or cropped back to 28×28); the random draws come
from fixed seeds, the same for every run. Prints a Markdown table (mean ± s.d. over seeds; the difference is
pretrained − scratch, paired by seed) and writes it to ``benchmarks/results/noise_robustness.md``.
``--quick`` uses the figure's small configuration (600 training, 300 test images, 2 seeds by default) and
writes to ``benchmarks/results/quick/`` instead.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable

import numpy as np
from scipy import ndimage

from benchmarks import write_markdown
from benchmarks.rules_table import ROOT, mean_sd, show
from spikefa.figures.common import Runner
from spikefa.figures.noise import FILE, QUICK, QUICK_SCRATCH
from spikefa.runs import Run
from spikefa.tasks import load_task, normalization
from spikefa.threads import limited

SIDE = 28
Image = np.ndarray


def shift(d: float) -> Callable[[Image, np.random.Generator], Image]:
    def f(img: Image, rng: np.random.Generator) -> Image:
        angle = rng.uniform(0, 2 * np.pi)
        return ndimage.shift(img, (d * np.sin(angle), d * np.cos(angle)), order=1, mode="constant", cval=0.0)

    return f


def rotate(degrees: float) -> Callable[[Image, np.random.Generator], Image]:
    def f(img: Image, rng: np.random.Generator) -> Image:
        signed = degrees * rng.choice((-1, 1))
        return ndimage.rotate(img, signed, reshape=False, order=1, mode="constant", cval=0.0)

    return f


def zoom(factor: float) -> Callable[[Image, np.random.Generator], Image]:
    def f(img: Image, rng: np.random.Generator) -> Image:
        z = ndimage.zoom(img, factor, order=1, mode="constant", cval=0.0)
        n = len(z)
        if n >= SIDE:  # crop the centre
            start = (n - SIDE) // 2
            return z[start : start + SIDE, start : start + SIDE]
        before = (SIDE - n) // 2  # pad with zeros around it
        return np.pad(z, (before, SIDE - n - before))

    return f


TEST_SETS: dict[str, Callable[[Image, np.random.Generator], Image] | None] = {
    "clean": None,
    "shift 2 px": shift(2),
    "shift 4 px": shift(4),
    "rotate ±15°": rotate(15),
    "rotate ±30°": rotate(30),
    "zoom 0.8": zoom(0.8),
    "zoom 1.2": zoom(1.2),
}


def test_sets(run: Run, data_dir: str | None) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Each test set (standardised as the circuit's task does it) and the test labels."""
    task = run.circuit.task
    data = load_task(dataclasses.replace(task, normalize="none"), np.random.default_rng(0), data_dir)
    assert task.normalize == "standardize" and not task.validation
    mean, std = normalization(data.x_train, task.normalize)  # as the run's own inputs were
    sets = {}
    for k, (name, transform) in enumerate(TEST_SETS.items()):
        x = data.x_test
        if transform is not None:
            rng = np.random.default_rng([2024, k])
            x = np.stack([transform(img.reshape(SIDE, SIDE), rng).ravel() for img in x])
        sets[name] = (x - mean) / std
    return sets, data.y_test.argmax(axis=1)


def accuracy(weights: dict[str, np.ndarray], x: np.ndarray, labels: np.ndarray) -> float:
    """Test accuracy (fraction) of the 784-500-10 relu network with these weights."""
    h = np.maximum(x @ weights["W0"].T + weights["b0"], 0)
    return float(np.mean((h @ weights["W1"].T + weights["b1"]).argmax(axis=1) == labels))


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", nargs="+", type=int, help="default: 1 2 3 (quick: 1 2), as the figure")
    p.add_argument("--quick", action="store_true", help="the figure's small configuration: a check that it runs")
    p.add_argument("--data-dir", help="folder with the MNIST IDX files (else SPIKEFA_DATA, else task.data_dir)")
    p.add_argument("--runs", default=str(ROOT / "runs" / "figures"), help="run folders, shared with the figure")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    seeds = args.seeds or ([1, 2] if args.quick else [1, 2, 3])
    runner = Runner(args.runs, ROOT / "circuits", args.data_dir, args.quick, progress=not args.quiet)
    # the same overrides as spikefa.figures.noise, so the run folders are the figure's
    learn = [ph for ph in runner.circuit(FILE, quick=QUICK).phases if ph.kind == "learn"]
    scratch_phases = f"phases=[{{learn: {{epochs: {learn[0].epochs}}}}}]"
    variants = {  # from scratch first in the table
        "scratch": lambda s: runner.run(FILE, [scratch_phases], QUICK_SCRATCH, s),
        "pretrained": lambda s: runner.run(FILE, quick=QUICK, seed=s),
    }
    acc: dict[str, dict[str, list[float]]] = {v: {name: [] for name in TEST_SETS} for v in variants}
    sets = labels = None
    for seed in seeds:
        for variant, run_seed in variants.items():
            run = run_seed(seed)
            if sets is None:
                sets, labels = test_sets(run, args.data_dir)
            with limited(1):  # as the run measured its test accuracy
                found = {name: accuracy(run.weights, x, labels) for name, x in sets.items()}
            logged = float(run.metrics["test_acc"].iloc[-1])
            assert abs(found["clean"] - logged) <= 1e-9, f"{run.path}: forward pass {found['clean']} ≠ {logged}"
            for name, a in found.items():
                acc[variant][name].append(100 * a)
            print(f"{variant} seed {seed}: " + ", ".join(f"{n} {100 * a:.2f}" for n, a in found.items()), flush=True)
    rows = {
        name: {
            "scratch": mean_sd(acc["scratch"][name]),
            "pretrained": mean_sd(acc["pretrained"][name]),
            "difference": mean_sd([b - a for a, b in zip(acc["scratch"][name], acc["pretrained"][name])]),
        }
        for name in TEST_SETS
    }
    table = [
        f"FA on MNIST 784-500-10 (circuits/{FILE}.yaml{', quick' if args.quick else ''}), seeds "
        f"{' '.join(map(str, seeds))}: test accuracy %, mean ± s.d. over seeds; difference = noise-pretrained − "
        "from scratch, paired by seed.",
        "",
        "| test set | from scratch % | noise-pretrained % | difference (points) |",
        "|---|---|---|---|",
        *(
            f"| {name} | {show(*r['scratch'], 2)} | {show(*r['pretrained'], 2)} | "
            f"{r['difference'][0]:+.2f} ± {r['difference'][1]:.2f} |"
            for name, r in rows.items()
        ),
    ]
    text = "\n".join(table) + "\n"
    write_markdown(text, "noise_robustness", args.quick)
    return rows


if __name__ == "__main__":
    main()
