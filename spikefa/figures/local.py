"""Mostafa, Ramesh & Cauwenberghs 2018: fixed random local classifiers in a 3-hidden-layer network —
each hidden layer's own classifier accuracy, against FA and backprop with the same layers."""

from __future__ import annotations

from matplotlib.figure import Figure

from ..plots import RULE_COLORS, plain_log
from .common import LABELS, Runner, epochs_axis, figure

DEEP = "network.sizes=[784, 500, 500, 500, 10]"
QUICK = ["phases.0.learn.epochs=2", "task.n_train=600", "task.n_test=300"]


def local_classifiers(runner: Runner) -> Figure:
    local = runner.run("mnist_local_classifiers", quick=QUICK).metrics
    others = {
        rule: runner.run(file, [DEEP], QUICK).metrics
        for rule, file in (("feedback_alignment", "mnist_fa"), ("backprop", "mnist_backprop"))
    }
    fig, axes = figure(2, height=1.6)
    curves, bars = axes[:, 0]
    color = RULE_COLORS["local_classifiers"]
    layers = sorted(c for c in local.columns if c.startswith("local_acc"))
    for i, column in enumerate(layers):
        curves.plot(
            local["epoch"],
            100 * (1 - local[column]),
            color=color,
            alpha=0.35 + 0.2 * i,
            ls=":",
            label=f"classifier of h{column[-1]}",
        )
    curves.plot(local["epoch"], 100 * (1 - local["test_acc"]), color=color, label="local: output")
    for rule, m in others.items():
        curves.plot(m["epoch"], 100 * (1 - m["test_acc"]), color=RULE_COLORS[rule], label=f"{LABELS[rule]}: output")
    curves.set_yscale("log")
    curves.set_ylim(top=20)  # epoch 0 (chance, 90 %) is off the top
    curves.set_xlabel("epoch")
    curves.set_ylabel("test error (%)")
    curves.set_title("MNIST 784-500-500-500-10, seed 1")
    curves.legend(ncol=2, loc="upper right")
    names = [f"h{c[-1]}" for c in layers] + ["out", "FA", "BP"]
    values = [100 * local[c].iloc[-1] for c in layers] + [100 * local["test_acc"].iloc[-1]]
    values += [100 * m["test_acc"].iloc[-1] for m in others.values()]
    colors = [color] * (len(layers) + 1) + [RULE_COLORS["feedback_alignment"], RULE_COLORS["backprop"]]
    bars.bar(names, values, color=colors, alpha=0.85)
    for x, v in enumerate(values):
        bars.text(x, v, f"{v:.2f}", ha="center", va="bottom", fontsize=5.5)
    bars.set_ylim(min(values) - 2, 100)
    bars.set_ylabel("final test accuracy (%)")
    bars.set_xlabel("local: classifiers of h1–h3, output | FA, BP: output")
    epochs_axis(curves)
    plain_log(curves)
    return fig
