"""A Brian2 rate circuit at steady state (dt = tau) against the reference engine: same weights, same
example ⇒ same activities, errors and weight changes (ANCHORS.md: NEST's e-prop tests use 1e-7)."""

import copy

import numpy as np
import pytest
from brian2 import prefs

from spikefa import SpikefaError, circuit_from_dict, spec
from spikefa.brian import RateCircuit
from spikefa.reference import ReferenceEngine
from tests.conftest import tiny_circuit

RULES = spec.RULES


def pair(rule, hidden="tanh", output="softmax", sizes=(6, 5, 4, 3), target="numpy"):
    raw = tiny_circuit(rule, sizes, hidden, output, optimizer={"lr": 0.1, "momentum": 0.5, "weight_decay": 0.01})
    if rule == "weight_mirror":
        raw["rule"]["mirror"] = {"steps_per_batch": 0}
    circuit = circuit_from_dict(raw)
    reference = ReferenceEngine(circuit, np.random.default_rng(4))
    twin = ReferenceEngine(circuit, np.random.default_rng(99))
    twin.params = copy.deepcopy(reference.params)
    return reference, RateCircuit(twin, target=target)


@pytest.mark.parametrize("rule", RULES)
def test_rate_circuit_matches_reference_engine(rule):
    reference, circuit = pair(rule)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 6))
    y = np.eye(3)[[0, 2, 1]]
    seen = circuit.present(x, y, 0.1, np.random.default_rng(0))
    for k in range(3):  # three examples in one run, each learned from before the next
        A, H = reference.forward(x[k : k + 1])
        deltas = reference.deltas(A, H, y[k : k + 1])
        bA, bH, bdeltas = seen[k]
        for l in range(1, 4):
            np.testing.assert_allclose(bA[l], A[l], rtol=1e-6, atol=1e-12)
            np.testing.assert_allclose(bH[l], H[l], rtol=1e-6, atol=1e-12)
            np.testing.assert_allclose(bdeltas[l], deltas[l], rtol=1e-6, atol=1e-12)
        reference.learn(H, deltas, 0.1, np.random.default_rng(0))
    p, q = reference.params, circuit.engine.params
    for l in range(3):
        np.testing.assert_allclose(q.W[l], p.W[l], rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(q.b[l], p.b[l], rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(circuit.forward[l].w[:], p.W[l].T.ravel(), rtol=1e-6, atol=1e-12)
    for l in (1, 2):
        fb = reference.rule.feedback(l, p)
        if fb is None:  # shallow learning: no feedback pathway
            assert circuit.feedback[l] is None and circuit.B[l] is None
            continue
        np.testing.assert_allclose(circuit.B[l], fb, rtol=1e-6, atol=1e-12)  # the feedback synapses' own weights


def test_weights_are_views_of_the_synapses():
    _, circuit = pair("kolen_pollack", hidden="relu", output="linear")
    W = circuit.engine.params.W[1]
    W[0, 0] = 123.0
    assert circuit.forward[1].w[0] == 123.0
    assert circuit.engine.params.B[1] is circuit.B[1]


def test_local_classifiers_are_populations_with_fixed_synapses_both_ways():
    reference, circuit = pair("local_classifiers")
    p = circuit.engine.params
    for l in (1, 2):
        assert len(circuit.classifiers[l]) == 3
        np.testing.assert_array_equal(circuit.readouts[l].w[:], p.B[l].ravel())  # h_l → classifier: B_lᵀ
        assert p.B[l] is circuit.B[l]  # classifier → error compartment: B_l
    before = [b.copy() for b in p.B[1:]]
    circuit.present(np.ones((2, 6)), np.eye(3)[[0, 1]], 0.1, np.random.default_rng(0))
    for l in (1, 2):
        np.testing.assert_array_equal(circuit.B[l], before[l - 1])
        np.testing.assert_array_equal(circuit.readouts[l].w[:], before[l - 1].ravel())


@pytest.mark.parametrize("level", ["0", "3"])
def test_cython_target_gives_the_same_numbers(level, monkeypatch, brian_prefs):
    """At the suite's -O0 and at Brian2's own -O3 (SPIKEFA_OPT_LEVEL), each in a Cython cache folder of its
    own: the numpy target's numbers."""
    # the structure of circuits/brian_digits_fa.yaml (64-100-10 there): the Cython modules it compiles on a
    # cold machine are the ones the digits runs need, which other tests compile too
    monkeypatch.setenv("SPIKEFA_OPT_LEVEL", level)
    shape = {"hidden": "relu", "output": "softmax", "sizes": (6, 5, 3)}
    _, numpy_circuit = pair("feedback_alignment", **shape)
    _, cython_circuit = pair("feedback_alignment", **shape, target="cython")
    x, y = np.random.default_rng(2).standard_normal((2, 6)), np.eye(3)[[1, 2]]
    a = numpy_circuit.present(x, y, 0.1, np.random.default_rng(0))
    b = cython_circuit.present(x, y, 0.1, np.random.default_rng(0))
    for (A1, H1, d1), (A2, H2, d2) in zip(a, b):
        np.testing.assert_allclose(A2[-1], A1[-1], rtol=1e-9)
        for l in range(1, 3):
            np.testing.assert_allclose(H2[l], H1[l], rtol=1e-9)
            np.testing.assert_allclose(d2[l], d1[l], rtol=1e-9)
    np.testing.assert_allclose(cython_circuit.engine.params.W[0], numpy_circuit.engine.params.W[0], rtol=1e-9)
    assert prefs["codegen.cpp.extra_compile_args_gcc"][-1] == f"-O{level}"
    assert prefs["codegen.runtime.cython.cache_dir"].endswith(f"brian_extensions-O{level}")


def mirror_pair(batch_size, rate=0.05, seed=5, sizes=(20, 30, 15, 10)):
    raw = tiny_circuit("weight_mirror", sizes, "tanh", "softmax")
    raw["rule"]["mirror"] = {"batch_size": batch_size, "lr": rate, "decay": rate, "noise_std": 0.7}
    reference = ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(seed))
    twin = ReferenceEngine(reference.circuit, np.random.default_rng(seed))
    return reference, RateCircuit(twin, target="numpy")


def test_mirror_mode_circuit_makes_the_hebbian_update_of_its_own_noise():
    reference, circuit = mirror_pair(batch_size=8)
    circuit.mirror(2, np.random.default_rng(3))
    draws, p = np.random.default_rng(3), reference.params
    for _ in range(2):  # the circuit draws one noise vector per hidden layer per time step
        x = {1: np.empty((8, 30)), 2: np.empty((8, 15))}
        for t in range(8):
            for l in (1, 2):
                x[l][t] = draws.standard_normal(x[l].shape[1]) * 0.7
        for l in (1, 2):
            reference.rule.mirror_update(l, p.B[l], x[l], x[l] @ p.W[l].T)  # y: the drive W x of the layer above
    for l in (1, 2):
        np.testing.assert_allclose(circuit.B[l], p.B[l], rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(circuit.engine.params.W[l], p.W[l])  # only B learns in mirror mode


def test_mirror_mode_circuit_aligns_feedback_without_labels():
    _, circuit = mirror_pair(batch_size=16, rate=0.01)
    assert all(a > 75 for a in circuit.engine.feedback_angles().values())
    circuit.mirror(400, np.random.default_rng(1))
    after = circuit.engine.feedback_angles()
    assert all(a < 10.0 for a in after.values()), after


def test_monitors_record_the_settled_states_the_reference_computes():
    reference, circuit = pair("feedback_alignment")
    x, y = np.random.default_rng(6).standard_normal((2, 6)), np.eye(3)[[2, 0]]
    rec = circuit.record(x, y, (0, 1, 3), ("r", "err", "delta"))
    steps = 3 + 2  # L forward steps, L − 1 error steps
    assert set(rec) == {"t", "layer0_r", "layer1_r", "layer1_err", "layer1_delta", "layer3_r", "layer3_delta"}
    assert rec["layer1_r"].shape == (5, 2 * steps) and len(rec["t"]) == 2 * steps
    for k in range(2):
        A, H = reference.forward(x[k : k + 1])
        deltas = reference.deltas(A, H, y[k : k + 1])
        np.testing.assert_allclose(rec["layer1_r"][:, k * steps], H[1][0], rtol=1e-9)  # settled after one step
        np.testing.assert_allclose(rec["layer3_r"][:, k * steps + 2], A[3][0], rtol=1e-9)  # output drive, step L
        np.testing.assert_allclose(rec["layer1_delta"][:, (k + 1) * steps - 1], deltas[1][0], rtol=1e-9)
    np.testing.assert_array_equal(circuit.engine.params.W[0], reference.params.W[0])  # recording does not learn


def test_rate_circuit_with_dt_below_tau_relaxes_to_the_reference():
    """tau dv/dt = −v + I_ff integrated at dt = tau / 10: after 30 tau of forward time the activities,
    errors and weight changes are the reference engine's to 1e-6 relative."""
    raw = tiny_circuit("feedback_alignment", (6, 5, 4, 3), "tanh", optimizer={"lr": 0.1})
    raw.update(engine="brian2", brian={"tau": "1 ms", "dt": "0.1 ms", "forward_time": "30 ms", "target": "numpy"})
    circuit = circuit_from_dict(raw)
    reference = ReferenceEngine(circuit, np.random.default_rng(4))
    twin = ReferenceEngine(circuit, np.random.default_rng(99))
    twin.params = copy.deepcopy(reference.params)
    brian = RateCircuit(twin)
    assert brian.forward_steps == 300 and brian.error_steps == 2  # error_time: L − 1 steps by default
    x, y = np.random.default_rng(1).standard_normal((2, 6)), np.eye(3)[[0, 2]]
    seen = brian.present(x, y, 0.1, np.random.default_rng(0))
    for k in range(2):
        A, H = reference.forward(x[k : k + 1])
        deltas = reference.deltas(A, H, y[k : k + 1])
        for l in range(1, 4):
            np.testing.assert_allclose(seen[k][0][l], A[l], rtol=1e-6, atol=1e-9)
            np.testing.assert_allclose(seen[k][2][l], deltas[l], rtol=1e-6, atol=1e-9)
        reference.learn(H, deltas, 0.1, np.random.default_rng(0))
    np.testing.assert_allclose(twin.params.W[0], reference.params.W[0], rtol=1e-6)
    short = dict(raw, brian=dict(raw["brian"], forward_time="0.2 ms"))
    with pytest.raises(SpikefaError, match="brian.forward_time: must be at least 3 steps"):
        circuit_from_dict(short)
