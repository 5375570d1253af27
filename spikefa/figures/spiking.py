"""A spiking (LIF) circuit at work: rasters and population rates of the input, hidden, output and
output-error populations while it learns and while it mirrors, and its weights W₁ and B₁ᵀ before and
after (the weight mirror on the digits, 64-100-10)."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..metrics import angle
from ..model import build
from .common import WIDTH, Runner, figure

FILE = "brian_digits_lif_weight_mirror"
QUICK = [
    "phases.0.mirror.steps=5",
    "phases.1.learn.epochs=1",
    "task.n_train=300",
    "task.n_test=100",
    "brian.target=numpy",
]  # quick: nothing to compile
SHOWN = 0.18  # seconds of each activity shown
SIZES = {"input": 64, "hidden": 100, "output": 10}
ERROR_COLORS = ("#d62728", "#9467bd")  # + and − error events
POPULATIONS = (
    ("input", "layer0_spikes", "0.45"),
    ("hidden", "layer1_spikes", "#1f77b4"),
    ("output", "layer2_spikes", "k"),
)


def spiking_circuit(runner: Runner) -> Figure:
    circuit = runner.circuit(FILE, quick=QUICK)
    model = build(circuit, data_dir=runner.data_dir)  # the run's own data, starting weights and generators
    data, lif, engine, rng = model.data, model.learner, model.engine, model.generators.train
    before = engine.params.W[1].copy(), engine.params.B[1].T.copy()
    n = round(SHOWN / 0.06)
    with lif.monitoring((0, 1, 2), ("spikes",)) as learning:
        lif.present(data.x_train[:n], data.y_train[:n], circuit.optimizer.lr, rng)
    with lif.monitoring((0, 1, 2), ("spikes",)) as mirroring:
        lif.mirror(3, rng)  # 3 steps of 64 ms: the time shown
    trained = runner.run(FILE, quick=QUICK)
    after = trained.weights["W1"], trained.weights["B1"].T

    fig, axes = figure(4, 2, height=1.0, width=WIDTH, gridspec_kw={"height_ratios": [2.4, 1.1, 0.7, 0.7]})
    for col, (rec, title) in enumerate(((learning, "learning"), (mirroring, "mirror phase"))):
        raster(axes[0, col], rec, labels=col == 0)
        rates(axes[1, col], rec, legend=col == 0)
        axes[0, col].set_title(title)
        axes[1, col].set_xlabel("time (ms)")
    for ax in axes[:2, 0]:  # shade the error phases: 40–60 ms of every 60 ms example
        for start in np.arange(0.04, SHOWN, 0.06):
            ax.axvspan(1e3 * start, 1e3 * (start + 0.02), color="0.92", lw=0, zorder=0)
    axes[1, 0].set_ylabel("rate (Hz)")
    for row, (label, (W, Bt)) in enumerate((("before", before), ("after", after)), start=2):
        for col, (M, name) in enumerate(((W, "W₁"), (Bt, "B₁ᵀ"))):
            ax = axes[row, col]
            lim = np.abs(M).max()  # each matrix on its own scale: its direction is what aligns
            ax.imshow(M, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_ylabel(f"{name} {label}", fontsize=6)
        axes[row, 1].set_title(f"angle to W₁: {angle(W, Bt):.0f}°", fontsize=6, loc="right")
    return fig


def raster(ax: Axes, rec: dict, labels: bool) -> None:
    """Spikes of the input, hidden and output populations, and the output's ± error events above them."""
    offset, ticks = 0, []
    for name, key, color in POPULATIONS:
        t, i = rec[f"{key}_t"], rec[f"{key}_i"]
        keep = t < SHOWN
        ax.scatter(1e3 * t[keep], offset + i[keep], s=0.4, c=color, lw=0)
        ticks.append((offset + SIZES[name] / 2, name))
        offset += SIZES[name] + 3
    for sign, color in zip(("pos", "neg"), ERROR_COLORS):
        t, i = rec[f"layer2_err_{sign}_t"], rec[f"layer2_err_{sign}_i"]
        keep = t < SHOWN
        ax.scatter(1e3 * t[keep], offset + i[keep], s=1.5, c=color, lw=0)
    ticks.append((offset + 5, "error ±"))
    ax.set_xlim(0, 1e3 * SHOWN)
    ax.set_ylim(-2, offset + 12)
    ax.set_xticks([])
    ax.set_yticks([y for y, _ in ticks], [name for _, name in ticks] if labels else [])


def rates(ax: Axes, rec: dict, legend: bool, bin_s: float = 0.005) -> None:
    """Population rates (spikes per neuron per second) in 5 ms bins."""
    edges = np.arange(0, SHOWN + bin_s / 2, bin_s)
    for name, key, color in POPULATIONS:
        counts, _ = np.histogram(rec[f"{key}_t"], edges)
        ax.step(1e3 * edges[:-1], counts / (SIZES[name] * bin_s), where="post", color=color, label=name)
    ax.set_xlim(0, 1e3 * SHOWN)
    if legend:
        ax.legend(loc="lower left", ncol=3, fontsize=5, bbox_to_anchor=(0, 1.0), borderaxespad=0)
