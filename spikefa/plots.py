"""Figures from run folders. One colour per rule, everywhere in the project."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .runs import FIGURE, load_run  # noqa: E402

RULE_COLORS = {
    "shallow": "#7f7f7f",
    "backprop": "#000000",
    "feedback_alignment": "#1f77b4",
    "direct_feedback_alignment": "#ff7f0e",
    "sign_symmetry": "#9467bd",
    "weight_mirror": "#2ca02c",
    "kolen_pollack": "#d62728",
    "local_classifiers": "#8c564b",
}


def plot_run(path: str | Path) -> Path:
    """Learning curves of one run — test accuracy or NSE, loss, B–Wᵀ angles, update angles against
    backprop — written to ``training.png`` in the run folder; returns its path."""
    run = load_run(path)
    m, rule = run.metrics, run.config["rule"]["name"]
    color = RULE_COLORS.get(rule, "#17becf")  # a user's rule: one colour of its own
    x = m["examples"]
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.2), constrained_layout=True)
    score = "test_acc" if "test_acc" in m else "test_nse"
    axes[0].plot(x, 100 * m[score] if score == "test_acc" else m[score], color=color)
    axes[0].set_ylabel("test accuracy (%)" if score == "test_acc" else "test NSE")
    if score == "test_nse":
        axes[0].set_yscale("log")
    axes[1].plot(x, m["train_loss"], color=color, label="train")
    axes[1].plot(x, m["test_loss"], color=color, ls="--", label="test")
    axes[1].set_ylabel("loss")
    axes[1].set_yscale("log")
    axes[1].legend(frameon=False)
    for ax, prefix, title in ((axes[2], "angle_B", "B vs Wᵀ"), (axes[3], "angle_dW", "ΔW vs backprop ΔW")):
        cols = [c for c in m.columns if c.startswith(prefix)]
        for k, c in enumerate(cols):
            ax.plot(x, m[c], color=color, alpha=1.0 - 0.6 * k / max(1, len(cols)), label=c.removeprefix("angle_"))
        ax.set_ylabel(f"angle {title} (deg)")
        ax.set_ylim(0, 90 if not cols else max(90, float(m[cols].max().max()) + 5))
        if cols:
            ax.legend(frameon=False, fontsize=8)
        else:
            ax.text(0.5, 0.5, "not defined\nfor this rule", ha="center", va="center", transform=ax.transAxes)
    for ax in axes:
        ax.set_xlabel("examples presented")
    fig.suptitle(f"{run.config['name']}: {rule}, {run.config['task']['name']}, seed {run.config['seed']}")
    out = run.path / FIGURE
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
