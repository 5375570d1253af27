"""A run folder has one writer, survives kills, and reads well: locks, temporaries, modes, summaries."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pandas as pd

from spikefa import load_circuit
from spikefa.runs import FILE_MODE, RunFolder
from tests.conftest import ROOT

RUN = [sys.executable, "-m", "spikefa.cli", "run", "digits_fa", "--quiet"]


def start(out, epochs):
    return subprocess.Popen(
        [*RUN, "--set", f"phases.0.learn.epochs={epochs}", "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(path, proc, timeout=120):
    end = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, f"{path} never appeared"
        time.sleep(0.02)


def test_a_folder_being_written_is_refused_naming_its_writer(tmp_path):
    out = tmp_path / "run"
    circuit = load_circuit(ROOT / "circuits" / "digits_fa.yaml", ["phases.0.learn.epochs=1"])
    holder = RunFolder.open(out, circuit)  # this process writes the folder
    try:
        r = subprocess.run(
            [*RUN, "--set", "phases.0.learn.epochs=1", "--out", str(out)], capture_output=True, text=True
        )
        err = r.stderr.strip()
        assert r.returncode == 2 and len(err.splitlines()) == 1, err
        assert f"another spikefa run (process {os.getpid()} on" in err, err
    finally:
        holder.close()
    assert subprocess.run([*RUN, "--set", "phases.0.learn.epochs=1", "--out", str(out)], cwd=ROOT).returncode == 0


def test_two_runs_started_together_one_runs_and_metrics_are_not_duplicated(tmp_path):
    out = tmp_path / "run"
    a, b = start(out, 150), start(out, 150)
    codes = sorted([a.wait(timeout=300), b.wait(timeout=300)])
    refused = a if a.returncode == 2 else b
    assert codes == [0, 2], (a.stderr.read(), b.stderr.read())
    assert "is writing to it" in refused.stderr.read()
    assert list(pd.read_csv(out / "metrics.csv")["epoch"]) == list(range(151))


def test_a_killed_run_resumes_past_its_stale_lock_and_temporaries(tmp_path):
    whole = subprocess.run(
        [*RUN, "--set", "phases.0.learn.epochs=30", "--out", str(tmp_path / "whole")], cwd=ROOT, capture_output=True
    )
    assert whole.returncode == 0
    out = tmp_path / "cut"
    proc = start(out, 30)
    wait_for(out / "checkpoint.npz", proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (out / ".lock").read_text().startswith(f"process {proc.pid} on")
    stale = out / ".checkpoint.npz.k1ll3d.npz"
    stale.write_bytes(b"")  # what a kill inside atomic_write leaves
    again = start(out, 30)
    stdout, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr
    assert "after resuming" in stdout and "in all" in stdout, stdout
    assert not stale.exists()
    assert (out / "metrics.csv").read_bytes() == (tmp_path / "whole" / "metrics.csv").read_bytes()
    for f in out.iterdir():
        if f.name != ".lock":
            assert f.stat().st_mode & 0o777 == FILE_MODE, (f.name, oct(f.stat().st_mode))


def test_list_columns_align_with_long_names(tmp_path, spikefa_cli):
    folder = tmp_path / "circuits"
    folder.mkdir()
    for name in ("digits_fa", "a_rather_long_circuit_file_name_for_a_hypothesis"):
        shutil.copy(ROOT / "circuits" / "digits_fa.yaml", folder / f"{name}.yaml")
    r = spikefa_cli("list", "--dir", folder)
    assert r.returncode == 0, r.stderr
    circuits = r.stdout.split("circuits (")[1].splitlines()[1:]
    rules = r.stdout.split("circuits (")[0].splitlines()[1:]
    columns = {line.index("feedback_alignment, digits") for line in circuits}
    assert len(circuits) == 2 and len(columns) == 1
    assert {line.index(" [") for line in rules} == {columns.pop() - 1}


def test_threads_come_from_the_option_or_the_environment(tmp_path, spikefa_cli):
    r = spikefa_cli("run", "digits_fa", "--set", "phases.0.learn.epochs=1", "--out", tmp_path / "a", "--threads", "2")
    assert r.returncode == 0 and "2 threads" in r.stdout
    env = dict(os.environ, SPIKEFA_THREADS="many")
    r = subprocess.run([*RUN, "--out", str(tmp_path / "b")], cwd=ROOT, capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "SPIKEFA_THREADS: must be an integer from 1 to 1024, got 'many'" in r.stderr
    assert not (tmp_path / "b").exists()


def test_a_folder_whose_run_recorded_nothing_takes_any_circuit(tmp_path):
    from spikefa.cli import main

    out = tmp_path / "run"
    out.mkdir()
    (out / "config.yaml").write_text("name: something else\n")  # a run that died before its first row
    (out / "summary.json").write_text('{"status": "running"}')
    (out / "notes.txt").write_text("mine")
    assert main(["run", "digits_fa", "--set", "phases.0.learn.epochs=1", "--out", str(out), "--quiet"]) == 0
    assert "digits_fa" in (out / "config.yaml").read_text() and (out / "notes.txt").read_text() == "mine"


def test_ctrl_c_during_a_brian2_run_ends_in_one_line_and_resumes_to_the_same_numbers(tmp_path):
    brian = [sys.executable, "-m", "spikefa.cli", "run", "brian_digits_fa", "--quiet"]
    brian += ["--set", "phases.0.learn.epochs=3"]
    whole = subprocess.run([*brian, "--out", str(tmp_path / "whole")], cwd=ROOT, capture_output=True, text=True)
    assert whole.returncode == 0, whole.stderr
    out = tmp_path / "cut"
    # as from a terminal: Ctrl-C not ignored (a test runner's worker may pass on SIGINT ignored, and a
    # process started with SIGINT ignored rightly keeps ignoring it)
    proc = subprocess.Popen(
        [*brian, "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    wait_for(out / "checkpoint.npz", proc)  # the first epoch is done; the second is inside Network.run
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    # Brian2's own notes at import (on a machine with a big cache: "INFO  Cache size for target ...") aside
    lines = [k for k in stderr.decode().strip().splitlines() if not (k.startswith("INFO") or k.endswith("[brian2]"))]
    assert proc.returncode == 130 and len(lines) == 1, stderr
    assert lines[0].startswith("spikefa: interrupted"), lines
    assert json.loads((out / "summary.json").read_text())["status"] == "interrupted"
    again = subprocess.run([*brian, "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 0 and "after resuming" in again.stdout, again.stderr
    assert (out / "metrics.csv").read_bytes() == (tmp_path / "whole" / "metrics.csv").read_bytes()


def test_a_run_written_before_a_field_existed_is_still_its_circuit(tmp_path):
    """A folder whose config.yaml lacks fields added since (their defaults) resumes; another circuit's
    is still refused."""
    import pytest
    import yaml

    from spikefa import SpikefaError

    circuit = load_circuit(ROOT / "circuits" / "digits_fa.yaml", ["phases.0.learn.epochs=1"])
    old = circuit.to_dict()
    del old["network"]["bias_init"], old["optimizer"]["shuffle"], old["optimizer"]["bias_lr"]
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.yaml").write_text(yaml.safe_dump(old, sort_keys=False))
    (out / "metrics.csv").write_text("phase\n0\n")
    RunFolder.open(out, circuit).close()
    other = load_circuit(ROOT / "circuits" / "digits_fa.yaml", ["phases.0.learn.epochs=2"])
    with pytest.raises(SpikefaError, match="a run of a different circuit"):
        RunFolder.open(out, other)
