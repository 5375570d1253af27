"""Figures that reproduce each seed paper's key result: ``spikefa figure NAME`` / ``--all``.

Each figure is a function of a :class:`~spikefa.figures.common.Runner`, which runs the circuit files it
needs (or reuses their finished run folders) and draws a single-column matplotlib figure, saved as
``figures/NAME.png`` and ``.pdf``. Captions are in ``figures/README.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from matplotlib.figure import Figure

from .common import STYLE, Runner, plt, save
from .hypotheses import hypotheses
from .linear import feedback_alignment_linear, nonlinear_teacher
from .local import local_classifiers
from .mirror import weight_mirror
from .mnist import mnist_rules
from .noise import noise_pretraining
from .spiking import spiking_circuit

FIGURES: dict[str, Callable[[Runner], Figure]] = {
    "feedback-alignment-linear": feedback_alignment_linear,
    "nonlinear-teacher": nonlinear_teacher,
    "mnist-rules": mnist_rules,
    "weight-mirror": weight_mirror,
    "noise-pretraining": noise_pretraining,
    "local-classifiers": local_classifiers,
    "spiking-circuit": spiking_circuit,
    "hypotheses": hypotheses,
}


def make_figure(name: str, runner: Runner, out: str | Path = "figures") -> list[Path]:
    """Run what figure ``name`` needs and write ``out/NAME.png`` and ``.pdf``; returns their paths."""
    with plt.rc_context(STYLE):
        return save(FIGURES[name](runner), Path(out) / name)


__all__ = ["FIGURES", "Runner", "make_figure"]
