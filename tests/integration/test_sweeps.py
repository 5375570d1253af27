"""Sweeps on Dask: a grid of points, failures recorded, resume after SIGKILL, a cluster by address."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml

from spikefa.cli import main
from spikefa.sweeps import run_sweep
from tests.conftest import ROOT


def shortened(file: str, epochs: int, folder):
    """A copy of circuits/FILE.yaml in ``folder`` that learns for ``epochs`` epochs."""
    raw = yaml.safe_load((ROOT / "circuits" / f"{file}.yaml").read_text())
    raw["phases"] = [{"learn": {"epochs": epochs}}]
    path = folder / f"{file}-{epochs}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture
def short_digits(tmp_path):
    """digits_fa with 3 epochs: a second or so per run."""
    return shortened("digits_fa", 3, tmp_path)


def test_sweep_runs_every_point_and_does_not_redo_finished_ones(short_digits, tmp_path):
    grid = {"rule": ["backprop", "feedback_alignment"], "optimizer.lr": [0.02, 0.05]}
    table = run_sweep(short_digits, grid, 2, tmp_path / "sweep", workers=2, progress=False)
    assert len(table) == 8 and set(table["status"]) == {"complete"}
    assert list(table.columns[:4]) == ["rule", "optimizer.lr", "seed", "status"]
    assert table.groupby(["rule", "optimizer.lr"]).size().tolist() == [2, 2, 2, 2]
    assert (tmp_path / "sweep" / "results.csv").is_file() and (tmp_path / "sweep" / "sweep.png").stat().st_size > 0
    folder = tmp_path / "sweep" / "rule=backprop,optimizer.lr=0.02,seed=1"
    assert yaml.safe_load((folder / "config.yaml").read_text())["optimizer"]["lr"] == 0.02
    stamp = (folder / "metrics.csv").stat().st_mtime_ns
    again = run_sweep(short_digits, grid, 2, tmp_path / "sweep", workers=2, progress=False)
    assert (folder / "metrics.csv").stat().st_mtime_ns == stamp  # finished: reused, not redone
    pd.testing.assert_frame_equal(again, table)


def test_a_diverging_point_is_recorded_failed_and_the_others_finish(tmp_path):
    path = shortened("lillicrap_linear", 1, tmp_path)
    table = run_sweep(path, {"optimizer.lr": [0.005, 5.0]}, 1, tmp_path / "s", workers=2, progress=False)
    status = dict(zip(table["optimizer.lr"], table["status"]))
    assert status == {0.005: "complete", 5.0: "diverged"}
    assert "lower optimizer.lr" in table.loc[table["optimizer.lr"] == 5.0, "error"].iloc[0]
    assert table.loc[table["optimizer.lr"] == 0.005, "test_nse"].iloc[0] < 0.1


def test_a_cluster_by_address_gives_what_the_default_gives(short_digits, tmp_path):
    from distributed import LocalCluster

    grid = {"optimizer.lr": [0.02, 0.05]}
    default = run_sweep(short_digits, grid, 1, tmp_path / "a", workers=1, progress=False)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, protocol="tcp", dashboard_address=None) as c:
        assert c.scheduler_address.startswith("tcp://")
        remote = run_sweep(short_digits, grid, 1, tmp_path / "b", scheduler=c.scheduler_address, progress=False)
    pd.testing.assert_frame_equal(remote, default)


def test_a_run_killed_with_sigkill_resumes_to_the_uninterrupted_numbers(tmp_path):
    path = shortened("digits_fa", 150, tmp_path)
    command = [sys.executable, "-m", "spikefa.cli", "run", str(path), "--quiet", "--out"]
    subprocess.run([*command, str(tmp_path / "whole")], check=True, capture_output=True, cwd=ROOT, timeout=300)
    proc = subprocess.Popen([*command, str(tmp_path / "cut")], cwd=ROOT, stdout=subprocess.DEVNULL)
    metrics = tmp_path / "cut" / "metrics.csv"
    deadline = time.time() + 120
    while time.time() < deadline and (not metrics.is_file() or len(metrics.read_text().splitlines()) < 5):
        time.sleep(0.01)  # a few epochs done, checkpoints written
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    summary = yaml.safe_load((tmp_path / "cut" / "summary.json").read_text())
    assert summary["status"] == "running"  # killed mid-run, not finished
    subprocess.run([*command, str(tmp_path / "cut")], check=True, capture_output=True, cwd=ROOT, timeout=300)
    assert (tmp_path / "cut" / "metrics.csv").read_bytes() == (tmp_path / "whole" / "metrics.csv").read_bytes()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--grid", "optimizer.lrate=0.1,0.2"], "optimizer.lrate: unknown field"),
        (["--grid", "optimizer.lr="], "--grid optimizer.lr: the value list is empty"),
        (
            ["--grid", "optimizer.lr=0.1", "--scheduler", "tcp://127.0.0.1:9"],
            "--scheduler tcp://127.0.0.1:9: cannot reach",
        ),
        (["--seeds", "0"], "--seeds: must be a positive integer"),
    ],
)
def test_bad_sweep_input_is_one_line_exit_2_and_starts_nothing(short_digits, tmp_path, capsys, args, message):
    out = tmp_path / "never"
    assert main(["sweep", str(short_digits), "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()


def test_a_sweep_block_in_the_circuit_file_is_the_default_grid(tmp_path):
    raw = yaml.safe_load(shortened("digits_fa", 2, tmp_path).read_text())
    raw["sweep"] = {"grid": {"optimizer.momentum": [0.0, 0.9]}, "seeds": 1}
    path = tmp_path / "with_sweep.yaml"
    path.write_text(yaml.safe_dump(raw))
    table = run_sweep(path, {}, 0, tmp_path / "s", workers=1, progress=False)
    assert table["optimizer.momentum"].tolist() == [0.0, 0.9] and set(table["status"]) == {"complete"}
    assert main(["run", str(path), "--out", str(tmp_path / "single"), "--quiet"]) == 0  # a run ignores the block
