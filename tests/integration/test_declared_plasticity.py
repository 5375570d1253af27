"""Plasticity declared as Brian2 code in a circuit file (``forward.plasticity``, ``feedback.plasticity``):
a built-in rule restated as code learns what the built-in learns (the reference engine, or the spiking
circuit's own built-in, spike for spike); a user's three-factor rule learns (compiled:
test_standalone_lif.py); everything it may not read or say is refused in one line."""

import numpy as np
import pytest
import yaml

from spikefa import SpikefaError, circuit_from_dict
from spikefa.brian import LifCircuit, RateCircuit
from spikefa.reference import ReferenceEngine
from tests.conftest import ROOT
from tests.integration.test_generated_code import (
    PLAIN,
    assert_same_parameters,
    blocks,
    learned_one_by_one,
    raw_circuit,
)
from tests.integration.test_generated_lif import lif_data

# Kolen–Pollack (Akrout et al. 2019, eq. 6-7) said as each synapse's own change: W and B take the same
# update, transposed, and the same decay
KP_FORWARD = {"each_example": "w = (1 - decay) * w - eta * error_post * rate_pre"}
KP_FEEDBACK = {"each_example": "w = (1 - decay) * w - eta * error_pre * rate_post"}
NO_MOMENTUM = {"momentum": 0.0}
THREE_FACTOR = yaml.safe_load((ROOT / "circuits" / "hypotheses" / "three_factor_eligibility.yaml").read_text())


def test_kolen_pollack_written_as_code_learns_what_the_reference_engine_learns():
    """Both pathways declared in the file, on a rule with fixed feedback: the reference engine's
    built-in Kolen–Pollack, example by example, to rounding."""
    builtin = ReferenceEngine(
        circuit_from_dict(raw_circuit("kolen_pollack", optimizer=NO_MOMENTUM)), np.random.default_rng(4)
    )
    raw = raw_circuit("feedback_alignment", optimizer=NO_MOMENTUM)
    raw["forward"], raw["feedback"] = {"plasticity": KP_FORWARD}, {"plasticity": KP_FEEDBACK}
    twin = ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(4))
    circuit = RateCircuit(twin)
    want = learned_one_by_one(builtin, blocks())
    got = np.vstack([circuit.train_batch(x, y, lr, None)[1] for x, y, lr in blocks()])
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    assert_same_parameters(builtin.params, twin.params, rtol=1e-9, buffers=False)
    assert not np.allclose(
        twin.params.B[1], ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(4)).params.B[1]
    )


def lif_circuit(rule, declared: dict | None = None, target="numpy", optimizer=PLAIN) -> LifCircuit:
    raw = raw_circuit(rule, hidden="relu", optimizer=optimizer)
    raw["network"]["sizes"] = [6, 8, 3]
    raw["brian"] = {"neurons": "lif", "target": target, "plasticity": "code"}
    raw.update(declared or {})
    return LifCircuit(ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(4)))


def learn(circuit):
    x, y = lif_data()
    rng = np.random.default_rng(7)
    return np.vstack([circuit.train_batch(x[:4], y[:4], 0.1, rng)[1], circuit.train_batch(x[4:], y[4:], 0.05, rng)[1]])


def test_a_spiking_circuits_builtin_rules_restated_as_code_are_the_builtins_spike_for_spike():
    """LIF, Kolen–Pollack with weight decay: the declared statements read the same compartments and
    traces (rate_pre: r ÷ fill; error_pre: the error events' count) as the built-in's."""
    optimizer = {"momentum": 0.0, "weight_decay": 0.01}
    builtin = lif_circuit("kolen_pollack", optimizer=optimizer)
    declared = {"forward": {"plasticity": KP_FORWARD}, "feedback": {"plasticity": KP_FEEDBACK}}
    code = lif_circuit("feedback_alignment", declared, optimizer=optimizer)
    np.testing.assert_allclose(learn(code), learn(builtin), rtol=1e-9)
    assert_same_parameters(builtin.engine.params, code.engine.params, rtol=1e-9, buffers=False)


def test_a_three_factor_rule_written_in_yaml_learns_locally():
    """The worked example's eligibility trace (circuits/hypotheses/three_factor_eligibility.yaml) on a
    tiny circuit: it learns and obeys the locality contract (compiled: test_standalone_lif.py)."""
    circuit = lif_circuit("feedback_alignment", {"forward": THREE_FACTOR["forward"]})
    start = [w.copy() for w in circuit.engine.params.W]
    learn(circuit)
    assert all(np.abs(w - s).max() > 0 for w, s in zip(circuit.engine.params.W, start))


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        (
            {"forward": {1: {"plasticity": {"each_example": "w = w - eta * u_pre"}}}},
            "forward.plasticity (W1): plasticity reads 'u_pre', which its synapse cannot see",
        ),
        (
            {"forward": {1: {"plasticity": {"on_pre": "v_pre = 0"}}}},
            "forward.plasticity (W1): plasticity writes 'v_pre', which its synapse cannot change",
        ),
        (
            {"forward": {"plasticity": {"each_example": "w = w - eta * nothing_here"}}},
            'forward.plasticity (W0).each_example: The identifier "nothing_here" could not be resolved',
        ),
        (
            {"forward": {"plasticity": {"each_example": "w = w - tau_e", "constants": {"tau_e": "3 ms"}}}},
            "forward.plasticity (W0).each_example: ",
        ),
        (
            {"forward": {"plasticity": {"variables": "x / dt : 1", "each_example": "w = w"}}},
            "forward.plasticity (W0): ",
        ),
        (
            {"forward": {"plasticity": {"each_example": "w = w", "constants": {"tau_e": "3 parsecs"}}}},
            "forward.plasticity (W0).constants.tau_e: '3 parsecs' is not a number with a Brian2 unit",
        ),
    ],
)
def test_what_a_declared_rule_may_not_read_or_say_is_refused_in_one_line(declared, message):
    with pytest.raises(SpikefaError) as caught:
        lif_circuit("feedback_alignment", declared, target="numpy")
    text = str(caught.value)
    assert text.startswith(message) and "\n" not in text and len(text) < 400, text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"forward": {"plasticity": {"each_example": "w = w", "typo": "x"}}},
            "forward.plasticity.typo: unknown field; allowed: variables, on_pre, on_post, each_example, constants",
        ),
        ({"forward": {"plasticity": {"variables": "x : 1"}}}, "forward.plasticity: declares no statements"),
        (
            {"forward": {"plasticity": {"on_pre": "w = w"}}},
            "forward.plasticity.on_pre: only for neurons: lif (rate neurons fire no spikes); use each_example",
        ),
        (
            {"forward": {"plasticity": {"each_example": "w = w"}}, "engine": "reference", "brian": None},
            "forward.plasticity: Brian2 code runs on Brian2's synapses: it needs engine: brian2",
        ),
        (
            {"forward": {"plasticity": {"each_example": "w = w"}}, "brian": {"plasticity": "kernels"}},
            "brian.plasticity: forward.plasticity is Brian2 code: it needs plasticity: code",
        ),
        (
            {"feedback": {"plasticity": {"each_example": "w = w"}}, "rule": {"name": "kolen_pollack"}},
            "feedback.plasticity: rule kolen_pollack has feedback of its own making",
        ),
        (
            {"forward": {"plasticity": {"each_example": "w = w"}}, "optimizer": {"momentum": 0.9}},
            "forward.plasticity: code plasticity keeps no momentum buffer",
        ),
        (
            {"forward": {"plasticity": {"each_example": "w = w", "constants": {"tau": [1]}}}},
            "forward.plasticity.constants.tau: must be a number, or a number and a Brian2 unit ('20 ms'), got [1]",
        ),
    ],
)
def test_bad_plasticity_fields_are_refused_in_one_line(change, message):
    raw = raw_circuit("feedback_alignment", optimizer=NO_MOMENTUM)
    for key, value in change.items():
        if value is None:
            raw.pop(key)
        elif isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key].update(value)
        else:
            raw[key] = value
    with pytest.raises(SpikefaError) as caught:
        circuit_from_dict(raw)
    text = str(caught.value)
    assert text.startswith(f"circuit: {message}") and "\n" not in text, text


def test_a_declared_rule_survives_the_resolved_config():
    raw = raw_circuit("feedback_alignment", optimizer=NO_MOMENTUM)
    raw["forward"] = {"plasticity": {**KP_FORWARD, "constants": {"tau_e": "30 ms", "k": 2}}}
    raw["feedback"] = {"plasticity": KP_FEEDBACK, "sign": "positive"}
    circuit = circuit_from_dict(raw)
    again = circuit_from_dict(circuit.to_dict())
    assert again == circuit
    assert again.forward[0].plasticity.constants == (("tau_e", "30 ms"), ("k", "2"))


def test_online_learning_restated_as_code_is_the_builtin_spike_for_spike():
    """brian.learning: online, feedback alignment: W's change on each presynaptic spike (eRBP-like,
    spikefa.brian.online) written as an on_pre statement is the built-in, spike for spike."""
    builtin = lif_circuit("feedback_alignment", {"brian": {"neurons": "lif", "target": "numpy", "learning": "online"}})
    k = 1.0 / (float(builtin.namespace["max_rate"]) * builtin.example_steps() * float(builtin.dt))
    rule = {"on_pre": "w = w - eta * k * error_post", "constants": {"k": repr(k)}}
    declared = {"forward": {"plasticity": rule}, "brian": {"neurons": "lif", "target": "numpy", "learning": "online"}}
    code = lif_circuit("feedback_alignment", declared)
    np.testing.assert_allclose(learn(code), learn(builtin), rtol=1e-9)
    assert_same_parameters(builtin.engine.params, code.engine.params, rtol=1e-9, buffers=False)
