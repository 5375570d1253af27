"""Every rule's update against an independent computation on a tiny network."""

import numpy as np
import pytest

from spikefa import circuit_from_dict, spec
from spikefa.activations import DERIVATIVE, FORWARD
from spikefa.reference import ReferenceEngine
from tests.conftest import tiny_circuit

SIZES = (6, 5, 4, 3)


def engine(name, sizes=SIZES, hidden="tanh", output="softmax", seed=0, **extra):
    circuit = circuit_from_dict(tiny_circuit(name, sizes, hidden, output, **extra))
    return ReferenceEngine(circuit, np.random.default_rng(seed))


def batch(rng, sizes=SIZES, n=7):
    x = rng.standard_normal((n, sizes[0]))
    y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    return x, y


@pytest.mark.parametrize(
    "hidden, output", [("tanh", "softmax"), ("sigmoid", "sigmoid"), ("relu", "linear"), ("linear", "tanh")]
)
def test_backprop_gradient_matches_finite_differences(rng, hidden, output):
    e = engine("backprop", hidden=hidden, output=output)
    x, y = batch(rng)
    A, H = e.forward(x)
    gW, gb = e.gradients(H, e.deltas(A, H, y))

    def loss():
        return e.loss(e.forward(x)[1][-1], y)

    eps = 1e-6
    for l, (W, b) in enumerate(zip(e.params.W, e.params.b)):
        for array, grad in ((W, gW[l]), (b, gb[l])):
            numeric = np.zeros_like(array)
            for idx in np.ndindex(array.shape):
                keep = array[idx]
                array[idx] = keep + eps
                up = loss()
                array[idx] = keep - eps
                down = loss()
                array[idx] = keep
                numeric[idx] = (up - down) / (2 * eps)
            np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-9)


def hand_forward(e, x):
    """Forward pass written out for three projections (tanh hidden, softmax output)."""
    W, b = e.params.W, e.params.b
    a1 = x @ W[0].T + b[0]
    h1 = np.tanh(a1)
    a2 = h1 @ W[1].T + b[1]
    h2 = np.tanh(a2)
    z = h2 @ W[2].T + b[2]
    p = np.exp(z - z.max(1, keepdims=True))
    return h1, h2, p / p.sum(1, keepdims=True)


def softmax(z):
    p = np.exp(z - z.max(1, keepdims=True))
    return p / p.sum(1, keepdims=True)


def expected_gradients(rule, e, x, y):
    """gW by hand from each paper's equations, with the engine's B matrices."""
    W, B, n = e.params.W, e.params.B, len(x)
    h1, h2, p = hand_forward(e, x)
    err = (p - y) / n
    if rule in ("feedback_alignment", "kolen_pollack", "weight_mirror"):
        d2 = (err @ B[2].T) * (1 - h2**2)
        d1 = (d2 @ B[1].T) * (1 - h1**2)
    elif rule == "sign_symmetry":
        S2 = np.sign(W[2].T) * e.params.B0[2]
        S1 = np.sign(W[1].T) * e.params.B0[1]
        d2 = (err @ S2.T) * (1 - h2**2)
        d1 = (d2 @ S1.T) * (1 - h1**2)
    elif rule == "direct_feedback_alignment":
        d2 = (err @ B[2].T) * (1 - h2**2)
        d1 = (err @ B[1].T) * (1 - h1**2)
    elif rule == "shallow":  # Lillicrap et al. 2016's baseline: hidden layers get no error
        d2 = np.zeros_like(h2)
        d1 = np.zeros_like(h1)
    elif rule == "local_classifiers":
        d2 = (((softmax(h2 @ B[2]) - y) / n) @ B[2].T) * (1 - h2**2)
        d1 = (((softmax(h1 @ B[1]) - y) / n) @ B[1].T) * (1 - h1**2)
    else:  # backprop
        d2 = (err @ W[2]) * (1 - h2**2)
        d1 = (d2 @ W[1]) * (1 - h1**2)
    return [d1.T @ x, d2.T @ h1, err.T @ h2]


RULES = spec.RULES


@pytest.mark.parametrize("rule", RULES)
def test_rule_updates_match_the_papers_equations(rng, rule):
    e = engine(rule, rule={"mirror": {"steps_per_batch": 0}} if rule == "weight_mirror" else {})
    x, y = batch(rng)
    want = expected_gradients(rule, e, x, y)
    W_before = [w.copy() for w in e.params.W]
    B_before = [None if b is None else b.copy() for b in e.params.B]
    e.train_batch(x, y, 0.1, np.random.default_rng(0))
    for l in range(3):
        np.testing.assert_allclose(e.params.W[l], W_before[l] - 0.1 * want[l], rtol=1e-12, atol=1e-14)
    for l in (1, 2):
        if rule == "kolen_pollack":  # eq. 17: B gets W's update, transposed
            np.testing.assert_allclose(e.params.B[l], B_before[l] - 0.1 * want[l].T, rtol=1e-12, atol=1e-14)
        elif rule == "sign_symmetry":
            np.testing.assert_array_equal(e.params.B[l], np.sign(e.params.W[l].T) * e.params.B0[l])
        elif rule != "backprop":  # fixed feedback (the mirror is off here)
            np.testing.assert_array_equal(e.params.B[l], B_before[l])


def test_feedback_shapes_follow_the_topology():
    assert [b.shape for b in engine("feedback_alignment").params.B[1:]] == [(5, 4), (4, 3)]
    assert [b.shape for b in engine("direct_feedback_alignment").params.B[1:]] == [(5, 3), (4, 3)]
    assert [b.shape for b in engine("local_classifiers").params.B[1:]] == [(5, 3), (4, 3)]
    assert engine("backprop").params.B == [None, None, None]


def test_kolen_pollack_difference_decays_as_one_minus_lambda_to_the_t(rng):
    lam = 0.03
    e = engine("kolen_pollack", optimizer={"lr": 0.05, "momentum": 0.9, "weight_decay": lam})
    start = [np.linalg.norm(e.params.W[l] - e.params.B[l].T) for l in (1, 2)]
    x, y = batch(rng, n=32)
    for t in range(1, 201):
        e.train_batch(x, y, 0.05, rng)
        if t % 50 == 0:
            for l in (1, 2):
                got = np.linalg.norm(e.params.W[l] - e.params.B[l].T)
                np.testing.assert_allclose(got, (1 - lam) ** t * start[l - 1], rtol=1e-9)
    assert all(a < 10.0 for a in e.feedback_angles().values())  # W and Bᵀ converge


def test_weight_mirror_step_is_hebbian_with_decay():
    e = engine(
        "weight_mirror",
        rule={"name": "weight_mirror", "mirror": {"noise_std": 0.5, "lr": 0.3, "decay": 0.1, "batch_size": 16}},
    )
    B_before = [None] + [b.copy() for b in e.params.B[1:]]
    draws = np.random.default_rng(7)
    e.mirror(1, np.random.default_rng(7))
    for l in (1, 2):
        x = 0.5 * draws.standard_normal((16, e.params.B[l].shape[0]))
        y = x @ e.params.W[l].T  # the layer above responds with its synaptic drive
        want = (1 - 0.1) * B_before[l] + 0.3 * (x.T @ y) / 16
        np.testing.assert_allclose(e.params.B[l], want, rtol=1e-12)


def test_weight_mirror_aligns_feedback_without_labels():
    e = engine("weight_mirror", sizes=(20, 30, 15, 10), seed=5)
    before = e.feedback_angles()
    assert all(a > 75 for a in before.values())
    e.mirror(300, np.random.default_rng(1))
    after = e.feedback_angles()
    assert all(a < 5.0 for a in after.values()), after


def test_sign_symmetry_feedback_has_forward_signs(rng):
    e = engine("sign_symmetry")
    for l in (1, 2):
        assert np.all(np.sign(e.params.B[l]) == np.sign(e.params.W[l].T))
    assert all(a < 90 for a in e.feedback_angles().values())


def test_update_angle_is_zero_for_backprop_and_not_for_random_feedback(rng):
    x, y = batch(rng, n=32)
    assert all(a < 1e-6 for a in engine("backprop").update_angles(x, y).values())
    assert all(a > 10 for a in engine("feedback_alignment").update_angles(x, y).values())


def test_activation_derivatives_match_finite_differences():
    a = np.linspace(-3, 3, 13) + 0.01
    for name, df in DERIVATIVE.items():
        f = FORWARD[name]
        numeric = (f(a + 1e-6) - f(a - 1e-6)) / 2e-6
        np.testing.assert_allclose(df(a, f(a)) * np.ones_like(a), numeric, rtol=1e-6, atol=1e-8)


def test_float32_stays_float32(rng):
    e = engine("kolen_pollack", dtype="float32")
    x, y = batch(rng)
    e.train_batch(x.astype(np.float32), y.astype(np.float32), 0.1, rng)
    assert all(w.dtype == np.float32 for w in e.params.W + e.params.B[1:])


def test_binary_mirror_noise_has_the_gaussian_moments_and_aligns_as_well():
    e = engine("weight_mirror", sizes=(20, 30, 15, 10), seed=5, rule={"mirror": {"noise": "binary", "noise_std": 0.5}})
    x = e.rule.noise(np.random.default_rng(0), (4000, 30), np.dtype("float64"))
    assert set(np.unique(x)) == {-0.5, 0.5}
    np.testing.assert_allclose(x.mean(0), 0, atol=0.05)
    np.testing.assert_allclose(np.cov(x.T), 0.25 * np.eye(30), atol=0.03)
    e.mirror(300, np.random.default_rng(1))
    assert all(a < 5.0 for a in e.feedback_angles().values())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cross_entropy_is_finite_when_an_output_underflows(dtype):
    """A softmax output of exactly 0 (float32 underflow) gives a large finite loss, not nan."""
    e = engine("feedback_alignment", dtype=np.dtype(dtype).name)
    h = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype)
    y = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]], dtype)
    loss = e.loss(h, y)
    assert np.isfinite(loss) and loss > 40  # −log of the smallest normal number, halved over the batch


def test_errors_carry_no_subnormal_numbers():
    """BLAS is ~100× slower on subnormal floats: a float32 softmax that underflows past 1e-38 must give
    errors of exactly 0 there (and the loss above stays finite)."""
    e = engine("feedback_alignment", dtype="float32")
    h = np.array([[1e-40, 1.0, 0.0]], np.float32)
    assert h[0, 0] != 0  # a subnormal float32
    d = e.output_delta(np.log(h + 1e-45), h, np.array([[0.0, 1.0, 0.0]], np.float32))
    assert d[0, 0] == 0 and d.dtype == np.float32


@pytest.mark.parametrize("batch", [1, 5])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_declared_plasticity_is_the_formula_it_declares(rng, batch, momentum):
    """Plasticity(pre, post, lr, decay, momentum): v ← μ v + Σ post ⊗ pre, w ← (1 − λ) w − η v, built by
    the kernels from the step's own activities and errors (one example as an outer product, a batch
    as a matrix product), for every combination of what the two sides contribute."""
    from spikefa.rules import Plasticity, Rule, Step

    for pre, post in (("error", "rate"), ("rate", "error"), ("rate", "rate"), ("error", "error")):

        class Declared(Rule):
            name, topology = "declared", "layerwise"
            declared = Plasticity(pre=pre, post=post, lr=0.3, decay=0.01)

            def plasticity(self):
                return self.declared

        raw = tiny_circuit(optimizer={"momentum": momentum})
        rule = Declared(spec.Rule("declared"), circuit_from_dict(raw).optimizer)
        H = [rng.standard_normal((batch, n)) for n in (5, 4, 3)]
        deltas = [None, rng.standard_normal((batch, 4)), rng.standard_normal((batch, 3))]
        B = rng.standard_normal((4, 3))
        v = rng.standard_normal((4, 3))
        params = type("P", (), {"W": [None, None], "B": [None, B.copy()], "vB": [None, v.copy()]})()
        rule.after_step(params, Step(H, deltas, [], 0.1, 0.0, rng))
        side = {"rate": H, "error": deltas}
        g = side[post][1].T @ side[pre][2]
        vel = momentum * v + g if momentum else g
        np.testing.assert_allclose(params.B[1], 0.99 * B - 0.3 * vel, rtol=1e-12, err_msg=f"{pre}, {post}")


def test_a_plasticity_names_what_a_synapse_can_see():
    from spikefa import SpikefaError
    from spikefa.rules import Plasticity

    with pytest.raises(SpikefaError, match="Plasticity.post: must be one of rate, error"):
        Plasticity(pre="error", post="weight")
