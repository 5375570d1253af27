"""Numba kernels: every weight change in spikefa is applied here, in place.

The gradient-like term (an outer product summed over a batch, ``δᵀx`` or ``xᵀy``) comes from BLAS in
the reference engine; these kernels fuse the rest of the update (momentum, decay, learning rate,
sign copies) into one pass over the weights, with no temporary arrays. For one example (every Brian2
circuit learns after each example) the outer product itself is fused too.

Every kernel runs on one thread: threading them over rows gained nothing measurable on an MNIST FA
epoch (0.63 s either way on 2 cores), and a Numba thread pool beside BLAS's made a busy machine
slower (:mod:`spikefa.threads`).
"""

from __future__ import annotations

import numba
import numpy as np

Gradient = np.ndarray | tuple[np.ndarray, np.ndarray]
"""A weight gradient: a matrix (a batch's δᵀx from BLAS), or for one example the pair (d, h) that
stands for the outer product d hᵀ, which the kernel applies without ever forming it."""


def sgd_update(w: np.ndarray, g: Gradient, v: np.ndarray, lr: float, momentum: float, decay: float) -> None:
    """Momentum SGD with decoupled decay, in place: v ← μ v + g;  w ← (1 − λ) w − η v.

    Walks w in its memory order: a transposed view (a Brian2 synapse array, presynaptic-major) is
    updated through its transpose, so the kernel reads and writes contiguous memory. ``v`` must share
    w's memory order to be fast (any order is correct). With μ = 0, v is neither read nor written."""
    if w.T.flags.c_contiguous and not w.flags.c_contiguous:
        w, v, g = w.T, v.T, transposed(g)
    lr, momentum, decay = as_float(lr, w), as_float(momentum, w), as_float(decay, w)
    if isinstance(g, tuple):
        sgd_step_outer(w, g[0], g[1], v, lr, momentum, decay)
    else:
        sgd_step(w, g, v, lr, momentum, decay)


def transposed(g: Gradient) -> Gradient:
    """gᵀ, for either form of a gradient."""
    return (g[1], g[0]) if isinstance(g, tuple) else g.T


@numba.njit(cache=True)
def sgd_step(w, g, v, lr, momentum, decay):
    """:func:`sgd_update` with a gradient matrix ``g`` (any strides)."""
    rows, cols = w.shape
    keep = 1 - decay
    for r in range(rows):
        if momentum == 0:
            for c in range(cols):
                w[r, c] = keep * w[r, c] - lr * g[r, c]
        else:
            for c in range(cols):
                vel = momentum * v[r, c] + g[r, c]
                v[r, c] = vel
                w[r, c] = keep * w[r, c] - lr * vel


@numba.njit(cache=True)
def sgd_step_outer(w, d, h, v, lr, momentum, decay):
    """:func:`sgd_update` with the gradient of one example, g = d hᵀ, formed element by element."""
    rows, cols = w.shape
    keep = 1 - decay
    for r in range(rows):
        a = d[r]
        if momentum == 0:
            step = lr * a
            for c in range(cols):
                w[r, c] = keep * w[r, c] - step * h[c]
        else:
            for c in range(cols):
                vel = momentum * v[r, c] + a * h[c]
                v[r, c] = vel
                w[r, c] = keep * w[r, c] - lr * vel


@numba.njit(cache=True)
def sgd_step_vector(b, g, v, lr, momentum, decay):
    """:func:`sgd_update` for a bias vector."""
    keep = 1.0 - decay
    for k in range(b.shape[0]):
        vel = momentum * v[k] + g[k]
        v[k] = vel
        b[k] = keep * b[k] - lr * vel


@numba.njit(cache=True)
def hebbian_step(b, xy, lr, decay):
    """Weight mirror (Akrout et al. 2019, eq. 7, with decay): b ← (1 − λ_B) b + η_B ⟨x yᵀ⟩."""
    rows, cols = b.shape
    keep = 1.0 - decay
    for r in range(rows):
        for c in range(cols):
            b[r, c] = keep * b[r, c] + lr * xy[r, c]


@numba.njit(cache=True)
def sign_copy(b, w, magnitude):
    """Sign symmetry (Liao et al. 2016): b ← sign(wᵀ) ⊙ |B₀|. Reads w: weight transport of signs."""
    rows, cols = b.shape
    for r in range(rows):
        for c in range(cols):
            s = w[c, r]
            b[r, c] = magnitude[r, c] if s > 0 else (-magnitude[r, c] if s < 0 else 0.0)


@numba.njit(cache=True)
def flush_subnormal(a):
    """a (2-D) with its subnormal entries (nonzero, below the dtype's smallest normal number) set to 0,
    in place; returns a. A confident float32 softmax puts out probabilities that underflow past 1e-38,
    and errors made of them slowed every BLAS product they entered ~100× (an MNIST float32 epoch took
    1.2 s, then 2.9 s, then 3.8 s as training went on; measured). One pass, no temporaries (NumPy's
    masked assignment cost 0.25 s per MNIST-sized FA epoch)."""
    tiny = np.finfo(a.dtype).tiny
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            if abs(a[i, j]) < tiny:
                a[i, j] = 0
    return a


def as_float(x: float, like: np.ndarray) -> np.floating:
    """A scalar of the array's dtype, so float32 arrays compile and run in float32."""
    return like.dtype.type(x)
