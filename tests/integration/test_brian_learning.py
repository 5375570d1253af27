"""Brian2 rate circuits learning end to end through the run machinery."""

from spikefa import load_circuit, load_run, run_circuit
from tests.conftest import ROOT

FILE = ROOT / "circuits" / "brian_digits_fa.yaml"


def test_brian_rate_circuit_learns_the_digits_with_fa(tmp_path):
    run = load_run(run_circuit(load_circuit(FILE), tmp_path / "fa", progress=False).path)
    m = run.metrics
    assert run.config["engine"] == "brian2" and run.config["brian"]["tau"] == "1 ms"
    assert m["test_acc"].iloc[-1] >= 0.95
    assert m["angle_B1"].iloc[0] > 80 and m["angle_B1"].iloc[-1] < 65  # W comes to align with B


def test_brian_runs_are_deterministic(tmp_path):
    c = load_circuit(FILE, ["phases.0.learn.epochs=1", "rule=kolen_pollack", "optimizer.weight_decay=0.001"])
    a = run_circuit(c, tmp_path / "a", progress=False).path / "metrics.csv"
    b = run_circuit(c, tmp_path / "b", progress=False).path / "metrics.csv"
    assert a.read_bytes() == b.read_bytes()
