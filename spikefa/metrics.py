"""Measures recorded during training: angles between matrices, normalised squared error, accuracy."""

from __future__ import annotations

import numpy as np


def angle(a: np.ndarray, b: np.ndarray) -> float:
    """Angle in degrees between two arrays, flattened: acos(⟨a, b⟩ / (‖a‖ ‖b‖)); NaN if either is zero.

    Computed as 2·atan2(‖â − b̂‖, ‖â + b̂‖) on the unit vectors, which equals the acos form but stays
    accurate near 0° and 180°, where acos loses half the digits."""
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return float("nan")
    a, b = a / na, b / nb
    return float(np.degrees(2 * np.arctan2(np.linalg.norm(a - b), np.linalg.norm(a + b))))


def nse(prediction: np.ndarray, target: np.ndarray) -> float:
    """Normalised squared error: Σ‖ŷ − y‖² / Σ‖y − ȳ‖² (0 is perfect, 1 is predicting the mean)."""
    return float(np.sum((prediction - target) ** 2) / np.sum((target - target.mean(axis=0)) ** 2))


def accuracy(output: np.ndarray, target: np.ndarray) -> float:
    """Fraction of rows whose largest output is the target's class."""
    return float(np.mean(output.argmax(axis=1) == target.argmax(axis=1)))
