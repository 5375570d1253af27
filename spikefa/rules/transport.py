"""Rules that read the forward weights to build their feedback: backprop and sign symmetry.

These are the weight-transport baselines; no other rule reads W to compute a feedback signal.
"""

from __future__ import annotations

import numpy as np

from ..kernels import sign_copy
from .base import Rule


class Backprop(Rule):
    """Backpropagation: B_l = W_lᵀ, read from the forward weights. This rule transports weights."""

    name = "backprop"
    topology = "layerwise"
    transports_weights = True

    def init_feedback(self, sizes, W, rng, dtype):
        return [None] * (len(sizes) - 1), [None] * (len(sizes) - 1)

    def feedback(self, l, params):
        return params.W[l].T


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

    def after_step(self, params, step):
        self._copy_signs(params.B, params.W, params.B0)
