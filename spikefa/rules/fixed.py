"""Rules whose feedback is fixed: none at all (shallow learning), or random — FA, DFA and local
classifiers (B never changes)."""

from __future__ import annotations

import numpy as np

from .base import Rule


class Shallow(Rule):
    """Shallow learning, Lillicrap et al. 2016's baseline: no feedback, only the output layer learns."""

    name = "shallow"
    topology = "none"

    def init_feedback(
        self, sizes: tuple[int, ...], W: list[np.ndarray], rng: np.random.Generator, dtype: np.dtype
    ) -> tuple[list, list]:
        return [None] * (len(sizes) - 1), [None] * (len(sizes) - 1)


class FixedFeedback(Rule):
    """Fixed random B, layer by layer: feedback alignment (Lillicrap et al. 2016, eq. 2: δ = B e)."""

    name = "feedback_alignment"
    topology = "layerwise"


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
