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


def test_a_ctrl_c_inside_a_numba_call_is_an_interrupt_and_resumes(tmp_path, monkeypatch):
    # a SIGINT that lands during a Numba call comes back as a SystemError caused by the KeyboardInterrupt
    ctrl_c = SystemError("CPUDispatcher(flush_subnormal) returned a result with an exception set")
    ctrl_c.__cause__ = KeyboardInterrupt()
    whole, cut = interrupted_and_whole(load_circuit(FILE, SHORT), tmp_path, monkeypatch, die_at=2, ctrl_c=ctrl_c)
    assert (cut / "metrics.csv").read_bytes() == (whole / "metrics.csv").read_bytes()


def test_a_folder_of_another_circuit_is_refused(tmp_path):
    run_circuit(load_circuit(FILE, SHORT), tmp_path / "a", progress=False)
    with pytest.raises(SpikefaError, match="holds a run of a different circuit"):
        run_circuit(load_circuit(FILE, SHORT + ["seed=5"]), tmp_path / "a", progress=False)


def test_mirror_rows_carry_their_steps_and_simulated_time_and_skip_the_test_pass(tmp_path):
    quick = ["phases.0.mirror.steps=6", "phases.1.learn.epochs=1", "record.every=3", "task.n_train=300"]
    quick += ["optimizer.batch_size=100"]
    m = load_run(
        run_circuit(
            load_circuit(ROOT / "circuits" / "brian_digits_weight_mirror.yaml", quick), tmp_path / "a", progress=False
        ).path
    ).metrics
    assert m["test_acc"].iloc[0] > 0  # the row before any learning measures the test set
    mirror = m[m["kind"] == "mirror"].iloc[1:]
    assert list(mirror["mirror_steps"]) == [3, 6] and list(mirror["mirror_seconds"]) == [0.384, 0.768]  # 128 × 1 ms
    assert mirror["test_acc"].isna().all() and mirror["angle_B1"].notna().all()
    learned = m[m["kind"] == "learn"]
    assert learned["test_acc"].notna().all() and learned["mirror_steps"].iloc[-1] == 6 + 10 * 3  # 10 per block
    asked = load_run(
        run_circuit(
            load_circuit(
                ROOT / "circuits" / "digits_weight_mirror.yaml",
                [*quick, "record.mirror_test=true", "phases.0.mirror.steps=2"],
            ),
            tmp_path / "b",
            progress=False,
        ).path
    ).metrics
    assert asked[asked["kind"] == "mirror"]["test_acc"].notna().all() and "mirror_seconds" not in asked
