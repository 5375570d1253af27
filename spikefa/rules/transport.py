"""Rules that read the forward weights to build their feedback: backprop and sign symmetry.

These are the weight-transport baselines; no other rule reads W to compute a feedback signal.
"""

from __future__ import annotations

import numpy as np

from ..kernels import sign_copy
from .base import Plasticity, Rule


class Backprop(Rule):
    """Backpropagation: B_l = W_lᵀ, read from the forward weights. This rule transports weights."""

    name = "backprop"
    topology = "layerwise"
    transports_weights = True

    def init_feedback(self, sizes, W, rng, dtype):
        return [None] * (len(sizes) - 1), [None] * (len(sizes) - 1)

    def feedback(self, l, params):
        return params.W[l].T

    def code_plasticity(self):
        # Brian2 code on B's synapses cannot read W: B starts every block as a copy of Wᵀ (and its
        # momentum as W's) and takes W's own update, the same products in the same order, so it stays
        # Wᵀ to the last bit — still the transport of W's every change, as backprop is defined
        return Plasticity(pre="error", post="rate")


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

    def code_plasticity(self):
        return Plasticity(pre="error", post="rate")  # on B's copy of Wᵀ, as backprop's

    def code_feedback(self):
        return "sign(wt) * b0"
