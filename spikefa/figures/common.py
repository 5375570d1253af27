"""What every figure uses: a runner with a cache of run folders, the house style, mean ± s.d. curves."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .. import spec
from ..errors import DivergenceError
from ..runs import Run, load_run, read_summary
from ..training import run_circuit

WIDTH = 3.4  # inches: one journal column
STYLE = {
    "font.size": 7,
    "axes.titlesize": 7,
    "axes.labelsize": 7,
    "legend.fontsize": 6,
    "xtick.labelsize": 6,
    "ytick.labelsize": 6,
    "lines.linewidth": 1.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "savefig.dpi": 300,
}
LABELS = {
    "shallow": "shallow",
    "backprop": "BP",
    "feedback_alignment": "FA",
    "direct_feedback_alignment": "DFA",
    "sign_symmetry": "SS",
    "weight_mirror": "WM",
    "kolen_pollack": "KP",
    "local_classifiers": "local",
}


class Runner:
    """Runs circuit files for figures. A run's folder is named by the circuit, seed and a hash of its
    resolved config, so an unchanged circuit file and seed reuse the finished folder; ``quick`` applies
    each figure's small configuration (seconds; for previews and tests). The run folders get no figure of
    their own (``spikefa plot FOLDER`` draws one)."""

    def __init__(
        self,
        runs: str | Path = "runs/figures",
        circuits: str | Path = "circuits",
        data_dir: str | None = None,
        quick: bool = False,
        progress: bool = True,
    ):
        self.runs, self.circuits = Path(runs), Path(circuits)
        self.data_dir, self.quick, self.progress = data_dir, quick, progress

    def circuit(self, file: str, overrides: list[str] = (), quick: list[str] = (), seed: int | None = None):
        """The validated circuit ``circuits/FILE.yaml`` with ``overrides`` (and ``quick`` ones in quick mode)."""
        changes = list(overrides) + (list(quick) if self.quick else []) + ([f"seed={seed}"] if seed else [])
        return spec.load_circuit(self.circuits / f"{file}.yaml", changes)

    def run(self, file: str, overrides: list[str] = (), quick: list[str] = (), seed: int | None = None) -> Run:
        """The finished run of a circuit file (run now, or reused from its folder); :class:`DivergenceError`
        if it diverged (now, or when it was run)."""
        circuit = self.circuit(file, overrides, quick, seed)
        config = yaml.safe_dump(circuit.to_dict(), sort_keys=False).encode()
        out = self.runs / f"{circuit.name}-seed{circuit.seed}-{hashlib.sha1(config).hexdigest()[:10]}"
        if out.is_dir() and (ended := read_summary(out)).get("status") == "diverged":
            raise DivergenceError(ended.get("error", "diverged"))  # deterministic: it would diverge again
        folder = run_circuit(
            circuit, out, data_dir=self.data_dir, progress=self.progress, source=f"{file}.yaml", figure=False
        )
        return load_run(folder.path)

    def seeds(self, full: int, quick: int = 2) -> range:
        return range(1, 1 + (quick if self.quick else full))


def figure(rows: int, cols: int = 1, height: float = 1.6, width: float = WIDTH, **kwargs) -> tuple[Figure, np.ndarray]:
    """A single-column figure of rows × cols panels (drawn in the house style by :func:`make_figure`)."""
    fig = Figure(figsize=(width, height * rows), layout="constrained")
    return fig, fig.subplots(rows, cols, squeeze=False, **kwargs)


def epochs_axis(*axes: Axes) -> None:
    """Whole-number ticks for an axis of epochs."""
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def save(fig: Figure, stem: Path) -> list[Path]:
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    for path in paths:  # the PDF without a creation date: a redrawn figure is the same file
        fig.savefig(path, metadata={"CreationDate": None} if path.suffix == ".pdf" else None)
    return paths


def mean_sd(
    ax: Axes, runs: list[Run], y: str, x: str = "examples", scale: float = 1.0, rows=None, log=False, **style
) -> tuple[np.ndarray, np.ndarray]:
    """Plot the mean ± s.d. over runs of metric ``y`` against ``x`` (rows selected by ``rows(metrics)``;
    ``log``: geometric mean ×÷ geometric s.d., on a log axis); returns (x, mean)."""
    tables = [r.metrics[rows(r.metrics)] if rows else r.metrics for r in runs]
    n = min(len(t) for t in tables)
    values = np.array([scale * t[y].to_numpy()[:n] for t in tables])
    xs = tables[0][x].to_numpy()[:n]
    values = np.log10(values) if log else values
    mean, sd = values.mean(0), values.std(0)
    low, high = mean - sd, mean + sd
    if log:
        mean, low, high = 10**mean, 10**low, 10**high
        ax.set_yscale("log")
    (line,) = ax.plot(xs, mean, **style)
    if len(runs) > 1:
        ax.fill_between(xs, low, high, color=line.get_color(), alpha=0.25, lw=0)
    return xs, mean


def final(runs: list[Run], y: str, scale: float = 1.0) -> tuple[float, float]:
    """Mean and s.d. over runs of the last recorded value of metric ``y``."""
    values = np.array([scale * r.metrics[y].iloc[-1] for r in runs])
    return float(values.mean()), float(values.std())


def learning_rows(m: pd.DataFrame) -> pd.DataFrame:
    """The learn phase's rows, starting from the state it started from (the row before it, if any),
    numbered by data epoch from 0."""
    learn = np.flatnonzero(m["kind"].to_numpy() == "learn")
    rows = m.iloc[max(learn[0] - 1, 0) : learn[-1] + 1]
    return rows.assign(epoch=np.arange(len(rows)))
