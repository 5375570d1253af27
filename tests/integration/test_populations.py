"""Spiking populations with the neuron model a circuit file names: the shipped lif and alif, or the
membrane written as Brian2 code, inside the circuit's compartments (the population contract)."""

import numpy as np

from spikefa import circuit_from_dict
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
                "params": {"tau": "10 ms", "theta": 0.25},
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
