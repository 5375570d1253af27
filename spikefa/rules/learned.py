"""Rules whose feedback B learns by local plasticity: Kolen–Pollack and the weight mirror."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..kernels import as_float, hebbian_step
from .base import Params, Plasticity, Rule


class KolenPollack(Rule):
    """Kolen–Pollack (Akrout et al. 2019, eqs. 16–17): ΔW_l = −η δ hᵀ − λW_l, ΔB_l = −η h δᵀ − λB_l.
    B_l receives W_l's own update transposed (the same local quantities, seen from the other side),
    with the same momentum and decay, so W_l − B_lᵀ shrinks as (1 − λ)ᵗ."""

    name = "kolen_pollack"
    topology = "layerwise"
    learns_feedback = True

    def plasticity(self):
        # B_l[i, k] joins neuron i of layer l (its target, rate h_i) to k of layer l + 1 (its source,
        # error δ_k): W_l[k, i]'s own gradient δ_k h_i, seen from the other side
        return Plasticity(pre="error", post="rate")


class WeightMirror(Rule):
    """Weight mirror (Akrout et al. 2019, eq. 7): B learns in noise-driven mirror phases, ΔB = η_B x yᵀ − λ_B B.

    In mirror mode layer l fires zero-mean noise x, layer l+1 responds with its synaptic drive
    y = W_l x (or its rate f(W_l x + b_l): ``mirror.response``), and ΔB_l = η_B ⟨x yᵀ⟩ − λ_B B_l. Since
    ⟨x yᵀ⟩ = σ² W_lᵀ, B_l → (η_B σ² / λ_B) W_lᵀ: the decay (absent from the authors' code) fixes B's
    scale, so B ≈ W_lᵀ at the defaults (σ = 1, η_B = λ_B)."""

    name = "weight_mirror"
    topology = "layerwise"
    learns_feedback = True
    has_mirror_phase = True

    def mirror(
        self,
        params: Params,
        rng: np.random.Generator,
        steps: int,
        respond: Callable[[int, np.ndarray], np.ndarray],
    ) -> None:
        """``steps`` mirror steps at matrix level: each layer with a B fires a batch of noise x and the
        layer above answers ``respond(l, x)`` (the engine's ``mirror_response``: drive or rate)."""
        m = self.spec.mirror
        for _ in range(steps):
            for l, B in enumerate(params.B):
                if B is not None:
                    x = self.noise(rng, (m.batch_size, B.shape[0]), B.dtype)
                    self.mirror_update(l, B, x, respond(l, x))

    def noise(self, rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """Zero-mean mirror noise of covariance σ² I: N(0, σ²), ±σ from random bits (``binary``), or
        U(−√3 σ, √3 σ) (``uniform``)."""
        m = self.spec.mirror
        if m.noise == "uniform":
            half = np.sqrt(3.0) * m.noise_std
            return rng.uniform(-half, half, shape).astype(dtype, copy=False)
        if m.noise == "binary":
            n = int(np.prod(shape))
            bits = np.unpackbits(np.frombuffer(rng.bytes((n + 7) // 8), np.uint8), count=n).reshape(shape)
            x = bits.astype(dtype)
            x *= 2 * m.noise_std
            x -= m.noise_std
            return x
        x = rng.standard_normal(shape).astype(dtype, copy=False)
        x *= m.noise_std
        return x

    def mirror_update(self, l: int, B: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
        """Eq. 7 with decay on one batch: x (n, n_l) the noise layer l fired, y (n, n_{l+1}) the responses.
        Each synapse of B_l sees only its own post (x) and pre (y) activity; the pathway's structure
        (missing synapses, sign) holds after the change."""
        m = self.spec.mirror
        hebbian_step(B, x.T @ y, as_float(m.lr / len(x), B), as_float(m.decay, B))
        if self.structure.constrained:
            self.structure.restore(l, B)
