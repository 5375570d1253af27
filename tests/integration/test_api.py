"""The Python API: build a circuit into a model, add to its Brian2 network, and train it with the same
run folder, checkpoints and metrics as the command line."""

import numpy as np
import pytest
from brian2 import StateMonitor

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
