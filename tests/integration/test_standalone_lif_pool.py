"""An interneuron pool with its own pathways, compiled (cpp_standalone), against the Python-scheduled circuit: the
same spikes and weights."""

import numpy as np
import pytest

from spikefa import circuit_from_dict
from spikefa.brian import LifCircuit
from spikefa.reference import ReferenceEngine
from tests.integration.test_generated_code import raw_circuit
from tests.integration.test_generated_lif import lif_data, lif_learn_and_mirror
from tests.integration.test_standalone_lif import lif_standalone

pytestmark = pytest.mark.slow  # compiles a project


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
    raw["brian"]["lif"] = {"error_baseline": 0.5}  # the error units' spontaneous events, compiled too
    python = LifCircuit(ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(4)))
    raw["brian"] |= {"target": "cpp_standalone", "plasticity": "code"}
    got = lif_standalone(raw, tmp_path)
    np.testing.assert_allclose(got["outputs"], lif_learn_and_mirror(python, (2, 3)), rtol=1e-9)
    np.testing.assert_allclose(got["test"], python.predict(lif_data()[0]), rtol=1e-9)
    for name, a in python.engine.params.arrays().items():
        np.testing.assert_allclose(got[name], a, rtol=1e-9, atol=1e-12, err_msg=name)
    assert np.abs(got["W0"] - ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(4)).params.W[0]).max() > 0
