"""The Python API: build a circuit into a model, add to its Brian2 network, and train it with the same
run folder, checkpoints and metrics as the command line."""

import numpy as np
import pytest
from brian2 import StateMonitor, second

import spikefa
from spikefa.cli import main
from tests.conftest import ROOT

SHORT = ["phases.0.learn.epochs=2", "task.n_train=300", "task.n_test=100", "optimizer.batch_size=150"]


def test_a_built_brian2_model_with_a_users_monitor_trains_as_the_command_line_does(tmp_path):
    model = spikefa.build("brian_digits_fa", overrides=SHORT)
    assert list(model.populations) == ["layer0", "layer1", "layer2"]
    assert list(model.pathways) == ["W0", "W1", "B1"]
    assert model.pathways["B1"] is model.learner.feedback[1] and model.network is model.learner.network
    v = StateMonitor(model.populations["layer1"], "v", record=[0, 5])
    model.network.add(v)
    run = spikefa.run(model, out=tmp_path / "api", progress=False)
    steps = model.learner.steps
    assert v.v.shape == (2, 600 * steps)  # 2 epochs of 300 examples (the rate circuit tests through the engine)
    assert run.summary["status"] == "complete" and len(run.metrics) == 3
    assert (
        main(["run", "brian_digits_fa", *sum((["--set", s] for s in SHORT), []), "--out", str(tmp_path / "cli")]) == 0
    )
    assert (tmp_path / "api" / "metrics.csv").read_bytes() == (tmp_path / "cli" / "metrics.csv").read_bytes()
    # what the monitor recorded, by phase: all learning here (the rate circuit's read-outs are the engine's)
    assert model.timeline.to_dict("records") == [
        {"start": 0.0, "stop": pytest.approx(float(v.t[-1]) + 1e-3), "kind": "learning"}
    ]


def test_a_models_timeline_tells_a_users_monitor_which_time_was_which_phase(tmp_path):
    """A weight mirror with a mirror phase first, one mirror step after every block, and test
    read-outs recorded by the circuit (brian.monitor): the timeline has each stretch, end to end."""
    model = spikefa.build(
        "brian_digits_weight_mirror",
        overrides=[*SHORT[1:], "phases=[{mirror: {steps: 3}}, {learn: {epochs: 1}}]", "rule.mirror.steps_per_batch=1"],
    )
    v = StateMonitor(model.populations["layer1"], "v", record=[0])
    model.network.add(v)
    spikefa.run(model, out=tmp_path / "run", progress=False)
    t = model.timeline
    assert list(t["kind"]) == ["mirror", "learning", "mirror", "learning", "mirror"]
    np.testing.assert_allclose(t["start"].iloc[1:], t["stop"].iloc[:-1])  # end to end, from 0
    assert t["start"].iloc[0] == 0 and t["stop"].iloc[-1] == pytest.approx(float(v.t[-1]) + 1e-3)
    kinds = t["kind"].to_numpy()[np.searchsorted(t["stop"].to_numpy(), np.asarray(v.t) + 1e-9)]
    per_step = model.learner.mirror_seconds_per_step() / 1e-3
    assert np.count_nonzero(kinds == "mirror") == pytest.approx((3 + 2) * per_step, abs=5)  # 3 + 1 per block
    assert np.count_nonzero(kinds == "learning") == 300 * model.learner.steps
    with pytest.raises(ValueError, match="kind must be one of learning, test, mirror, got 'nap'"):
        model.learner.simulate(1e-3 * second, "nap")
    assert len(model.timeline) == 5  # nothing ran


def test_a_model_trains_once_and_bad_input_is_refused_before_anything_is_written(tmp_path):
    model = spikefa.build(spikefa.load_circuit(ROOT / "circuits" / "digits_fa.yaml"))  # a Circuit object
    assert model.network is None and model.populations == {} and model.engine is model.learner
    with pytest.raises(spikefa.SpikefaError, match="network.sizes: this circuit needs about"):
        spikefa.build("digits_fa", overrides=["network.sizes=[64, 1000000000, 10]"])
    small = spikefa.build("digits_fa", overrides=["phases.0.learn.epochs=1"])
    W = small.engine.params.W[0].copy()
    spikefa.run(small, out=tmp_path / "b", progress=False)
    assert not np.array_equal(W, small.engine.params.W[0])  # the model's own weights learned
    with pytest.raises(spikefa.SpikefaError, match="trained already"):
        spikefa.run(small, out=tmp_path / "c", progress=False)
    assert not (tmp_path / "c").exists()
