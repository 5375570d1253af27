"""Online learning and a rule written as code in the circuit file, compiled (cpp_standalone), against the runtime
circuit: the same weights."""

import numpy as np
import pytest
import yaml

from spikefa import circuit_from_dict
from spikefa.brian import LifCircuit
from spikefa.reference import ReferenceEngine
from tests.conftest import ROOT
from tests.integration.test_generated_code import raw_circuit
from tests.integration.test_generated_lif import lif_learn_and_mirror
from tests.integration.test_standalone_lif import lif_standalone

pytestmark = pytest.mark.slow  # compiles a project

THREE_FACTOR = yaml.safe_load((ROOT / "circuits" / "hypotheses" / "three_factor_eligibility.yaml").read_text())


def test_online_learning_on_cpp_standalone_is_the_runtime_circuit_spike_for_spike(tmp_path):
    """Online learning (Kolen–Pollack: W on presynaptic spikes, B on its target's spikes by its trace of
    the events it carried) is Brian2 code on the synapses' own events: compiled, the same weights. W₁
    learns instead by the three-factor rule of circuits/hypotheses/three_factor_eligibility.yaml, written
    as code in the circuit file (an eligibility trace on events, a change at each example's end). A tonic
    inhibitory pool's pathway into the hidden error compartments learns by its own declared code (a
    brian.pathways plasticity: balancing inhibition)."""
    raw = raw_circuit("kolen_pollack", hidden="relu", optimizer={"momentum": 0.0})
    raw["network"]["sizes"] = [6, 8, 3]
    raw["forward"] = {1: THREE_FACTOR["forward"]}
    inhibition = {"from": "pool", "to": "layer1", "into": "error", "carries": "positive", "sign": "negative"}
    inhibition["plasticity"] = {"on_pre": "w = w - k * eta * err_post", "constants": {"k": 0.5}}
    raw["brian"] = {
        "neurons": "lif",
        "target": "cython",
        "learning": "online",
        "extra": {"pool": {"size": 3, "model": "lif", "error": "0.5"}},
        "pathways": {"I": inhibition},
    }
    runtime = LifCircuit(ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(4)))
    raw["brian"]["target"] = "cpp_standalone"
    got = lif_standalone(raw, tmp_path)
    outs = lif_learn_and_mirror(runtime, (2, 3))  # (a rule without mirror phases: no mirror steps)
    np.testing.assert_allclose(got["outputs"], outs, rtol=1e-9)
    for name, a in runtime.engine.params.arrays().items():
        np.testing.assert_allclose(got[name], a, rtol=1e-9, atol=1e-12, err_msg=name)
    start = ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(4)).params
    assert np.abs(got["B1"] - start.B[1]).max() > 0 and np.abs(got["W1"] - start.W[1]).max() > 0
    assert np.abs(got["I"] - start.links["I"]).max() > 0 and np.all(got["I"] <= 0)
