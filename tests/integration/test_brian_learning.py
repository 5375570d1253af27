"""Brian2 rate circuits learning end to end through the run machinery."""

import os

import numpy as np
import pytest

from spikefa import load_circuit, load_run, run_circuit
from tests.conftest import ROOT, interrupted_and_whole

FILE = ROOT / "circuits" / "brian_digits_fa.yaml"


@pytest.mark.parametrize(
    "file, overrides, angle",
    [
        ("brian_digits_fa", [], 65),
        ("brian_digits_fa", ["rule=direct_feedback_alignment"], 65),
        ("brian_digits_kolen_pollack", [], 30),
        ("brian_digits_weight_mirror", [], 25),
        ("brian_digits_fa", ["rule=local_classifiers"], None),
    ],
)
def test_brian_rate_circuit_learns_the_digits(tmp_path, file, overrides, angle):
    run = load_run(
        run_circuit(load_circuit(ROOT / "circuits" / f"{file}.yaml", overrides), tmp_path / "run", progress=False).path
    )
    m = run.metrics
    assert run.config["engine"] == "brian2" and run.config["brian"]["tau"] == "1 ms"
    assert run.summary["opt_level"] == int(os.environ["SPIKEFA_OPT_LEVEL"])  # compiled (cython) at that -O
    assert m["test_acc"].iloc[-1] >= 0.95
    if angle is not None:
        assert m["angle_B1"].iloc[0] > 80 and m["angle_B1"].iloc[-1] < angle  # W and B come to align


def test_brian_runs_are_deterministic(tmp_path):
    c = load_circuit(FILE, ["phases.0.learn.epochs=1", "rule=kolen_pollack", "optimizer.weight_decay=0.001"])
    a = run_circuit(c, tmp_path / "a", progress=False).path / "metrics.csv"
    b = run_circuit(c, tmp_path / "b", progress=False).path / "metrics.csv"
    assert a.read_bytes() == b.read_bytes()


def test_brian_run_resumes_to_the_same_numbers(tmp_path, monkeypatch):
    c = load_circuit(FILE, ["phases.0.learn.epochs=3", "optimizer.batch_size=500"])
    whole, cut = interrupted_and_whole(c, tmp_path, monkeypatch, die_at=2)
    assert (cut / "metrics.csv").read_bytes() == (whole / "metrics.csv").read_bytes()


def test_run_folder_holds_requested_monitors(tmp_path):
    c = load_circuit(
        FILE, ["phases.0.learn.epochs=1", "brian.monitor={layers: [1, 2], variables: [r, err], examples: 4}"]
    )
    run = load_run(run_circuit(c, tmp_path / "m", progress=False).path)
    steps = 4 * (2 + 1)  # 4 examples of L forward and L − 1 error steps
    assert run.monitors["layer1_r"].shape == (100, steps) and run.monitors["layer1_err"].shape == (100, steps)
    assert run.monitors["layer2_r"].shape == (10, steps) and "layer2_err" not in run.monitors  # output: no err
    assert np.all(np.abs(run.monitors["layer1_r"]) <= 1) and np.ptp(run.monitors["layer1_r"]) > 0.1  # tanh rates
