import math

import numpy as np

from spikefa.metrics import accuracy, angle, nse


def test_angle_in_degrees_on_flattened_arrays():
    assert angle(np.array([1.0, 0.0]), np.array([0.0, 2.0])) == 90.0
    assert abs(angle(np.array([[1.0, 1.0]]), np.array([1.0, 0.0])) - 45.0) < 1e-12
    assert angle(np.eye(3), -np.eye(3)) == 180.0
    assert angle(np.ones(5), 3 * np.ones(5)) == 0.0
    assert abs(angle(np.array([1.0, 1e-9]), np.array([1.0, 0.0])) - np.degrees(1e-9)) < 1e-15
    assert math.isnan(angle(np.zeros(3), np.ones(3)))


def test_nse_and_accuracy():
    y = np.array([[1.0], [3.0]])
    assert nse(y, y) == 0.0
    assert nse(np.full_like(y, 2.0), y) == 1.0
    assert accuracy(np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([[1, 0], [1, 0]])) == 0.5
