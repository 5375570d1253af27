"""Where feedback alignment fails (Akrout et al. 2019's claim that FA "performs poorly on hard tasks" and
that learned feedback rescues it): final test accuracy against hidden width and depth for every rule, on
the digits and on MNIST-1D, with the angle of each rule's first-layer update to backprop's; and, on
MNIST-1D, FA after Cheon et al. 2024's noise pretraining, where that paper claims it matters.

Every rule gets the same search: the learning rates in ``LRS``, each trained once (seed 1) with a fifth
of the training set held out (``task.validation``), the best final validation accuracy chosen (a rate at
which the run diverges is out); then three seeds at that rate on the test set. The table behind the
figure is written beside it (``.csv``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from .. import spec
from ..errors import DivergenceError
from ..plots import RULE_COLORS
from .common import LABELS, Runner, figure

FILES = {"digits": "feedback_fails_digits", "mnist1d": "feedback_fails_mnist1d", "mnist": "feedback_fails_mnist"}
TITLES = {"digits": "digits (8×8)", "mnist1d": "MNIST-1D"}  # the figure's tasks (MNIST: a table, benchmarks)
RULES = tuple(r for r in spec.RULES if r != "shallow")  # every built-in rule with a hidden layer to teach
WIDTHS = (5, 10, 30, 100)  # one hidden layer of this many units
DEPTHS = (1, 2, 4, 6)  # this many hidden layers of DEPTH_WIDTH units
DEPTH_WIDTH = 30
LRS = (0.01, 0.03, 0.1)  # every rule's search
VALIDATION = 0.2
# FA after Cheon et al. 2024's noise pretraining (10 epochs of 32,000 N(0, 1) inputs with random labels),
# where the inputs are standardised, as the paper's MNIST is
NOISE = "feedback_alignment+noise"
NOISE_TASKS = ("mnist1d", "mnist")
NOISE_PHASE = "{noise_pretrain: {epochs: 10, samples_per_epoch: 32000, noise_std: 1.0}}"
QUICK = ["phases.0.learn.epochs=2", "task.n_train=300", "task.n_test=100"]
QUICK_NOISE = ["phases.0.noise_pretrain={epochs: 1, samples_per_epoch: 300}", "phases.1.learn.epochs=2"] + QUICK[1:]
QUICK_SHAPES = {"width": (5,), "depth": (2,)}  # and one learning rate (no search), one seed


def _shapes(quick: bool) -> list[tuple[str, int, int]]:
    """(sweep, width, depth) of every network, each shape once (width 30 at depth 1 is in both sweeps)."""
    widths = QUICK_SHAPES["width"] if quick else WIDTHS
    depths = QUICK_SHAPES["depth"] if quick else DEPTHS
    shapes = [("width", w, 1) for w in widths]
    return shapes + [("depth", DEPTH_WIDTH, d) for d in depths if (DEPTH_WIDTH, d) not in [(w, 1) for w in widths]]


def _final(runner: Runner, file: str, overrides: list[str], quick: list[str], seed: int | None = None):
    """A finished run's metrics, or None if it diverged (a learning rate too high for that rule)."""
    try:
        return runner.run(file, overrides, quick, seed).metrics
    except DivergenceError:
        return None


def table(
    runner: Runner, tasks: tuple[str, ...] = tuple(TITLES), shapes: list[tuple[int, int]] | None = None
) -> pd.DataFrame:
    """One row per task × network × rule: the chosen learning rate, its validation accuracy, and the test
    accuracy (%) and first-layer update angle to backprop (°) over the seeds (mean, s.d.), and every
    layer's update angle to backprop and B–Wᵀ angle (``angles_dW``: the weights into each hidden layer,
    the output layer's update being backprop's for every rule; ``angles_B``: means). ``shapes``:
    (width, depth) of the hidden layers; by default the figure's width and depth sweeps."""
    rows = []
    lrs = LRS[-1:] if runner.quick else LRS
    for task in tasks:
        file = FILES[task]
        given = runner.circuit(file).network.sizes
        n_in, n_out = given[0], given[-1]
        epochs = runner.circuit(file).phases[0].epochs
        variants = [(rule, [f"rule={rule}"], QUICK) for rule in RULES]
        if task in NOISE_TASKS:
            noise = f"phases=[{NOISE_PHASE}, {{learn: {{epochs: {epochs}}}}}]"
            variants.append((NOISE, ["rule=feedback_alignment", noise], QUICK_NOISE))
        for width, depth in shapes or [(w, d) for _, w, d in _shapes(runner.quick)]:
            sizes = [n_in, *[width] * depth, n_out]
            for rule, changes, quick in variants:
                base = [f"network.sizes={sizes}", *changes]
                held = [f"task.validation={VALIDATION}"]
                scores = {lr: _final(runner, file, base + held + [f"optimizer.lr={lr}"], quick) for lr in lrs}
                lr = max(lrs, key=lambda v: -1.0 if scores[v] is None else scores[v]["test_acc"].iloc[-1])
                seeds = runner.seeds(3, 1)
                runs = [_final(runner, file, base + [f"optimizer.lr={lr}"], quick, s) for s in seeds]
                runs = [r for r in runs if r is not None]
                acc = np.array([100 * r["test_acc"].iloc[-1] for r in runs])
                angle = np.array([r["angle_dW0"].iloc[-1] for r in runs])
                rows.append(
                    dict(
                        task=task,
                        width=width,
                        depth=depth,
                        rule=rule,
                        lr=lr,
                        validation_acc=100 * scores[lr]["test_acc"].iloc[-1] if scores[lr] is not None else np.nan,
                        test_acc=acc.mean() if len(acc) else np.nan,  # nan: every seed diverged
                        test_acc_sd=acc.std(ddof=1) if len(acc) > 1 else 0.0,
                        angle_dW0=angle.mean() if len(angle) else np.nan,
                        angle_dW0_sd=angle.std(ddof=1) if len(angle) > 1 else 0.0,
                        seeds=len(runs),
                        diverged=len(seeds) - len(runs),
                        angles_dW=_per_layer(runs, "angle_dW", range(depth)),
                        angles_B=_per_layer(runs, "angle_B", range(1, depth + 1)),
                    )
                )
    return pd.DataFrame(rows)


def _per_layer(runs: list[pd.DataFrame], prefix: str, layers: range) -> str:
    """Each layer's final angle (°, mean over the runs), "/"-separated ("–" where the rule has none)."""
    columns = [f"{prefix}{l}" for l in layers]
    if not runs or any(c not in runs[0] for c in columns):
        return "–"
    return "/".join(f"{np.mean([r[c].iloc[-1] for r in runs]):.0f}" for c in columns)


def feedback_fails(runner: Runner) -> tuple[Figure, pd.DataFrame]:
    results = table(runner)
    fig, axes = figure(3, 2, height=1.45, width=2 * 3.4)
    sweeps = (("width", "hidden units (one layer)", lambda r: r["depth"] == 1, "width"),)
    sweeps += (("depth", f"hidden layers of {DEPTH_WIDTH}", lambda r: r["width"] == DEPTH_WIDTH, "depth"),)
    panels = [(task, "test_acc", TITLES[task] + "\nfinal test accuracy (%)") for task in TITLES]
    panels.append(("mnist1d", "angle_dW0", "MNIST-1D\nΔW₀ vs backprop's ΔW₀ (°)"))
    for col, (_, xlabel, select, x) in enumerate(sweeps):
        for row, (task, y, ylabel) in enumerate(panels):
            ax = axes[row, col]
            for rule in (*RULES, NOISE):
                r = results[(results["task"] == task) & (results["rule"] == rule)]
                if r.empty or (y == "angle_dW0" and rule == "backprop"):
                    continue  # backprop's angle: 0° by definition
                r = r[select(r)].sort_values(x)
                noise = rule == NOISE
                ax.errorbar(
                    r[x],
                    r[y],
                    yerr=r[y + "_sd"],
                    color=RULE_COLORS["feedback_alignment" if noise else rule],
                    ls="--" if noise else "-",
                    marker="s" if noise else "o",
                    ms=2.5,
                    capsize=1.5,
                    label="FA + noise pretraining" if noise else LABELS[rule],
                    zorder=1 if rule == "direct_feedback_alignment" else 2,  # one hidden layer: DFA is FA
                )
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel if col == 0 else "")
            if x == "width":
                ax.set_xscale("log")
                ax.xaxis.set_minor_locator(NullLocator())
            ticks = sorted(results[select(results)][x].unique())
            ax.set_xticks(ticks, [str(v) for v in ticks])
    seeds = int(results["seeds"].max())
    axes[0, 0].set_title(f"one hidden layer, width varied ({seeds} seed{'s' * (seeds > 1)}, mean ± s.d.)")
    axes[0, 1].set_title(f"{DEPTH_WIDTH} units per layer, depth varied")
    handles, labels = axes[1, 1].get_legend_handles_labels()  # MNIST-1D's panel has every variant
    fig.legend(handles, labels, loc="outside upper center", ncol=len(labels))
    return fig, results
