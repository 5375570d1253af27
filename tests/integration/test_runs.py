"""Determinism, checkpoints and resume."""

import numpy as np
import pytest

from spikefa import SpikefaError, load_circuit, load_run, run_circuit
from tests.conftest import ROOT, interrupted_and_whole

FILE = ROOT / "circuits" / "digits_weight_mirror.yaml"
SHORT = ["phases.0.mirror.steps=20", "phases.1.learn.epochs=4", "record.every=40"]


def test_same_seed_same_bytes_and_other_seed_other_numbers(tmp_path):
    c = load_circuit(FILE, SHORT)
    a = run_circuit(c, tmp_path / "a", progress=False).path / "metrics.csv"
    b = run_circuit(c, tmp_path / "b", progress=False).path / "metrics.csv"
    assert a.read_bytes() == b.read_bytes()
    other = run_circuit(load_circuit(FILE, SHORT + ["seed=2"]), tmp_path / "c", progress=False)
    assert (other.path / "metrics.csv").read_bytes() != a.read_bytes()


def test_interrupted_run_resumes_to_the_same_numbers(tmp_path, monkeypatch):
    # killed in the middle of the third epoch, after two checkpoints
    whole, cut = interrupted_and_whole(load_circuit(FILE, SHORT), tmp_path, monkeypatch, die_at=3)
    assert (cut / "summary.json").read_text().count('"resumed": true') == 1
    assert (cut / "metrics.csv").read_bytes() == (whole / "metrics.csv").read_bytes()
    a, b = load_run(cut).weights, load_run(whole).weights
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_a_folder_of_another_circuit_is_refused(tmp_path):
    run_circuit(load_circuit(FILE, SHORT), tmp_path / "a", progress=False)
    with pytest.raises(SpikefaError, match="holds a run of a different circuit"):
        run_circuit(load_circuit(FILE, SHORT + ["seed=5"]), tmp_path / "a", progress=False)
