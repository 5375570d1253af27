"""Akrout et al. 2019, Fig. 3 and Table 1 in spirit: every rule on MNIST 784-500-10 (reference engine),
test error over epochs and the angle between the output layer's feedback B and Wᵀ."""

from __future__ import annotations

from matplotlib.figure import Figure

from ..plots import RULE_COLORS, plain_log
from .common import LABELS, Runner, epochs_axis, figure, learning_rows

FILES = {
    "backprop": "mnist_backprop",
    "feedback_alignment": "mnist_fa",
    "direct_feedback_alignment": "mnist_dfa",
    "sign_symmetry": "mnist_sign_symmetry",
    "weight_mirror": "mnist_weight_mirror",
    "kolen_pollack": "mnist_kolen_pollack",
    "local_classifiers": "mnist_local_classifiers",
}
QUICK = ["phases.-1.learn.epochs=2", "task.n_train=600", "task.n_test=300"]


def mnist_rules(runner: Runner) -> Figure:
    fig, axes = figure(2, height=1.6)
    error, angles = axes[:, 0]
    for rule, file in FILES.items():
        m = learning_rows(runner.run(file, quick=QUICK).metrics)
        style = {
            "color": RULE_COLORS[rule],
            "label": LABELS[rule],
            "ls": "--" if rule == "direct_feedback_alignment" else "-",
        }
        error.plot(m["epoch"], 100 * (1 - m["test_acc"]), **style)
        if "angle_B1" in m:
            angles.plot(m["epoch"], m["angle_B1"], **style)
    error.set_yscale("log")
    error.set_ylim(top=20)  # epoch 0 (chance, 90 %) is off the top
    error.set_ylabel("test error (%)")
    error.set_title("MNIST 784-500-10 (local: 784-500×3-10), seed 1")
    error.legend(ncol=4, loc="upper right")
    angles.set_ylabel("B₁ vs W₁ᵀ (°)")
    angles.set_xlabel("epoch")
    angles.set_ylim(-2, 95)
    epochs_axis(error, angles)
    plain_log(error)
    return fig
