"""Figures that reproduce each seed paper's key result: ``spikefa figure NAME`` / ``--all``.

Each figure is a function of a :class:`~spikefa.figures.common.Runner`, which runs the circuit files it
needs (or reuses their finished run folders) and draws a single-column matplotlib figure, saved as
``figures/NAME.png`` and ``.pdf`` (and, for a figure that returns its table too, ``figures/NAME.csv``).
Captions are in ``figures/README.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib
import pandas as pd
from matplotlib.figure import Figure

from .common import STYLE, Runner, save
from .fails import feedback_fails
from .hypotheses import hypotheses
from .linear import feedback_alignment_linear, nonlinear_teacher
from .local import local_classifiers
from .mirror import weight_mirror
from .mnist import mnist_rules
from .noise import noise_pretraining
from .spiking import spiking_circuit

FIGURES: dict[str, Callable[[Runner], Figure | tuple[Figure, pd.DataFrame]]] = {
    "feedback-alignment-linear": feedback_alignment_linear,
    "nonlinear-teacher": nonlinear_teacher,
    "mnist-rules": mnist_rules,
    "weight-mirror": weight_mirror,
    "noise-pretraining": noise_pretraining,
    "local-classifiers": local_classifiers,
    "spiking-circuit": spiking_circuit,
    "hypotheses": hypotheses,
    "feedback-fails": feedback_fails,
}


def make_figure(name: str, runner: Runner, out: str | Path = "figures") -> list[Path]:
    """Run what figure ``name`` needs and write ``out/NAME.png`` and ``.pdf`` (and its table, ``.csv``);
    returns their paths."""
    with matplotlib.rc_context(STYLE):
        made = FIGURES[name](runner)
        fig, table = made if isinstance(made, tuple) else (made, None)
        paths = save(fig, Path(out) / name)
    if table is not None:
        paths.append(Path(out) / f"{name}.csv")
        table.to_csv(paths[-1], index=False, float_format="%.4g")
    return paths


__all__ = ["FIGURES", "Runner", "make_figure"]
