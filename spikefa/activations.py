"""Unit non-linearities f and their derivatives f', written in terms of (a, h = f(a)) to avoid recomputation."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * a))  # overflow-free logistic


def _softmax(a: np.ndarray) -> np.ndarray:
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


FORWARD: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "relu": lambda a: np.maximum(a, 0),
    "linear": lambda a: a,
    "softmax": _softmax,
}

DERIVATIVE: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray | float]] = {
    "tanh": lambda a, h: 1.0 - h * h,
    "sigmoid": lambda a, h: h * (1.0 - h),
    "relu": lambda a, h: (a > 0).astype(a.dtype),
    "linear": lambda a, h: 1.0,
}
