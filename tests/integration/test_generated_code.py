"""The schedule and plasticity as Brian2 code (``brian.plasticity: code``) against the reference engine:
a rate circuit at steady state learns, block after block, exactly what the engine learns from the same
examples one at a time (every W, b, B and momentum buffer to 1e-6), on the runtime targets here and
compiled (cpp_standalone) in a fresh process of its own (Brian2's standalone device is global)."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from spikefa import SpikefaError, circuit_from_dict
from spikefa.brian import RateCircuit
from spikefa.reference import ReferenceEngine
from tests.conftest import ROOT, tiny_circuit

RULES = (
    "shallow",
    "backprop",
    "sign_symmetry",
    "feedback_alignment",
    "direct_feedback_alignment",
    "kolen_pollack",
    "local_classifiers",
)
USER_RULE = str(ROOT / "examples" / "anti_hebbian.py") + ":AntiHebbianFeedback"


PLAIN = {"momentum": 0.0, "weight_decay": 0.0}  # the input pathway then learns on its inputs' events


def raw_circuit(rule, target="numpy", hidden="tanh", output="softmax", optimizer=None, mirror=None, **extra):
    optimizer = {
        "lr": 0.1,
        "momentum": 0.5,
        "weight_decay": 0.01,
        "bias_lr": 0.05,
        "batch_size": 4,
        **(optimizer or {}),
    }
    raw = tiny_circuit(rule, (6, 5, 4, 3), hidden, output, optimizer=optimizer, engine="brian2")
    raw["brian"] = {"target": target, "plasticity": "code"}
    if mirror:
        raw["rule"]["mirror"] = mirror
    raw.update(extra)
    return raw


def learned_one_by_one(engine, blocks):
    """The reference: each example a learning step of its own, at its block's rate; the outputs before each."""
    outs = []
    for x, y, lr in blocks:
        for k in range(len(x)):
            outs.append(engine.train_batch(x[k : k + 1], y[k : k + 1], lr, np.random.default_rng(0))[1][0])
    return np.array(outs)


def blocks(seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((7, 6))
    x[rng.random(x.shape) < 0.3] = 0.0  # dark inputs, which set off no input events
    y = np.eye(3)[rng.integers(0, 3, 7)]
    return [(x[:4], y[:4], 0.1), (x[4:], y[4:], 0.05)]  # a full block, then a shorter one at another rate


MIRROR = {"batch_size": 4, "steps_per_batch": 3, "lr": 0.1, "decay": 0.05}  # segments of 3 mirror steps


def learn_and_mirror(learner, steps=5):
    """A block, ``steps`` mirror steps (two segments, the second one partly used), the other block;
    the outputs of both blocks. ``learner``: a circuit, or the reference engine learning one by one."""
    one_by_one = isinstance(learner, ReferenceEngine)
    outs = []
    for k, (x, y, lr) in enumerate(blocks()):
        outs.append(learned_one_by_one(learner, [(x, y, lr)]) if one_by_one else learner.train_batch(x, y, lr, None)[1])
        if k == 0 and steps:
            learner.mirror(steps, np.random.default_rng(5))
    return np.vstack(outs)


def assert_same_parameters(p, q, rtol=1e-6, buffers=True):
    """Every array alike; momentum buffers only where both sides keep them (``buffers``: momentum is on)."""
    for name, a in p.arrays().items():
        if name.startswith("v") and not (buffers and np.any(a)):
            continue
        np.testing.assert_allclose(q.arrays()[name], a, rtol=rtol, atol=1e-12, err_msg=name)


def pair(raw):
    circuit = circuit_from_dict(raw)
    reference = ReferenceEngine(circuit, np.random.default_rng(4))
    twin = ReferenceEngine(circuit, np.random.default_rng(4))  # the same draws: weights, synapses, signs
    return reference, twin


@pytest.mark.parametrize(
    ("rule", "optimizer"),
    [*((r, None) for r in (*RULES, USER_RULE)), ("feedback_alignment", PLAIN), ("backprop", PLAIN)],
)
def test_generated_code_learns_what_the_reference_engine_learns(rule, optimizer):
    reference, twin = pair(raw_circuit(rule, optimizer=optimizer))
    circuit = RateCircuit(twin)
    assert circuit.learns_on_events(0) == (optimizer is PLAIN)
    before = None if twin.params.B[1] is None else twin.params.B[1].copy()
    want = learned_one_by_one(reference, blocks())
    got = np.vstack([circuit.train_batch(x, y, lr, np.random.default_rng(0))[1] for x, y, lr in blocks()])
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12)
    assert_same_parameters(reference.params, twin.params, buffers=optimizer is not PLAIN)
    if rule == "backprop":  # B is Wᵀ, to the last bit, after every block
        np.testing.assert_array_equal(circuit.feedback[1].w[:], twin.params.W[1].ravel())
    if rule == "sign_symmetry":  # B is sign(Wᵀ) |B₀| after every block, and the synapses hold it
        np.testing.assert_array_equal(twin.params.B[1], np.sign(twin.params.W[1].T) * twin.params.B0[1])
        np.testing.assert_array_equal(circuit.feedback[1].w[:], twin.params.B[1].T.ravel())
    if rule in ("kolen_pollack", USER_RULE):  # B learned: it moved, and the circuit's synapses hold it
        assert not np.allclose(twin.params.B[1], before)
        np.testing.assert_allclose(circuit.feedback[1].w[:], twin.params.B[1].T.ravel(), rtol=1e-12)


@pytest.mark.parametrize(("output", "loss"), [("sigmoid", "binary_cross_entropy"), ("linear", "mse"), ("tanh", "mse")])
def test_generated_output_errors_are_the_engines(output, loss):
    raw = raw_circuit("feedback_alignment", hidden="relu", output=output)
    raw["network"]["loss"] = loss
    reference, twin = pair(raw)
    want = learned_one_by_one(reference, blocks(2))
    got = np.vstack([RateCircuit(twin).train_batch(x, y, lr, None)[1] for x, y, lr in blocks(2)[:1]])
    np.testing.assert_allclose(got, want[:4], rtol=1e-6, atol=1e-12)


def test_sign_constrained_sparse_feedback_keeps_its_structure_in_generated_code():
    raw = raw_circuit("kolen_pollack", feedback={"connectivity": 0.5, "sign": "positive"})
    reference, twin = pair(raw)
    circuit = RateCircuit(twin)
    learned_one_by_one(reference, blocks())
    for x, y, lr in blocks():
        circuit.train_batch(x, y, lr, None)
    for l in (1, 2):  # the engine's buffer also runs where no synapse is
        reference.params.vB[l] *= reference.structure.masks[l]
    assert_same_parameters(reference.params, twin.params)
    assert len(circuit.feedback[1]) < 5 * 4 and np.all(circuit.feedback[1].w[:] >= 0)


@pytest.mark.parametrize(
    ("feedback", "optimizer"), [({}, None), ({"connectivity": 0.5, "sign": "positive"}, None), ({}, PLAIN)]
)
def test_generated_mirror_segments_are_the_reference_engines_mirror_phase(feedback, optimizer):
    """The weight mirror's noise phase as Brian2 code: the noise drawn as the engine draws it, every B
    (sparse and sign-constrained too) and every W equal to the engine's after learning, mirroring,
    learning (also where the input pathway learns on events, which a segment must not fire)."""
    raw = raw_circuit("weight_mirror", mirror=MIRROR, feedback=feedback, optimizer=optimizer)
    reference, twin = pair(raw)
    circuit = RateCircuit(twin)
    before = twin.params.B[1].copy()
    np.testing.assert_allclose(learn_and_mirror(circuit), learn_and_mirror(reference), rtol=1e-6, atol=1e-12)
    assert_same_parameters(reference.params, twin.params, buffers=optimizer is None)
    assert not np.allclose(twin.params.B[1], before)
    if feedback:
        assert len(circuit.feedback[1]) < 5 * 4 and np.all(circuit.feedback[1].w[:] >= 0)


def test_a_rule_that_changes_b_in_python_is_refused_by_generated_code_in_one_line(tmp_path):
    from tests.integration.test_user_rules import RULE

    (tmp_path / "anti_hebbian.py").write_text(RULE)
    raw = raw_circuit(f"{tmp_path / 'anti_hebbian.py'}:AntiHebbian")
    with pytest.raises(SpikefaError, match=r"rule .*AntiHebbian changes B in Python \(after_step\)") as err:
        RateCircuit(ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(0)))
    assert "\n" not in str(err.value)


def test_cpp_standalone_needs_generated_code():
    raw = raw_circuit("feedback_alignment", target="cpp_standalone")
    raw["brian"]["plasticity"] = "kernels"
    with pytest.raises(SpikefaError, match="plasticity: code"):
        circuit_from_dict(raw)


STANDALONE = """
import json, sys, numpy as np
from spikefa import circuit_from_dict
from spikefa.brian import LifCircuit, RateCircuit
from spikefa.reference import ReferenceEngine
from tests.integration.test_generated_code import learn_and_mirror
raw = json.loads(sys.argv[1])
engine = ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(4))
circuit = RateCircuit(engine)
np.savez(sys.argv[2], outputs=learn_and_mirror(circuit, steps=int(sys.argv[3])), **engine.params.arrays())
"""


@pytest.mark.slow  # compiles a project
@pytest.mark.parametrize(
    ("rule", "optimizer"),
    [
        *(
            (r, None)
            for r in ("backprop", "sign_symmetry", "direct_feedback_alignment", "kolen_pollack", "local_classifiers")
        ),
        ("weight_mirror", None),
        ("feedback_alignment", PLAIN),  # the input pathway learning on its inputs' events, compiled
    ],
)
def test_cpp_standalone_learns_what_the_reference_engine_learns(rule, optimizer, tmp_path):
    """Every rule compiled, the weight mirror's segments too (each run of the binary a block or one);
    DFA's errors 2 ms late (a delay line in its output population), read once they settled."""
    mirror = rule == "weight_mirror"
    raw = raw_circuit(rule, target="cpp_standalone", optimizer=optimizer, mirror=MIRROR if mirror else None)
    if rule == "direct_feedback_alignment":
        raw["feedback"] = {"delay": "2 ms"}
        raw["brian"]["error_time"] = "3 ms"
    out, steps = tmp_path / "standalone.npz", 5 if mirror else 0
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(STANDALONE), json.dumps(raw), str(out), str(steps)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    reference, _ = pair(raw)
    want = learn_and_mirror(reference, steps)
    got = np.load(out)
    np.testing.assert_allclose(got["outputs"], want, rtol=1e-6, atol=1e-12)
    for name, a in reference.params.arrays().items():
        if not (name.startswith("v") and not np.any(got[name])):
            np.testing.assert_allclose(got[name], a, rtol=1e-6, atol=1e-12, err_msg=name)


RESUME = """
import sys
import spikefa, yaml
from spikefa import run_circuit
from spikefa.brian import compiled_cache
from spikefa.training import Trainer
real_compile, hits = compiled_cache.compile_project, []
compiled_cache.compile_project = lambda project: hits.append(real_compile(project)) or hits[-1]
raw = yaml.safe_load(open("circuits/brian_digits_fa.yaml"))
raw["brian"]["target"] = "cpp_standalone"
raw["phases"] = [{"learn": {"epochs": 3}}]
raw["optimizer"]["momentum"] = 0.5
circuit = spikefa.circuit_from_dict(raw)
run_circuit(circuit, sys.argv[1] + "/whole", progress=False)
real, calls = Trainer.run_epoch, {"n": 0}
def dying(self, phase, data, bar):
    calls["n"] += 1
    if calls["n"] == 2:
        raise KeyboardInterrupt
    return real(self, phase, data, bar)
Trainer.run_epoch = dying
try:
    run_circuit(circuit, sys.argv[1] + "/cut", progress=False)
    raise SystemExit("not interrupted")
except KeyboardInterrupt:
    pass
Trainer.run_epoch = real
run_circuit(circuit, sys.argv[1] + "/cut", progress=False)
print("hits", hits)
"""


@pytest.mark.slow  # compiles a project
def test_a_cpp_standalone_run_killed_mid_run_resumes_to_the_uninterrupted_numbers(tmp_path):
    """Three standalone projects, one after another in one process: the whole run, the run killed in
    its second epoch, and its resumption from the checkpoint after the first. The three have one
    structure: the first is compiled, the other two run its binary from the cache — and give its numbers."""
    import pandas as pd

    env = os.environ | {"SPIKEFA_CACHE": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-c", RESUME, str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=600, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "hits [False, True, True]" in done.stdout
    assert len(list((tmp_path / "cache" / "compiled").iterdir())) == 1
    whole, cut = (pd.read_csv(tmp_path / name / "metrics.csv") for name in ("whole", "cut"))
    assert len(whole) == 4 and whole["test_acc"].iloc[-1] > 0.9
    pd.testing.assert_frame_equal(cut, whole)


@pytest.mark.slow  # compiles a project
def test_a_cpp_standalone_sweep_runs_two_points_in_parallel_as_cython_does(tmp_path):
    """Two points of a compiled sweep at once (two Dask workers): each the numbers of the same circuit
    run on cython in this process (whose Cython modules the other digits tests share)."""
    import yaml

    from spikefa.sweeps import expand, run_sweep
    from spikefa.training import run_circuit

    raw = yaml.safe_load((ROOT / "circuits" / "brian_digits_fa.yaml").read_text())
    raw["phases"] = [{"learn": {"epochs": 1}}]
    raw["brian"]["target"] = "cpp_standalone"
    path = tmp_path / "standalone.yaml"
    path.write_text(yaml.safe_dump(raw))
    grid = {"optimizer.lr": [0.02, 0.05]}
    standalone = run_sweep(path, grid, 1, tmp_path / "sweep", workers=2, progress=False)
    assert set(standalone["status"]) == {"complete"} and list(standalone["optimizer.lr"]) == grid["optimizer.lr"]
    raw["brian"]["target"] = "cython"
    cython = []
    for point in expand(raw, grid, 1, "cython"):
        folder = run_circuit(point.circuit, tmp_path / point.name, progress=False, figure=False)
        cython.append(folder.summary()["final"])
    np.testing.assert_allclose(standalone["test_acc"], [c["test_acc"] for c in cython], rtol=1e-12)
    np.testing.assert_allclose(standalone["train_loss"], [c["train_loss"] for c in cython], rtol=1e-9)
