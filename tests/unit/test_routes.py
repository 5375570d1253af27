"""The effective feedback: the output error carried down every route (feedback pathways, relays, pools,
one-stream pathways), checked against the matrices written out by hand."""

import numpy as np
import pytest

from spikefa import circuit_from_dict
from spikefa.metrics import angle
from spikefa.reference import ReferenceEngine
from spikefa.routes import Unroutable, effective_angles, fit, route
from tests.conftest import tiny_circuit

RULES = ["backprop", "sign_symmetry", "feedback_alignment", "direct_feedback_alignment", "kolen_pollack"]


def engine(rule="feedback_alignment", sizes=(6, 9, 7, 3), brian=None, feedback=None, **extra):
    raw = tiny_circuit(rule, sizes, "tanh" if brian is None else "relu", **extra)
    if brian is not None:
        raw["engine"] = "brian2"
        raw["brian"] = {"neurons": "lif", **brian}
    if feedback is not None:
        raw["feedback"] = feedback
    return ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(1))


def probe(e, n=64):
    rng = np.random.default_rng(2)
    x = rng.random((n, e.sizes[0]))
    y = np.eye(e.sizes[-1])[rng.integers(0, e.sizes[-1], n)]
    A, H = e.forward(x)
    return x, y, A, H


@pytest.mark.parametrize("rule", RULES)
def test_without_other_routes_the_routed_errors_are_the_engines(rule):
    e = engine(rule)
    x, y, A, H = probe(e)
    deltas = e.deltas(A, H, y)
    c = route(e, A, H, deltas[e.L])
    for l in range(1, e.L):
        np.testing.assert_allclose(c[f"layer{l}"], e.error_input(e.rule, l, deltas, H, y), rtol=1e-12, atol=1e-15)


def test_the_effective_feedback_of_the_top_layer_is_b_on_the_errors_span():
    """Through one linear route E = B exactly; a sigmoid output's errors span every direction, so its
    angle is B's; softmax errors sum to 0, so only B's action on that subspace counts."""
    for output, loss in (("sigmoid", "mse"), ("softmax", "cross_entropy")):
        e = engine(network={"sizes": [6, 9, 7, 3], "hidden": "tanh", "output": output, "loss": loss})
        x, y, A, H = probe(e)
        d = e.deltas(A, H, y)[e.L]
        top = e.L - 1
        np.testing.assert_allclose(fit(d, route(e, A, H, d)[f"layer{top}"]), fit(d, d @ e.params.B[top].T), atol=1e-12)
        P = np.linalg.pinv(d) @ d  # the projection onto the span of the errors
        B, Wt = e.params.B[top], e.params.W[top].T
        want = angle(B, Wt) if output == "sigmoid" else angle(B @ P, Wt @ P)
        assert effective_angles(e, x, y)[f"angle_E{top}"] == pytest.approx(want, abs=1e-6)


RELAY = {"extra": {"relay": {"size": 4, "model": "lif", "error": "tanh(err)"}}}


def test_a_relay_and_a_pool_are_routes_with_their_own_transfer():
    """B₁ carries the relay's error tanh(R δ₂); a pool takes the negative stream of δ₂ and sends the
    positive stream of its own error back; B₁ from the relay, I from the pool: both sum in c₁."""
    brian = {
        **RELAY,
        "extra": {**RELAY["extra"], "pool": {"size": 5, "model": "lif"}},
        "pathways": {
            "R": {"from": "layer2", "to": "relay", "into": "error"},
            "P": {"from": "layer2", "to": "pool", "into": "error", "sign": "positive", "carries": "negative"},
            "I": {"from": "pool", "to": "layer1", "into": "error", "sign": "negative", "carries": "positive"},
        },
    }
    e = engine(sizes=(6, 8, 3), brian=brian, feedback={"source": "relay"})
    x, y, A, H = probe(e)
    d = e.deltas(A, H, y, e.backprop)[e.L]
    links, B = e.params.links, e.params.B[1]
    pool = np.maximum(-d, 0) @ links["P"].T
    want = np.tanh(d @ links["R"].T) @ B.T + np.maximum(pool, 0) @ links["I"].T
    np.testing.assert_allclose(route(e, A, H, d)["layer1"], want, rtol=1e-12)
    angles = effective_angles(e, x, y)
    assert set(angles) == {"angle_E1", "angle_dW0"}
    ours = want * e.df(A[1], H[1])
    assert angles["angle_dW0"] == pytest.approx(angle(ours.T @ H[0], e.deltas(A, H, y, e.backprop)[1].T @ H[0]))


def test_error_units_with_a_baseline_send_it_and_a_balanced_pool_takes_it_away():
    """error_baseline β: the output's units send β + δ₂ on the ON stream, the tonic pool its constant;
    with the pool's inhibition at the baseline's excitation (I · 0.2 = −β B·1), c₁ is B₁ δ₂ again."""
    brian = {
        "lif": {"error_baseline": 1.0},
        "extra": {"pool": {"size": 4, "model": "lif", "error": "0.2"}},
        "pathways": {"I": {"from": "pool", "to": "layer1", "into": "error", "sign": "negative", "carries": "positive"}},
    }
    e = engine(sizes=(6, 8, 3), brian=brian, feedback={"sign": "positive", "carries": "positive"})
    x, y, A, H = probe(e)
    d = e.deltas(A, H, y, e.backprop)[e.L]
    B, I = e.params.B[1], e.params.links["I"]
    np.testing.assert_allclose(route(e, A, H, d)["layer1"], (1 + d) @ B.T + 0.2 * I.sum(1), rtol=1e-12)
    I[...] = -(B.sum(1) / (0.2 * 4))[:, None]  # balanced
    np.testing.assert_allclose(route(e, A, H, d)["layer1"], d @ B.T, rtol=1e-9, atol=1e-12)


def test_a_route_beyond_rate_level_gives_no_effective_feedback():
    brian = {
        "extra": {"relay": {"size": 4, "model": "lif", "error": "err * (v > 0.1)"}},
        "pathways": {"R": {"from": "layer2", "to": "relay", "into": "error"}},
    }
    e = engine(sizes=(6, 8, 3), brian=brian, feedback={"source": "relay"})
    x, y, A, H = probe(e)
    with pytest.raises(Unroutable, match="err \\* \\(v > 0.1\\)"):
        route(e, A, H, e.deltas(A, H, y, e.backprop)[e.L])
    assert effective_angles(e, x, y) == {}
