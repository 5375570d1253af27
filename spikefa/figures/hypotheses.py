"""The gallery of hypotheses (``circuits/hypotheses/``), each written only as a circuit file (and, for
the user's rule, a module under ``examples/``), against plain feedback alignment in the same spiking
circuit: test accuracy and the alignment of the feedback B₁ with W₁ᵀ over training (digits, LIF)."""

from __future__ import annotations

from matplotlib.figure import Figure

from ..plots import RULE_COLORS
from .common import Runner, epochs_axis, figure, learning_rows

BASELINE = "brian_digits_lif_fa"
HYPOTHESES = {  # file in circuits/ → label, colour
    BASELINE: ("FA (baseline)", RULE_COLORS["feedback_alignment"]),
    "hypotheses/alif_hidden": ("adapting hidden neurons (alif)", "#ff7f0e"),
    "hypotheses/sparse_delayed_feedback": ("20 % feedback synapses, 3 ms late", "#2ca02c"),
    "hypotheses/lognormal_excitatory_feedback": ("excitatory log-normal feedback", "#d62728"),
    "hypotheses/relay_error_population": ("relay of error neurons", "#9467bd"),
    "hypotheses/user_rule": ("anti-Hebbian feedback (user's rule)", "#8c564b"),
}
QUICK = [
    "phases.0.learn.epochs=1",
    "task.n_train=100",
    "task.n_test=40",
    "optimizer.batch_size=100",
    "brian.target=numpy",
]  # quick: nothing to compile


def hypotheses(runner: Runner) -> Figure:
    fig, axes = figure(2, height=1.6)
    accuracy, angles = axes[:, 0]
    for file, (label, color) in HYPOTHESES.items():
        m = learning_rows(runner.run(file, quick=QUICK).metrics)
        style = {"color": color, "label": label, "lw": 1.6 if file == BASELINE else 1.0}
        accuracy.plot(m["epoch"], 100 * m["test_acc"], **style)
        if "angle_B1" in m:
            angles.plot(m["epoch"], m["angle_B1"], **style)
    accuracy.set_ylim(70, 96)  # epoch 0 (chance, ≈ 10 %) is off the bottom
    accuracy.set_ylabel("test accuracy (%)")
    accuracy.set_title("digits 64-100-10, LIF circuit, seed 1")
    accuracy.legend(loc="lower right", fontsize=5)
    angles.set_ylabel("B₁ (through the relay: B₁R)\nvs W₁ᵀ (°)")
    angles.set_xlabel("epoch")
    angles.set_ylim(0, 100)
    epochs_axis(accuracy, angles)
    return fig
