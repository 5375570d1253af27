"""Spiking (LIF) circuits compiled (cpp_standalone), each in a process of its own (Brian2's standalone
device is global), against the same circuit on a runtime target: the same spikes, events and weights. (One test
per file here: each compiles a project for minutes on a cold machine, and files are what the suite's workers share
out.)"""

import copy
import json
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT
from tests.integration.test_generated_code import raw_circuit
from tests.integration.test_generated_lif import LIF_MIRROR, LIF_MIRROR_TIMES, lif_data, lif_learn_and_mirror, lif_pair

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
recorded = {} if raw["brian"].get("monitor") else None
outs = lif_learn_and_mirror(circuit, (2, 3), recorded)
recorded = {f"recorded/{key}": value for key, value in (recorded or {}).items()}
np.savez(sys.argv[2], outputs=outs, test=circuit.predict(lif_data()[0]), **engine.params.arrays(), **recorded)
"""

# every kind of recording, in a few windows of each
MONITOR = {
    "layers": [1, 2],
    "variables": ["v", "err", "spikes", "rate"],
    "when": ["learning", "mirror", "test"],
    "every": 3,
    "window": 1,
}


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


# an interneuron pool with its own pathways: the negative errors' route (Dale's law), its drive from the input
# and its lateral inhibition
POOL = {
    "extra": {"pool": {"size": 5, "model": "lif"}},
    "pathways": {
        "P": {"from": "layer2", "to": "pool", "into": "error", "sign": "positive", "carries": "negative"},
        "I": {"from": "pool", "to": "layer1", "into": "error", "sign": "negative", "carries": "positive"},
        "D": {"from": "layer0", "to": "pool", "into": "drive", "connectivity": 0.5},
        "L": {"from": "pool", "to": "pool", "into": "drive", "sign": "negative"},
    },
}


def test_lif_on_cpp_standalone_is_the_runtime_circuit_spike_for_spike(tmp_path):
    """The compiled project seeds its generators from each run's seed as Brian2's runtime does: the
    same spikes, the same error events, the same weights — blocks and mirror segments (the second call
    two segments, one partly used) alike; and the same recordings (brian.monitor: the project's own
    monitors against the runtime's recorder), in learning and mirror windows and a test recording. The
    circuit has an interneuron pool with four pathways of its own (:data:`POOL`), compiled too.
    (One project for all of it: each costs minutes to compile on a cold machine.)"""
    # cpp_standalone draws as cython does
    _, code = lif_pair("weight_mirror", target="cython", monitor=MONITOR, **copy.deepcopy(POOL))
    raw = raw_circuit("weight_mirror", hidden="relu", mirror=LIF_MIRROR)
    raw["network"]["sizes"] = [6, 8, 3]
    raw["brian"] = {"neurons": "lif", "target": "cpp_standalone", "lif": dict(LIF_MIRROR_TIMES), "monitor": MONITOR}
    raw["brian"] |= copy.deepcopy(POOL)
    got = lif_standalone(raw, tmp_path)
    recorded = {}
    outs = lif_learn_and_mirror(code, (2, 3), recorded)
    np.testing.assert_allclose(got["outputs"], outs, rtol=1e-9)
    compiled = {key.removeprefix("recorded/"): got[key] for key in got.files if key.startswith("recorded/")}
    assert sorted(compiled) == sorted(recorded) and len(recorded["mirror_t"]) > 50
    assert len(recorded["learning_layer1_spikes_t"]) > 0 and len(recorded["layer2_err_pos_t"]) > 0
    for key, value in recorded.items():
        np.testing.assert_allclose(compiled[key], value, rtol=1e-9, atol=1e-12, err_msg=key)
    np.testing.assert_allclose(got["test"], code.predict(lif_data()[0]), rtol=1e-9)
    for name, a in code.engine.params.arrays().items():
        if not (name.startswith("v") and not np.any(a)):
            np.testing.assert_allclose(got[name], a, rtol=1e-9, atol=1e-12, err_msg=name)
    assert {"P", "I", "D", "L"} <= set(got.files)  # the pool's pathways came back and were compared
