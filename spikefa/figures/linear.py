"""Lillicrap et al. 2016, Figs. 2 and 3: shallow learning, backprop and feedback alignment learning a
teacher network; the angle between FA's and backprop's hidden updates."""

from __future__ import annotations

from matplotlib.figure import Figure

from ..plots import RULE_COLORS
from .common import LABELS, Runner, figure, mean_sd

RULES = ("shallow", "backprop", "feedback_alignment")


def teacher_figure(runner: Runner, file: str, title: str) -> Figure:
    quick = ["phases.0.learn.epochs=1", "task.n_train=2000", "record.every=20"]
    seeds = runner.seeds(20)
    fig, axes = figure(2, height=1.5)
    top, bottom = axes[:, 0]
    fa_runs = []
    for rule in RULES:
        runs = [runner.run(file, [f"rule={rule}"], quick, seed) for seed in seeds]
        fa_runs = runs if rule == "feedback_alignment" else fa_runs
        mean_sd(top, runs, "test_nse", log=True, color=RULE_COLORS[rule], label=LABELS[rule])
    top.set_ylabel("normalised squared error")
    top.set_title(f"{title}, {len(seeds)} seeds")
    top.legend(loc="best")
    hidden = sorted(c for c in fa_runs[0].metrics.columns if c.startswith("angle_dW"))
    for i, column in enumerate(hidden):
        mean_sd(
            bottom, fa_runs, column, color=RULE_COLORS["feedback_alignment"], alpha=1 - 0.35 * i, label=f"W{column[-1]}"
        )
    bottom.axhline(90, color="0.6", ls=":", lw=0.8)
    bottom.set_ylim(0, 100)
    bottom.set_ylabel("FA vs BP update (°)")
    bottom.set_xlabel("training examples")
    if len(hidden) > 1:
        bottom.legend(loc="upper right", title="hidden weights")
    return fig


def feedback_alignment_linear(runner: Runner) -> Figure:
    """Lillicrap et al. 2016, Fig. 2a–b: the 30-20-10 linear network and its linear teacher."""
    return teacher_figure(runner, "lillicrap_linear", "linear teacher, 30-20-10")


def nonlinear_teacher(runner: Runner) -> Figure:
    """Lillicrap et al. 2016, Fig. 3: the 30-20-10-10 tanh network and its tanh teacher."""
    return teacher_figure(runner, "lillicrap_nonlinear", "tanh teacher, 30-20-10-10")
