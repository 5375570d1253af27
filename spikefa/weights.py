"""Initial weights, and the structure of pathways: which synapses exist and their sign.

A pathway's structure is drawn once, from the run's weight generator, and kept by :class:`Structure`;
after every change of its weights (an update of W, a rule's hook on B, a mirror step)
:meth:`Structure.constrain` restores it: a missing synapse stays 0, a sign-constrained weight stops at
0 instead of crossing it. The reference engine keeps a sparse pathway as a dense matrix with zeros
where no synapse is; a Brian2 circuit builds only the synapses that exist (:meth:`Structure.connections`).
"""

from __future__ import annotations

import numpy as np

from . import spec


def draw(
    init: spec.Init, shape: tuple[int, int], fan: tuple[int, int], rng: np.random.Generator, dtype: np.dtype
) -> np.ndarray:
    """Initial weights: Glorot-uniform or Glorot-normal over ``fan`` = (fan_in, fan_out) (``init.scale``
    the gain), or ``init.dist``/``init.scale`` (``lognormal``: magnitudes scale · exp(sigma · N(0, 1))
    with random signs)."""
    if init.dist == "xavier":
        limit = np.sqrt(6.0 / sum(fan)) * (init.scale or 1.0)
        w = rng.uniform(-limit, limit, shape)
    elif init.dist == "xavier_normal":
        w = rng.normal(0.0, np.sqrt(2.0 / sum(fan)) * (init.scale or 1.0), shape)
    elif init.dist == "uniform":
        w = rng.uniform(-init.scale, init.scale, shape)
    elif init.dist == "lognormal":
        w = init.scale * np.exp(init.sigma * rng.standard_normal(shape))
        w *= rng.choice(np.array([-1.0, 1.0]), shape)
    else:
        w = rng.normal(0.0, init.scale, shape)
    return np.ascontiguousarray(w, dtype=dtype)


def structured(
    p: spec.Pathway, shape: tuple[int, int], rng: np.random.Generator, dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray | None]:
    """A pathway's initial weights (rows: targets, columns: sources) and which synapses exist: its
    ``init``, given its structure (:func:`impose`). An all-to-all, sign-free pathway draws exactly what
    ``draw`` does."""
    w = draw(p.init, shape, (shape[1], shape[0]), rng, dtype)
    return w, impose(p, w, rng)


def impose(p: spec.Pathway, w: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """Give weights, in place, pathway ``p``'s sign and (connectivity p < 1) its missing synapses, each
    synapse kept with probability p; returns the mask (None where all exist, and nothing is drawn)."""
    if p.sign != "free":
        np.abs(w, out=w)
        if p.sign == "negative":
            w *= -1
    if p.connectivity == 1:
        return None
    mask = rng.random(w.shape) < p.connectivity
    w *= mask
    return mask


def restore(w: np.ndarray, sign: str, mask: np.ndarray | None) -> None:
    """Restore a pathway's structure in place after a change: missing synapses to 0, a constrained
    sign clipped at 0."""
    if sign == "positive":
        np.maximum(w, 0, out=w)
    elif sign == "negative":
        np.minimum(w, 0, out=w)
    if mask is not None:
        w *= mask


class Structure:
    """The structure of a family of pathways, per layer index l from ``first``: the feedback pathways
    B_1 … B_{L−1} (a circuit's ``feedback`` block; ``sizes``: the populations a pathway may come
    from, by name) or the forward pathways W_0 … W_{L−1} (``forward``, ``first`` = 0)."""

    def __init__(self, pathways: tuple[spec.Pathway, ...], sizes: dict[str, int] | None = None, first: int = 1):
        self.pathways, self.first = pathways, first
        self.sizes = sizes or {}
        self.masks: dict[int, np.ndarray] = {}  # l → which synapses of pathway l exist (connectivity < 1 only)

    def pathway(self, l: int) -> spec.Pathway:
        """Pathway l's structure; all to all and sign-free below ``first`` (a B_0 into the input layer)."""
        return self.pathways[l - self.first] if self.pathways and l >= self.first else spec.Pathway()

    def draw(self, l: int, shape: tuple[int, int], rng: np.random.Generator, dtype: np.dtype) -> np.ndarray:
        """Pathway l's initial weights, as its structure says (:func:`structured`)."""
        B, mask = structured(self.pathway(l), shape, rng, dtype)
        if mask is not None:
            self.masks[l] = mask
        return B

    def impose(self, l: int, w: np.ndarray, rng: np.random.Generator) -> None:
        """Give weights drawn elsewhere (W from ``network.init``) pathway l's structure (:func:`impose`)."""
        mask = impose(self.pathway(l), w, rng)
        if mask is not None:
            self.masks[l] = mask

    @property
    def constrained(self) -> bool:
        """Whether any pathway has a structure to restore after a change (missing synapses, a sign)."""
        return bool(self.masks) or any(p.sign != "free" for p in self.pathways)

    def constrain(self, weights: list[np.ndarray | None]) -> None:
        """Restore every pathway's structure in place (:meth:`restore`); ``weights`` indexed by l."""
        for l in range(self.first, len(weights)):
            if weights[l] is not None:
                self.restore(l, weights[l])

    def restore(self, l: int, B: np.ndarray) -> None:
        """Restore pathway l's structure in place (:func:`restore`)."""
        restore(B, self.pathway(l).sign, self.masks.get(l))

    def connections(self, l: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(rows, columns) of pathway l's synapses — rows index its targets, columns its sources — or
        None where the pathway is all to all."""
        mask = self.masks.get(l)
        return None if mask is None else np.nonzero(mask)
