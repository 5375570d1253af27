"""Feedback pathways written in the circuit file: sparse connectivity (real sparse Synapses in Brian2),
sign constraints that plasticity never crosses, log-normal initial weights, delayed error events."""

import numpy as np
import pytest

from spikefa import SpikefaError, circuit_from_dict
from spikefa.brian import LifCircuit, RateCircuit
from spikefa.reference import ReferenceEngine
from tests.conftest import tiny_circuit

X = np.random.default_rng(1).standard_normal((40, 6))
Y = np.eye(3)[np.random.default_rng(2).integers(0, 3, 40)]


def engine(rule, feedback, sizes=(6, 20, 12, 3), seed=4, **extra):
    raw = tiny_circuit(rule, sizes, optimizer={"lr": 0.1, "momentum": 0.5, "weight_decay": 0.01}, **extra)
    raw["feedback"] = feedback
    return ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(seed))


def test_sparse_feedback_keeps_its_missing_synapses_at_zero_while_b_learns():
    e = engine("kolen_pollack", {"connectivity": 0.2, 2: {"connectivity": 0.5}})
    masks = {l: e.params.B[l] != 0 for l in (1, 2)}
    assert abs(masks[1].mean() - 0.2) < 0.08 and abs(masks[2].mean() - 0.5) < 0.12
    before = [b.copy() for b in e.params.B[1:]]
    for k in range(0, 40, 8):
        e.train_batch(X[k : k + 8], Y[k : k + 8], 0.1, np.random.default_rng(0))
    for l in (1, 2):
        B = e.params.B[l]
        assert np.all(B[~masks[l]] == 0)
        assert np.abs(B[masks[l]] - before[l - 1][masks[l]]).max() > 1e-3  # the synapses that exist learned


def test_sign_constrained_feedback_never_crosses_zero():
    e = engine("kolen_pollack", {"sign": "positive", "init": {"dist": "lognormal", "scale": 0.1, "sigma": 0.5}})
    assert all(np.all(e.params.B[l] > 0) for l in (1, 2))
    logs = np.log(e.params.B[1])  # log-normal magnitudes: log w ~ N(log 0.1, 0.5²)
    assert abs(logs.mean() - np.log(0.1)) < 0.15 and abs(logs.std() - 0.5) < 0.1
    free = engine("kolen_pollack", {"init": {"dist": "lognormal", "scale": 0.1, "sigma": 0.5}})
    for k in range(0, 40, 8):
        for each in (e, free):
            each.train_batch(X[k : k + 8], Y[k : k + 8], 0.5, np.random.default_rng(0))
    assert np.any(free.params.B[1] < 0) and np.any(free.params.B[1] > 0)  # unconstrained: both signs
    for l in (1, 2):
        assert np.all(e.params.B[l] >= 0)
        assert np.any(e.params.B[l] == 0)  # plasticity pushed some to zero, where they stopped
    negative = engine("weight_mirror", {"sign": "negative"})
    negative.mirror(100, np.random.default_rng(0))  # B → Wᵀ, half of which is positive: held at 0 instead
    assert all(np.all(negative.params.B[l] <= 0) and np.mean(negative.params.B[l] == 0) > 0.3 for l in (1, 2))


@pytest.mark.parametrize("rule", ["kolen_pollack", "sign_symmetry", "direct_feedback_alignment"])
def test_sparse_brian2_pathway_learns_like_the_dense_computation_on_its_connections(rule):
    feedback = {"connectivity": 0.3, "sign": "positive"} if rule != "sign_symmetry" else {"connectivity": 0.3}
    reference = engine(rule, feedback)
    circuit = RateCircuit(engine(rule, feedback), target="numpy")
    for l in (1, 2):
        syn, B = circuit.feedback[l], reference.params.B[l]
        assert len(syn) == np.count_nonzero(reference.structure.masks[l]) < B.size  # only the synapses that exist
    seen = circuit.present(X[:5], Y[:5], 0.1, np.random.default_rng(0))
    for k in range(5):
        A, H = reference.forward(X[k : k + 1])
        deltas = reference.deltas(A, H, Y[k : k + 1])
        for l in (1, 2):
            np.testing.assert_allclose(seen[k][2][l], deltas[l], rtol=1e-6, atol=1e-12)
        reference.learn(H, deltas, 0.1, np.random.default_rng(0))
    for l in (1, 2):
        syn, B = circuit.feedback[l], reference.params.B[l]
        np.testing.assert_allclose(syn.w[:], B[syn.j[:], syn.i[:]], rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(circuit.engine.params.B[l], B, rtol=1e-6, atol=1e-12)


def test_lif_feedback_delay_is_seen_in_a_monitor():
    def first_error_arrival(delay):
        raw = tiny_circuit(
            "feedback_alignment",
            (6, 8, 3),
            "relu",
            engine="brian2",
            brian={"neurons": "lif", "target": "numpy", "error_time": "20 ms"},
            feedback={"delay": delay, "init": {"dist": "uniform", "scale": 1.0}},
        )
        circuit = LifCircuit(ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(0)))
        x = np.full((1, 6), 0.8)
        with circuit.monitoring((1, 2), ("err", "spikes")) as out:
            circuit.present(x, np.eye(3)[[1]], 0.0, np.random.default_rng(3), learn=False, errors=True)
        sent = min(out["layer2_err_pos_t"].min(initial=1), out["layer2_err_neg_t"].min(initial=1))
        moved = out["t"][np.argmax(np.any(out["layer1_err"] != 0, axis=0))]
        return sent, moved

    sent, moved = first_error_arrival("0 ms")
    assert 0 <= moved - sent <= 0.0005 + 1e-9  # the next step
    sent, moved = first_error_arrival("3 ms")
    assert 0.003 - 1e-9 <= moved - sent <= 0.0035 + 1e-9


def test_sparse_sign_constrained_forward_pathways_hold_in_both_engines():
    raw = tiny_circuit("feedback_alignment", (6, 20, 12, 3), optimizer={"lr": 0.1, "momentum": 0.5})
    raw["forward"] = {"connectivity": 0.4, 1: {"sign": "positive", "connectivity": 1.0}}
    c = circuit_from_dict(raw)
    assert [p.connectivity for p in c.forward] == [0.4, 1.0, 0.4] and c.forward[1].sign == "positive"
    reference = ReferenceEngine(c, np.random.default_rng(4))
    brian = RateCircuit(ReferenceEngine(c, np.random.default_rng(4)), target="numpy")
    masks = reference.forward_structure.masks
    assert set(masks) == {0, 2} and len(brian.forward[0]) == masks[0].sum() < masks[0].size
    assert len(brian.forward[1]) == 20 * 12 and np.all(reference.params.W[1] >= 0)
    seen = brian.present(X[:6], Y[:6], 0.1, np.random.default_rng(0))
    for k in range(6):
        A, H = reference.forward(X[k : k + 1])
        deltas = reference.deltas(A, H, Y[k : k + 1])
        for l in (1, 2, 3):
            np.testing.assert_allclose(seen[k][0][l], A[l], rtol=1e-6, atol=1e-12)
        reference.learn(H, deltas, 0.1, np.random.default_rng(0))
    for l in range(3):
        W = reference.params.W[l]
        np.testing.assert_allclose(brian.engine.params.W[l], W, rtol=1e-6, atol=1e-12)
        syn = brian.forward[l]
        np.testing.assert_allclose(syn.w[:], W[syn.j[:], syn.i[:]], rtol=1e-6, atol=1e-12)
        if l in masks:
            assert np.all(W[~masks[l]] == 0)
    assert np.all(reference.params.W[1] >= 0) and np.any(reference.params.W[1] == 0)  # held at zero


@pytest.mark.parametrize("plasticity", ["kernels", "code"])
@pytest.mark.parametrize("rule", ["feedback_alignment", "kolen_pollack", "direct_feedback_alignment"])
def test_a_delayed_rate_pathway_settles_to_the_reference_engine_and_is_late_by_its_delay(rule, plasticity):
    """On the Python schedule (its delay line) and in generated code (the source population's line of
    variables) alike."""

    def circuit(delay, error_time):
        raw = tiny_circuit(rule, (6, 5, 4, 3), optimizer={"lr": 0.1, "momentum": 0.5}, engine="brian2")
        raw["brian"] = {"neurons": "rate", "target": "numpy", "error_time": error_time, "plasticity": plasticity}
        raw["feedback"] = {"delay": delay, 1: {"delay": "1 ms"}}
        c = circuit_from_dict(raw)
        return ReferenceEngine(c, np.random.default_rng(4)), RateCircuit(ReferenceEngine(c, np.random.default_rng(4)))

    need = "5 ms" if rule != "direct_feedback_alignment" else "3 ms"  # (1 + 2) + (1 + 1) steps, or 1 + 2
    reference, brian = circuit("2 ms", need)
    if plasticity == "code":
        outs = brian.train_batch(X[:3], Y[:3], 0.1, np.random.default_rng(0))[1]
    else:
        seen = brian.present(X[:3], Y[:3], 0.1, np.random.default_rng(0))
    for k in range(3):
        A, H = reference.forward(X[k : k + 1])
        deltas = reference.deltas(A, H, Y[k : k + 1])
        if plasticity == "code":
            np.testing.assert_allclose(outs[k], H[-1][0], rtol=1e-6, atol=1e-12)
        else:
            for l in (1, 2):
                np.testing.assert_allclose(seen[k][2][l], deltas[l], rtol=1e-6, atol=1e-12)
        reference.learn(H, deltas, 0.1, np.random.default_rng(0))
    for name, a in reference.params.arrays().items():
        np.testing.assert_allclose(brian.engine.params.arrays()[name], a, rtol=1e-6, atol=1e-12, err_msg=name)
    # the error compartment of layer 2 first moves 1 + 2 steps after the output error is set
    from brian2 import StateMonitor

    mon = StateMonitor(brian.groups[2], "err", record=True, when="end")
    brian.network.add(mon)
    if plasticity == "code":
        brian.generated.run(X[:1], Y[:1], 0.0, None, learn=False)
    else:
        brian.present(X[:1], Y[:1], 0.0, np.random.default_rng(0), learn=False)
    moved = np.flatnonzero(np.any(mon.err[:] != 0, axis=0))[0]
    assert moved == brian.forward_steps + 2  # taught at step F, carried in step F + 2 (the third)
    if rule != "direct_feedback_alignment":  # (for DFA any error_time past the delay is enough)
        with pytest.raises(SpikefaError, match="need 5 steps of dt = 1 ms .* at least 5 ms"):
            circuit("2 ms", "4 ms")


def test_a_pathways_weight_matrix_outlives_its_circuit():
    """A pathway's weight matrix is a live view of its synapses' weights; Brian2 2.11's dynamic arrays give
    NumPy no owner of that memory, so the view keeps the Synapses alive itself: weights read from a circuit
    stay valid once the circuit is gone (a plain view read freed memory, 3.6e-320 among 1.5s)."""
    import gc

    from brian2 import NeuronGroup, Synapses

    from spikefa.brian.pathways import matrix_view

    def weights():
        group = NeuronGroup(40, "v : 1")
        syn = Synapses(group, group, "w : 1")
        syn.connect()
        W = matrix_view(syn)
        W[...] = 1.5
        return W

    W = weights()
    gc.collect()
    filler = [np.full(1000, float(k)) for k in range(2000)]  # reuses freed memory, if any was freed
    assert len(filler) == 2000 and (W == 1.5).all()
