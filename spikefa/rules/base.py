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
from ..kernels import as_float, hebbian_step, sgd_step_transposed, sign_copy


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
    topology: ClassVar[str]  # "layerwise" | "direct" | "local"
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

    def after_step(
        self, params: Params, gW: list[np.ndarray], lr: float, decay: float, rng: np.random.Generator
    ) -> None:
        """Called after every W update, with the gradients, learning rate and decay that drove it."""


class FixedFeedback(Rule):
    """Fixed random B, layer by layer: feedback alignment (Lillicrap et al. 2016, eq. 2: δ = B e)."""

    name = "feedback_alignment"
    topology = "layerwise"


class Backprop(Rule):
    """Backpropagation: B_l = W_lᵀ, read from the forward weights. This rule transports weights."""

    name = "backprop"
    topology = "layerwise"
    transports_weights = True

    def init_feedback(self, sizes, W, rng, dtype):
        return [None] * (len(sizes) - 1), [None] * (len(sizes) - 1)

    def feedback(self, l, params):
        return params.W[l].T


class DirectFeedbackAlignment(Rule):
    """DFA (Nøkland 2016, eq. 3): δ_l = (B_l e) ⊙ f'(a_l), e the output error, B_l fixed random."""

    name = "direct_feedback_alignment"
    topology = "direct"


class LocalClassifiers(Rule):
    """Local errors (Mostafa et al. 2018): a fixed random classifier per hidden layer gives its error.

    Layer l's classifier reads z_l = B_lᵀ h_l; its own loss gives e_l, and δ_l = (B_l e_l) ⊙ f'(a_l).
    No error passes between layers; the output layer learns from the network's error."""

    name = "local_classifiers"
    topology = "local"


class SignSymmetry(Rule):
    """Sign symmetry (Liao, Leibo & Poggio 2016): B_l = sign(W_lᵀ) ⊙ |B₀|, |B₀| fixed random.
    This rule transports the *signs* of the forward weights after every update."""

    name = "sign_symmetry"
    topology = "layerwise"
    transports_weights = True

    def init_feedback(self, sizes, W, rng, dtype):
        B, _ = super().init_feedback(sizes, W, rng, dtype)
        B0 = [None if b is None else np.abs(b) for b in B]
        self._copy_signs(B, W, B0)
        return B, B0

    @staticmethod
    def _copy_signs(B, W, B0):
        for l in range(1, len(B)):
            sign_copy(B[l], W[l], B0[l])

    def after_step(self, params, gW, lr, decay, rng):
        self._copy_signs(params.B, params.W, params.B0)


class KolenPollack(Rule):
    """Kolen–Pollack (Akrout et al. 2019, eqs. 16–17): ΔW_l = −η δ hᵀ − λW_l, ΔB_l = −η h δᵀ − λB_l.
    B_l receives W_l's own update transposed (the same local quantities, seen from the other side),
    with the same momentum and decay, so W_l − B_lᵀ shrinks as (1 − λ)ᵗ."""

    name = "kolen_pollack"
    topology = "layerwise"
    learns_feedback = True

    def after_step(self, params, gW, lr, decay, rng):
        o = self.optimizer
        for l in range(1, len(params.B)):
            B = params.B[l]
            sgd_step_transposed(B, gW[l], params.vB[l], as_float(lr, B), as_float(o.momentum, B), as_float(decay, B))


class WeightMirror(Rule):
    """Weight mirror (Akrout et al. 2019, eq. 7): B learns in noise-driven mirror phases, ΔB = η_B x yᵀ − λ_B B.

    In mirror mode layer l fires zero-mean noise x, layer l+1 responds with its synaptic drive
    y = W_l x, and ΔB_l = η_B ⟨x yᵀ⟩ − λ_B B_l. Since ⟨x yᵀ⟩ = σ² W_lᵀ, B_l → (η_B σ² / λ_B) W_lᵀ: the
    decay (absent from the authors' code) fixes B's scale, so B ≈ W_lᵀ at the defaults (σ = 1, η_B = λ_B)."""

    name = "weight_mirror"
    topology = "layerwise"
    learns_feedback = True

    def mirror(self, params: Params, rng: np.random.Generator, steps: int) -> None:
        m = self.spec.mirror
        for _ in range(steps):
            for l in range(1, len(params.B)):
                B, W = params.B[l], params.W[l]
                x = rng.standard_normal((m.batch_size, B.shape[0])).astype(B.dtype, copy=False)
                x *= m.noise_std
                y = x @ W.T
                xy = x.T @ y
                hebbian_step(B, xy, as_float(m.lr / m.batch_size, B), as_float(m.decay, B))

    def after_step(self, params, gW, lr, decay, rng):
        self.mirror(params, rng, self.spec.mirror.steps_per_batch)
