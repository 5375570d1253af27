"""Akrout et al. 2019: the weight mirror's B–Wᵀ angle against mirror-phase duration (rate and LIF
circuits) and noise amplitude, and Kolen–Pollack's ‖W − Bᵀ‖ against the predicted (1 − λ)ᵗ."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ..plots import RULE_COLORS, plain_log
from .common import Runner, figure

# (circuit, mirror steps, steps between points): each circuit file's own mirror phase (LIF: the spiking
# mirror through spikes by the covariance rule, 937 steps of 64 ms, 60 s)
NEURONS = {"rate": ("brian_digits_weight_mirror", 200, 10), "LIF": ("brian_digits_lif_mirror", 937, 39)}
SIGMAS = (0.03, 0.1, 0.3, 1.0, 3.0)
NOISE_RATES = (10, 25, 50, 100, 200)
KP_DECAY = 0.005


def mirror_only(steps: int, every: int) -> list[str]:
    return [f"phases=[{{mirror: {{steps: {steps}}}}}]", f"record.every={every}"]


def mirror_angles(runner: Runner, file: str, steps: int, every: int | None, extra: list[str] = ()) -> tuple:
    """(mirror steps, B₁–W₁ᵀ angle) of a mirror phase of ``steps`` steps from a random start, recorded
    every ``every`` steps (None: at the start and the end only)."""
    if runner.quick:  # a few steps, enough to draw
        steps, every = max(steps // 160, 4), 1 if every else None
    every = every or steps
    quick = ["task.n_test=10", "brian.target=numpy"]  # (quick: only the angles are drawn)
    m = runner.run(file, mirror_only(steps, every) + list(extra), quick).metrics
    return np.arange(len(m)) * every, m["angle_B1"].to_numpy()


def weight_mirror(runner: Runner) -> Figure:
    fig, axes = figure(2, 2, height=1.55, width=3.4)
    (duration, kp), (sigma, rate) = axes
    for (label, (file, steps, every)), ls in zip(NEURONS.items(), ("-", "--")):
        x, angle = mirror_angles(runner, file, steps, every)
        duration.plot(x, angle, color=RULE_COLORS["weight_mirror"], ls=ls, label=label)
    duration.set_xlabel("mirror steps (128 samples; LIF: 64 ms)")
    duration.set_ylabel("B₁ vs W₁ᵀ (°)")
    duration.set_title("mirror phase, digits 64-100-10")
    duration.legend()
    for ax, neurons, values, key, label, ls in (
        (sigma, "rate", SIGMAS, "rule.mirror.noise_std={}", "noise s.d. σ (rate)", "o-"),
        (rate, "LIF", NOISE_RATES, "brian.lif.noise_rate={} Hz", "noise rate (Hz, LIF)", "o--"),
    ):
        file, steps, _ = NEURONS[neurons]
        values = values[::2] if runner.quick else values  # the ends and the middle, enough to draw
        ends = [mirror_angles(runner, file, steps, None, [key.format(v)]) for v in values]
        ax.plot(values, [angle[-1] for _, angle in ends], ls, color=RULE_COLORS["weight_mirror"], ms=3)
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel(f"angle after {ends[0][0][-1]} steps (°)")
    for ax in (sigma, rate):
        ax.set_ylim(0, 95)
    overrides = [f"optimizer.weight_decay={KP_DECAY}", "phases.0.learn.epochs=10", "record.every=24"]
    m = runner.run("digits_kolen_pollack", overrides, ["phases.0.learn.epochs=1", "record.every=6"]).metrics
    kp.semilogy(m["step"], m["dist_B1"], color=RULE_COLORS["kolen_pollack"], label="measured")
    kp.semilogy(m["step"], m["dist_B1"].iloc[0] * (1 - KP_DECAY) ** m["step"], "k:", label="(1 − λ)ᵗ")
    kp.set_xlabel("learning steps")
    kp.set_ylabel("‖W₁ − B₁ᵀ‖")
    kp.set_title(f"Kolen–Pollack, λ = {KP_DECAY}")
    kp.legend()
    plain_log(kp)
    return fig
