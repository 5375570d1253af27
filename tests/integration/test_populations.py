"""Spiking populations with the neuron model a circuit file names: the shipped lif and alif, or the
membrane written as Brian2 code, inside the circuit's compartments (the population contract)."""

import re

import numpy as np
import pytest

from spikefa import SpikefaError, circuit_from_dict
from spikefa.brian import LifCircuit
from spikefa.reference import ReferenceEngine
from tests.conftest import tiny_circuit

X = np.random.default_rng(1).uniform(0.3, 1.0, (3, 6))
Y = np.eye(3)[[0, 2, 1]]


def lif(populations=None, **lif_fields):
    brian = {"neurons": "lif", "target": "numpy", "lif": lif_fields}
    if populations:
        brian["populations"] = populations
    raw = tiny_circuit("feedback_alignment", (6, 12, 3), "relu", engine="brian2", brian=brian)
    raw["network"]["init"] = {"dist": "uniform", "scale": 1.0}
    return LifCircuit(ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(0)))


def counts(circuit, learn=True):
    with circuit.monitoring((1,), ("spikes",)) as out:
        circuit.present(X, Y, 0.05, np.random.default_rng(7), learn=learn)
    return np.bincount(out["layer1_spikes_i"], minlength=12)


def test_a_membrane_written_as_brian2_code_runs_exactly_as_the_shipped_model_it_copies():
    shipped = lif()
    written = lif(
        {
            "hidden": {
                "equations": "dv/dt = (-v + u) / tau : 1 (unless refractory)",
                "threshold": "v > theta",
                "reset": "v = 0",
                "params": {"tau": "10 ms", "theta": 0.5},  # the shipped defaults (spec.Lif)
            }
        }
    )
    np.testing.assert_array_equal(counts(written), counts(shipped))
    np.testing.assert_array_equal(written.engine.params.W[0], shipped.engine.params.W[0])  # learned alike
    assert counts(shipped).sum() > 50  # a real spiking comparison


def test_alif_adapts_its_rate_and_starts_every_example_from_rest():
    plain, adaptive = lif(), lif({"hidden": {"model": "alif", "params": {"tau_a": "100 ms", "beta": 0.3}}})
    assert "a" in adaptive.groups[1].variables and "a" not in adaptive.groups[2].variables  # output stays lif
    assert counts(adaptive, learn=False).sum() < 0.8 * counts(plain, learn=False).sum()
    assert adaptive.state(1, "a").max() > 0.05  # adapted by the end of the last example
    adaptive._rest()
    assert np.all(adaptive.state(1, "a") == 0)


def test_a_layer_number_sets_one_layer_and_the_resolved_config_keeps_it():
    circuit = lif({"output": {"model": "alif"}, 1: {"model": "alif", "params": {"beta": 0.1}}})
    c = circuit.engine.circuit
    assert c.brian.population(1).params == {"beta": 0.1} and c.brian.population(2).model == "alif"
    assert circuit_from_dict(c.to_dict()) == c


SOFTSIGN = {"rate": "v / (1 + abs(v))", "slope": "1 / (1 + abs(v))**2"}


def test_a_rate_function_written_as_code_runs_in_both_engines_alike():
    from spikefa.brian import RateCircuit

    raw = tiny_circuit("kolen_pollack", (6, 5, 4, 3), optimizer={"lr": 0.1, "momentum": 0.5}, engine="brian2")
    raw["network"]["hidden"] = SOFTSIGN
    raw["brian"] = {"neurons": "rate", "target": "numpy"}
    c = circuit_from_dict(raw)
    assert str(c.network.hidden) == "f(v) = v / (1 + abs(v))" and circuit_from_dict(c.to_dict()) == c
    reference = ReferenceEngine(c, np.random.default_rng(4))
    brian = RateCircuit(ReferenceEngine(c, np.random.default_rng(4)))
    x, y = np.random.default_rng(1).standard_normal((3, 6)), np.eye(3)[[0, 2, 1]]
    seen = brian.present(x, y, 0.1, np.random.default_rng(0))
    for k in range(3):
        A, H = reference.forward(x[k : k + 1])
        np.testing.assert_allclose(H[1], A[1] / (1 + np.abs(A[1])))  # the engine evaluates the code
        deltas = reference.deltas(A, H, y[k : k + 1])
        for l in (1, 2):
            np.testing.assert_allclose(seen[k][1][l], H[l], rtol=1e-6, atol=1e-12)
            np.testing.assert_allclose(seen[k][2][l], deltas[l], rtol=1e-6, atol=1e-12)
        reference.learn(H, deltas, 0.1, np.random.default_rng(0))
    np.testing.assert_allclose(brian.engine.params.W[0], reference.params.W[0], rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize(
    "hidden, message",
    [
        ({"rate": "tanh(v)", "slope": "1 - tanh(v)"}, "network.hidden: slope: is not the derivative of rate"),
        ({"rate": "softplus(v)", "slope": "1"}, "network.hidden: rate: cannot evaluate it (ValueError: unknown name"),
        ({"rate": "v.__class__", "slope": "1"}, "rate: cannot evaluate it (ValueError: Attribute is not allowed"),
        ({"rate": "log(v)", "slope": "1 / v"}, "network.hidden: rate: 'log(v)' is not finite for every v"),
        ({"rate": "v"}, "network.hidden.slope: missing"),
    ],
)
def test_a_rate_function_that_is_not_one_is_refused(hidden, message):
    raw = tiny_circuit()
    raw["network"]["hidden"] = hidden
    with pytest.raises(SpikefaError, match=re.escape(message)):
        circuit_from_dict(raw)
