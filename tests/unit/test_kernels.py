import numpy as np
import pytest

from spikefa.kernels import hebbian_step, sgd_step, sgd_step_transposed, sgd_step_vector, sign_copy


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sgd_step_is_momentum_sgd_with_decay(rng, dtype):
    w, g, v = (rng.standard_normal((7, 5)).astype(dtype) for _ in range(3))
    want_v = 0.9 * v + g
    want_w = (1 - 0.01) * w - 0.1 * want_v
    sgd_step(w, g, v, dtype(0.1), dtype(0.9), dtype(0.01))
    assert w.dtype == dtype
    np.testing.assert_allclose(v, want_v, rtol=1e-6)
    np.testing.assert_allclose(w, want_w, rtol=1e-6)


def test_transposed_and_vector_steps(rng):
    b, v = rng.standard_normal((5, 7)), rng.standard_normal((5, 7))
    g = rng.standard_normal((7, 5))
    want_v = 0.5 * v + g.T
    want_b = 0.98 * b - 0.2 * want_v
    sgd_step_transposed(b, g, v, 0.2, 0.5, 0.02)
    np.testing.assert_allclose(b, want_b, rtol=1e-12)
    x, gx, vx = rng.standard_normal(4), rng.standard_normal(4), np.zeros(4)
    want = x - 0.3 * gx
    sgd_step_vector(x, gx, vx, 0.3, 0.0, 0.0)
    np.testing.assert_allclose(x, want, rtol=1e-12)


def test_hebbian_and_sign_copy(rng):
    b, xy = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    want = 0.9 * b + 0.05 * xy
    hebbian_step(b, xy, 0.05, 0.1)
    np.testing.assert_allclose(b, want, rtol=1e-12)
    w = rng.standard_normal((3, 4))
    w[0, 0] = 0.0
    mag = np.abs(rng.standard_normal((4, 3)))
    sign_copy(b, w, mag)
    np.testing.assert_array_equal(b, np.sign(w.T) * mag)
