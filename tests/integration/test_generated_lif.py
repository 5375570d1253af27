"""Spiking (LIF) circuits with the schedule and plasticity as Brian2 code: on a runtime target they draw
Brian2's random numbers from the same seed in the same order as the Python-scheduled circuit with the
kernels, so both learn exactly the same thing, spike for spike."""

import re

import numpy as np
import pytest
from brian2 import Network

from spikefa import circuit_from_dict
from spikefa.brian import LifCircuit
from spikefa.brian.recording import Recorder
from spikefa.reference import ReferenceEngine
from tests.integration.test_generated_code import PLAIN, assert_same_parameters, raw_circuit

LIF_MIRROR = {"batch_size": 64, "steps_per_batch": 2, "lr": 0.05, "decay": 0.05}


# mirror segments that settle in 20 ms (a held membrane of 2.5 ms), so that segments of a few steps learn
LIF_MIRROR_TIMES = {"tau_trace": "4 ms", "mirror_trace": "4 ms", "mirror_tau_m": "2.5 ms"}


def lif_pair(rule, sizes=(6, 8, 3), optimizer=None, target="numpy", **brian):
    """Two twin LIF circuits on ``target``: the Python schedule with the kernels, and generated code."""
    out = []
    for plasticity in ("kernels", "code"):
        raw = raw_circuit(
            rule, hidden="relu", optimizer=optimizer, mirror=LIF_MIRROR if rule == "weight_mirror" else None
        )
        raw["network"]["sizes"] = list(sizes)
        raw["brian"] = {"neurons": "lif", "target": target, "plasticity": plasticity, **brian}
        if rule == "weight_mirror":
            raw["brian"]["lif"] = dict(LIF_MIRROR_TIMES)
        engine = ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(4))
        out.append(LifCircuit(engine))
    return out


def lif_data(n=6, inputs=6, seed=3):
    rng = np.random.default_rng(seed)
    return rng.random((n, inputs)), np.eye(3)[rng.integers(0, 3, n)]


def lif_learn_and_mirror(circuit, steps=(2, 2), recorded: dict | None = None):
    """Two blocks, each followed by mirror steps (none if the rule has no mirror phases); the outputs.
    ``recorded``: filled with the circuit's ``brian.monitor`` recordings, fed as the trainer feeds them
    (learning and mirror windows), and a test recording of the first 3 examples."""
    x, y = lif_data()
    rng = np.random.default_rng(7)
    outs = []
    m, recorders = circuit.engine.circuit.brian.monitor, {}
    if recorded is not None:
        groups = {g.name: g for g in map(circuit.population, m.layers)}
        recorders = {w: Recorder(groups, m.variables, m.every, m.window, float(circuit.dt)) for w in m.when}
    samples = 0
    for (a, b, lr), n in zip(((0, 4, 0.1), (4, 6, 0.05)), steps, strict=True):
        circuit.recorder = recorders.get("learning")
        if circuit.recorder is not None:
            circuit.recorder.offset = a
        outs.append(circuit.train_batch(x[a:b], y[a:b], lr, rng)[1])
        if circuit.engine.rule.has_mirror_phase:
            circuit.recorder = recorders.get("mirror")
            if circuit.recorder is not None:
                circuit.recorder.offset = samples
            circuit.mirror(n, rng)
            samples += n * circuit.engine.rule.spec.mirror.batch_size
    circuit.recorder = None
    if recorded is not None:
        for when, recorder in recorders.items():
            recorded |= recorder.arrays(when) if when != "test" else circuit.record(x[:3], y[:3], m.layers, m.variables)
    return np.vstack(outs)


@pytest.mark.parametrize(
    ("rule", "sizes", "optimizer", "brian"),
    [
        ("feedback_alignment", (6, 8, 3), PLAIN, {"lif": {"error_baseline": 0.5}}),  # spontaneous error events
        ("kolen_pollack", (6, 8, 3), None, {}),
        ("direct_feedback_alignment", (6, 8, 5, 3), None, {}),
    ],
)
def test_lif_generated_code_is_the_python_schedule_spike_for_spike(rule, sizes, optimizer, brian):
    """On a runtime target both draw Brian2's random numbers from the same seed in the same order, so
    the spiking circuit learns exactly what the Python-scheduled one learns (every error event alike)."""
    python, code = lif_pair(rule, sizes, optimizer, **brian)
    x, y = lif_data()
    seen = []
    for circuit in (python, code):
        rng = np.random.default_rng(7)
        seen.append([circuit.train_batch(x[:4], y[:4], 0.1, rng), circuit.train_batch(x[4:], y[4:], 0.05, rng)])
    for (loss_p, out_p), (loss_c, out_c) in zip(*seen, strict=True):  # the training outputs: at forward_time
        np.testing.assert_allclose(out_c, out_p, rtol=1e-9)
        assert loss_c == pytest.approx(loss_p, rel=1e-9)
    assert_same_parameters(python.engine.params, code.engine.params, rtol=1e-9, buffers=optimizer is not PLAIN)
    moved = ReferenceEngine(python.engine.circuit, np.random.default_rng(4)).params.W[0]
    assert not np.allclose(python.engine.params.W[0], moved)  # it learned, hidden layer too
    np.testing.assert_allclose(code.predict(x), python.predict(x), rtol=1e-9)  # test outputs alike


def test_lif_mirror_segments_are_the_python_schedule_spike_for_spike():
    """The spiking mirror phase as Brian2 code (Poisson noise, B learning on spikes, held responders, the
    layers taking turns) learns what the Python-scheduled one learns, in a deep circuit — the second
    call two segments, one partly used (both seed their noise per segment) — and B learns more than
    its decay: both layers' spike-timing plasticity acted."""
    python, code = lif_pair("weight_mirror", (6, 8, 5, 3))
    before = [b.copy() for b in python.engine.params.B[1:]]
    for circuit in (python, code):
        lif_learn_and_mirror(circuit, (2, 4))
    assert_same_parameters(python.engine.params, code.engine.params, rtol=1e-9)
    for b, b0 in zip(code.engine.params.B[1:], before, strict=True):
        assert not np.allclose(b, b0 * (1 - LIF_MIRROR["decay"]) ** 6, rtol=1e-3)


def generated_code(circuit) -> dict[str, str]:
    """Each code object's code in ``circuit``'s networks, by its name without Brian2's counter."""
    return {
        re.sub(r"_\d+$", "", co.name): str(co.code)
        for net in (v for v in vars(circuit).values() if isinstance(v, Network))
        for obj in net.sorted_objects
        for co in getattr(obj, "_code_objects", [])
    }


def test_a_second_circuit_in_a_process_generates_the_same_code():
    """Every object is named, the clock too: a circuit built while another is alive generates the same
    code, so on cython it reuses the first one's modules (before, the clock was clock_1 and a second
    digits-sized LIF circuit compiled 18 of its 49 modules again)."""
    first, second = (lif_pair("feedback_alignment")[1] for _ in range(2))
    for circuit in (first, second):
        lif_learn_and_mirror(circuit, (0, 0))
    a, b = generated_code(first), generated_code(second)
    assert len(a) > 20 and a == b
