"""Cheon, Lee & Paik 2024: feedback alignment after random-noise pretraining (noise inputs, random
labels) against FA from scratch on MNIST — W₁ aligning to B₁ᵀ during the noise phase, then test
accuracy over epochs."""

from __future__ import annotations

from matplotlib.figure import Figure

from ..plots import RULE_COLORS, plain_log
from .common import Runner, epochs_axis, figure, final, learning_rows, mean_sd

FILE = "cheon_noise_pretrain"
QUICK = [
    "phases.0.noise_pretrain={epochs: 3, samples_per_epoch: 2000}",
    "phases.1.learn.epochs=2",
    "task.n_train=600",
    "task.n_test=300",
]
QUICK_SCRATCH = ["phases.0.learn.epochs=2", "task.n_train=600", "task.n_test=300"]


def noise_pretraining(runner: Runner) -> Figure:
    seeds = runner.seeds(3)
    pretrained = [runner.run(FILE, quick=QUICK, seed=s) for s in seeds]
    learn_phases = [p for p in runner.circuit(FILE, quick=QUICK).phases if p.kind == "learn"]
    scratch_phases = f"phases=[{{learn: {{epochs: {learn_phases[0].epochs}}}}}]"
    scratch = [runner.run(FILE, [scratch_phases], QUICK_SCRATCH, s) for s in seeds]
    fig, axes = figure(2, height=1.6)
    align, err = axes[:, 0]
    mean_sd(
        align,
        pretrained,
        "angle_B1",
        x="epoch",
        rows=lambda m: m["kind"] == "noise_pretrain",
        color=RULE_COLORS["feedback_alignment"],
        marker="o",
        ms=2,
    )
    align.set_xlabel("noise epoch")
    align.set_ylabel("W₁ᵀ vs B₁ (°)")
    align.set_title(f"FA, MNIST 784-500-10 (mean ± s.d., {len(seeds)} seeds)")
    for runs, label, ls in ((pretrained, "noise-pretrained", "-"), (scratch, "from scratch", "--")):
        for r in runs:
            r.metrics = learning_rows(r.metrics).assign(test_err=lambda m: 1 - m["test_acc"])
        mean, sd = final(runs, "test_acc", 100)
        mean_sd(
            err,
            runs,
            "test_err",
            x="epoch",
            scale=100,
            log=True,
            color=RULE_COLORS["feedback_alignment"],
            ls=ls,
            label=f"{label}: {mean:.2f} ± {sd:.2f} %",
        )
    err.set_ylim(top=20)  # epoch 0 (chance) is off the top
    err.set_xlabel("data epoch")
    err.set_ylabel("test error (%)")
    err.legend(loc="upper right", title="final test accuracy")
    epochs_axis(align, err)
    plain_log(err)
    return fig
