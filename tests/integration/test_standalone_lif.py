"""Spiking (LIF) circuits compiled (cpp_standalone), each in a process of its own (Brian2's standalone
device is global), against the same circuit on a runtime target: the same spikes, events and weights."""

import json
import subprocess
import sys

import numpy as np
import pytest
import yaml

from spikefa import circuit_from_dict
from spikefa.brian import LifCircuit
from spikefa.reference import ReferenceEngine
from tests.conftest import ROOT
from tests.integration.test_generated_code import raw_circuit
from tests.integration.test_generated_lif import LIF_MIRROR, lif_data, lif_learn_and_mirror, lif_pair

THREE_FACTOR = yaml.safe_load((ROOT / "circuits" / "hypotheses" / "three_factor_eligibility.yaml").read_text())

pytestmark = pytest.mark.slow  # each test compiles a project

LIF_STANDALONE = """
import json, sys, numpy as np
from spikefa import circuit_from_dict
from spikefa.brian import LifCircuit
from spikefa.reference import ReferenceEngine
from tests.integration.test_generated_lif import lif_data, lif_learn_and_mirror
raw = json.loads(sys.argv[1])
engine = ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(4))
circuit = LifCircuit(engine)
outs = lif_learn_and_mirror(circuit, (2, 3))
np.savez(sys.argv[2], outputs=outs, test=circuit.predict(lif_data()[0]), **engine.params.arrays())
"""


def lif_standalone(raw: dict, tmp_path) -> dict:
    """:data:`LIF_STANDALONE` on circuit ``raw`` in a process of its own (Brian2's standalone device is
    global): its outputs, test outputs and parameters."""
    out = tmp_path / "standalone.npz"
    done = subprocess.run(
        [sys.executable, "-c", LIF_STANDALONE, json.dumps(raw), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return np.load(out)


def test_lif_on_cpp_standalone_is_the_runtime_circuit_spike_for_spike(tmp_path):
    """The compiled project seeds its generators from each run's seed as Brian2's runtime does: the
    same spikes, the same error events, the same weights — blocks and mirror segments (the second call
    two segments, one partly used) alike."""
    _, code = lif_pair("weight_mirror", target="cython")  # cpp_standalone draws as cython does
    raw = raw_circuit("weight_mirror", hidden="relu", mirror=LIF_MIRROR)
    raw["network"]["sizes"] = [6, 8, 3]
    raw["brian"] = {"neurons": "lif", "target": "cpp_standalone", "lif": {"tau_trace": "4 ms"}}
    got = lif_standalone(raw, tmp_path)
    outs = lif_learn_and_mirror(code, (2, 3))
    np.testing.assert_allclose(got["outputs"], outs, rtol=1e-9)
    np.testing.assert_allclose(got["test"], code.predict(lif_data()[0]), rtol=1e-9)
    for name, a in code.engine.params.arrays().items():
        if not (name.startswith("v") and not np.any(a)):
            np.testing.assert_allclose(got[name], a, rtol=1e-9, atol=1e-12, err_msg=name)


def test_online_learning_on_cpp_standalone_is_the_runtime_circuit_spike_for_spike(tmp_path):
    """Online learning (Kolen–Pollack: W on presynaptic spikes, B on its target's spikes by its trace of
    the events it carried) is Brian2 code on the synapses' own events: compiled, the same weights. W₁
    learns instead by the three-factor rule of circuits/hypotheses/three_factor_eligibility.yaml, written
    as code in the circuit file (an eligibility trace on events, a change at each example's end)."""
    raw = raw_circuit("kolen_pollack", hidden="relu", optimizer={"momentum": 0.0})
    raw["network"]["sizes"] = [6, 8, 3]
    raw["forward"] = {1: THREE_FACTOR["forward"]}
    raw["brian"] = {"neurons": "lif", "target": "cython", "learning": "online"}
    runtime = LifCircuit(ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(4)))
    raw["brian"]["target"] = "cpp_standalone"
    got = lif_standalone(raw, tmp_path)
    outs = lif_learn_and_mirror(runtime, (2, 3))  # (a rule without mirror phases: no mirror steps)
    np.testing.assert_allclose(got["outputs"], outs, rtol=1e-9)
    for name, a in runtime.engine.params.arrays().items():
        np.testing.assert_allclose(got[name], a, rtol=1e-9, atol=1e-12, err_msg=name)
    start = ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(4)).params
    assert np.abs(got["B1"] - start.B[1]).max() > 0 and np.abs(got["W1"] - start.W[1]).max() > 0


POOL = {
    "extra": {"pool": {"size": 5, "model": "lif"}},
    "pathways": {
        "P": {"from": "layer2", "to": "pool", "into": "error", "sign": "positive", "carries": "negative"},
        "I": {"from": "pool", "to": "layer1", "into": "error", "sign": "negative", "carries": "positive"},
        "D": {"from": "layer0", "to": "pool", "into": "drive", "connectivity": 0.5},
        "L": {"from": "pool", "to": "pool", "into": "drive", "sign": "negative"},
    },
}


def test_extra_populations_and_pathways_compiled_are_the_python_schedules_spike_for_spike(tmp_path):
    """An interneuron pool (the negative errors' route, Dale's law), its drive from the input and its
    lateral inhibition, compiled: the Python-scheduled circuit's spikes, weights and test outputs."""
    raw = raw_circuit("feedback_alignment", hidden="relu")
    raw["network"]["sizes"] = [6, 8, 3]
    raw["feedback"] = {"sign": "positive", "carries": "positive", "init": {"dist": "lognormal", "scale": 0.3}}
    raw["brian"] = {"neurons": "lif", "target": "cython", "plasticity": "kernels", **POOL}
    python = LifCircuit(ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(4)))
    raw["brian"] |= {"target": "cpp_standalone", "plasticity": "code"}
    got = lif_standalone(raw, tmp_path)
    np.testing.assert_allclose(got["outputs"], lif_learn_and_mirror(python, (2, 3)), rtol=1e-9)
    np.testing.assert_allclose(got["test"], python.predict(lif_data()[0]), rtol=1e-9)
    for name, a in python.engine.params.arrays().items():
        np.testing.assert_allclose(got[name], a, rtol=1e-9, atol=1e-12, err_msg=name)
    assert np.abs(got["W0"] - ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(4)).params.W[0]).max() > 0
