import numpy as np
import pytest

from spikefa.kernels import hebbian_step, sgd_step_vector, sgd_update, sign_copy


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("momentum", [0.9, 0.0])
@pytest.mark.parametrize("layout", ["C", "transposed view"])
@pytest.mark.parametrize("form", ["matrix", "outer product"])
def test_sgd_update_is_momentum_sgd_with_decay(rng, dtype, momentum, layout, form):
    d, h = rng.standard_normal(7).astype(dtype), rng.standard_normal(5).astype(dtype)
    w, v = rng.standard_normal((7, 5)).astype(dtype), rng.standard_normal((7, 5)).astype(dtype)
    if layout == "transposed view":  # how a Brian2 synapse array is seen as W (see pathways.matrix_view)
        w, v = np.ascontiguousarray(w.T).T, np.ascontiguousarray(v.T).T
    want_v = momentum * v + np.outer(d, h)
    want_w = (1 - 0.01) * w - 0.1 * want_v
    g = (d, h) if form == "outer product" else np.outer(d, h)
    sgd_update(w, g, v, 0.1, momentum, 0.01)
    assert w.dtype == dtype
    np.testing.assert_allclose(w, want_w, rtol=1e-5)
    if momentum:
        np.testing.assert_allclose(v, want_v, rtol=1e-5)


def test_transposed_gradient_and_vector_steps(rng):
    """Kolen–Pollack's B takes W's gradient transposed, in either form."""
    d, h = rng.standard_normal(7), rng.standard_normal(5)
    for g in ((h, d), np.outer(d, h).T):
        b, v = rng.standard_normal((5, 7)), rng.standard_normal((5, 7))
        want_v = 0.5 * v + np.outer(h, d)
        want_b = 0.98 * b - 0.2 * want_v
        sgd_update(b, g, v, 0.2, 0.5, 0.02)
        np.testing.assert_allclose(b, want_b, rtol=1e-12)
        np.testing.assert_allclose(v, want_v, rtol=1e-12)
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
