"""The learning-rule interface shared by both engines.

A rule says three things: the *topology* of its feedback pathway (which error reaches hidden layer
l, through which matrix B_l), how B starts, and how W and B change beyond the common error-driven
update. Shapes follow the papers: W_l is (n_{l+1}, n_l); B_l is the feedback into layer l
(l = 1 … L−1), shaped like W_lᵀ for layer-by-layer feedback and (n_l, n_L) for feedback from the
output error (DFA) or from a local classifier. ``B[0]`` is always ``None``: no error is sent to the
input layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from .. import spec
from ..kernels import Gradient


@dataclass
class Params:
    """Everything that learns, plus optimiser state; one list entry per forward projection."""

    W: list[np.ndarray]
    b: list[np.ndarray]
    B: list[np.ndarray | None]
    vW: list[np.ndarray] = field(default_factory=list)
    vb: list[np.ndarray] = field(default_factory=list)
    vB: list[np.ndarray | None] = field(default_factory=list)
    B0: list[np.ndarray | None] = field(default_factory=list)  # fixed magnitudes (sign symmetry)

    def __post_init__(self):
        self.vW = self.vW or [np.zeros_like(w) for w in self.W]
        self.vb = self.vb or [np.zeros_like(b) for b in self.b]
        self.vB = self.vB or [None if b is None else np.zeros_like(b) for b in self.B]
        self.B0 = self.B0 or [None for _ in self.B]

    def arrays(self, groups: tuple[str, ...] = ("W", "b", "B", "vW", "vb", "vB", "B0")) -> dict[str, np.ndarray]:
        """Flat name → array mapping for ``.npz`` files (``W0``, ``b0``, ``B1``, ``vW0`` ...)."""
        out = {}
        for group in groups:
            for l, a in enumerate(getattr(self, group)):
                if a is not None:
                    out[f"{group}{l}"] = a
        return out

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Copy saved arrays into this object's arrays, in place (same names as :meth:`arrays`)."""
        for name, a in self.arrays().items():
            a[...] = arrays[name]


def draw(
    init: spec.Init, shape: tuple[int, int], fan: tuple[int, int], rng: np.random.Generator, dtype: np.dtype
) -> np.ndarray:
    """Initial weights: Glorot-uniform over ``fan`` = (fan_in, fan_out), or ``init.dist``/``init.scale``."""
    if init.dist == "xavier":
        limit = np.sqrt(6.0 / sum(fan)) * (init.scale or 1.0)
        w = rng.uniform(-limit, limit, shape)
    elif init.dist == "uniform":
        w = rng.uniform(-init.scale, init.scale, shape)
    else:
        w = rng.normal(0.0, init.scale, shape)
    return np.ascontiguousarray(w, dtype=dtype)


class Rule:
    """Base class. Subclasses set ``name`` and ``topology`` and override the hooks they need."""

    name: ClassVar[str]
    topology: ClassVar[str]  # "layerwise" | "direct" | "local" | "none"
    learns_feedback: ClassVar[bool] = False
    transports_weights: ClassVar[bool] = False

    def __init__(self, rule: spec.Rule, optimizer: spec.Optimizer):
        self.spec = rule
        self.optimizer = optimizer

    def feedback_shape(self, sizes: tuple[int, ...], l: int) -> tuple[int, int]:
        """Shape of B_l: rows index layer l's units, columns the error source's units."""
        source = sizes[l + 1] if self.topology == "layerwise" else sizes[-1]
        return sizes[l], source

    def init_feedback(
        self, sizes: tuple[int, ...], W: list[np.ndarray], rng: np.random.Generator, dtype: np.dtype
    ) -> tuple[list, list]:
        """(B, B0): the initial feedback matrices and any fixed data the rule keeps about them."""
        B: list[np.ndarray | None] = [None]
        for l in range(1, len(sizes) - 1):
            shape = self.feedback_shape(sizes, l)
            B.append(draw(self.spec.feedback_init, shape, (shape[1], shape[0]), rng, dtype))
        return B, [None] * len(B)

    def feedback(self, l: int, params: Params) -> np.ndarray:
        """The matrix that carries the error into hidden layer l."""
        return params.B[l]

    def after_step(self, params: Params, gW: list[Gradient], lr: float, decay: float, rng: np.random.Generator) -> None:
        """Called after every W update, with the gradients, learning rate and decay that drove it.
        (The weight mirror's interleaved mirror steps are the trainer's: they run on the engine's own
        activity, simulated or not.)"""
