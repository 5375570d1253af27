"""Numba kernels: every weight change in spikefa is applied here, in place.

The gradient-like term (an outer product summed over a batch, ``δᵀx`` or ``xᵀy``) comes from BLAS in
the reference engine; these kernels fuse the rest of the update (momentum, decay, learning rate,
sign copies) into one pass over the weights, threaded over rows, with no temporary arrays.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(parallel=True, cache=True, fastmath=False)
def sgd_step(w, g, v, lr, momentum, decay):
    """v ← μ v + g;  w ← (1 − λ) w − η v.  All arrays 2-D of one shape; ``g`` may be any view."""
    rows, cols = w.shape
    keep = 1.0 - decay
    for r in numba.prange(rows):
        for c in range(cols):
            vel = momentum * v[r, c] + g[r, c]
            v[r, c] = vel
            w[r, c] = keep * w[r, c] - lr * vel


@numba.njit(parallel=True, cache=True)
def sgd_step_transposed(b, g, v, lr, momentum, decay):
    """:func:`sgd_step` on ``b`` with the transposed gradient ``gᵀ`` (Kolen–Pollack's B, eq. 17)."""
    rows, cols = b.shape
    keep = 1.0 - decay
    for r in numba.prange(rows):
        for c in range(cols):
            vel = momentum * v[r, c] + g[c, r]
            v[r, c] = vel
            b[r, c] = keep * b[r, c] - lr * vel


@numba.njit(parallel=True, cache=True)
def sgd_step_vector(b, g, v, lr, momentum, decay):
    """:func:`sgd_step` for a bias vector."""
    keep = 1.0 - decay
    for k in numba.prange(b.shape[0]):
        vel = momentum * v[k] + g[k]
        v[k] = vel
        b[k] = keep * b[k] - lr * vel


@numba.njit(parallel=True, cache=True)
def hebbian_step(b, xy, lr, decay):
    """Weight mirror (Akrout et al. 2019, eq. 7, with decay): b ← (1 − λ_B) b + η_B ⟨x yᵀ⟩."""
    rows, cols = b.shape
    keep = 1.0 - decay
    for r in numba.prange(rows):
        for c in range(cols):
            b[r, c] = keep * b[r, c] + lr * xy[r, c]


@numba.njit(parallel=True, cache=True)
def sign_copy(b, w, magnitude):
    """Sign symmetry (Liao et al. 2016): b ← sign(wᵀ) ⊙ |B₀|. Reads w: weight transport of signs."""
    rows, cols = b.shape
    for r in numba.prange(rows):
        for c in range(cols):
            s = w[c, r]
            b[r, c] = magnitude[r, c] if s > 0 else (-magnitude[r, c] if s < 0 else 0.0)


def as_float(x: float, like: np.ndarray) -> np.floating:
    """A scalar of the array's dtype, so float32 arrays compile and run in float32."""
    return like.dtype.type(x)
