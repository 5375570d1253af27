"""Brian2 circuits when something goes wrong: a compiled (cpp_standalone) project left behind by a
process that was killed is removed by the next project made in the same temporary directory — never
one a live process holds — and a circuit whose neuron state went NaN or infinite names it
(``Circuit.nonfinite``), on the Python schedule, in generated code and compiled."""

import fcntl
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

from spikefa import circuit_from_dict
from spikefa.brian import LifCircuit, RateCircuit, generated
from spikefa.brian.circuit import state_variable
from spikefa.brian.generated import PROJECT_PREFIX, new_project, release, remove_stale
from spikefa.reference import ReferenceEngine
from tests.conftest import ROOT, tiny_circuit


def locked(path) -> bool:
    """Whether some open descriptor holds the directory's lock (one of this process's own too)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


HOLD = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()
"""


def test_a_new_project_removes_the_stale_ones_and_never_a_live_one(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stale = tmp_path / f"{PROJECT_PREFIX}xyz"  # its process was killed: nothing holds its lock
    (stale / "code_objects").mkdir(parents=True)
    (stale / "main").write_bytes(b"\0" * 1000)
    here, there = tmp_path / f"{PROJECT_PREFIX}here", tmp_path / f"{PROJECT_PREFIX}there"
    here.mkdir()
    there.mkdir()
    fd = os.open(here, os.O_RDONLY | os.O_DIRECTORY)  # live, this process's
    fcntl.flock(fd, fcntl.LOCK_EX)
    holder = subprocess.Popen(  # live, another process's (a parallel sweep worker)
        [sys.executable, "-c", HOLD, str(there)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        # a lock is held per open descriptor: not even this process takes it through another one
        assert locked(here) and locked(there) and not locked(stale)
        (tmp_path / "other").mkdir()
        (tmp_path / f"{PROJECT_PREFIX}file").write_text("not a directory")

        project = new_project()
        assert project.parent == tmp_path and project.name.startswith(PROJECT_PREFIX) and locked(project)
        assert not stale.exists()
        assert here.exists() and there.exists() and (tmp_path / "other").exists()
        assert (tmp_path / f"{PROJECT_PREFIX}file").exists()

        holder.kill()  # SIGKILL: its project stays behind, its lock goes
        holder.wait()
        assert there.exists() and not locked(there)
        assert remove_stale() == [there]
        assert here.exists() and project.exists()  # this process's own stay, though a second fd is not the owner's

        release(project)  # the circuit's end
        assert not project.exists() and project not in generated._locks
    finally:
        holder.kill()
        holder.wait()
        os.close(fd)


LIFETIME = """
import gc, json, sys
import numpy as np
from spikefa import circuit_from_dict
from spikefa.brian import RateCircuit
from spikefa.reference import ReferenceEngine

def build():
    return RateCircuit(ReferenceEngine(circuit_from_dict(json.loads(sys.argv[1])), np.random.default_rng(0)))

c = build()
first = c.project
del c
gc.collect()
print(first, first.exists(), flush=True)
c = build()
print(c.project, flush=True)
sys.stdin.read()
"""


def standalone_raw(**brian):
    raw = tiny_circuit("feedback_alignment", (4, 3, 2), engine="brian2", optimizer={"lr": 0.1, "batch_size": 2})
    raw["brian"] = {"target": "cpp_standalone", "plasticity": "code", **brian}
    return raw


def test_a_standalone_circuits_project_is_locked_while_it_lives_and_removed_with_it(tmp_path):
    """In a process of its own (Brian2's standalone device is global; nothing here is compiled): a
    circuit's project goes with the circuit; one whose process was SIGKILLed stays behind, unlocked,
    until the next sweep."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", LIFETIME, json.dumps(standalone_raw())],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first, exists = proc.stdout.readline().split()
        assert first.startswith(str(tmp_path / PROJECT_PREFIX)) and exists == "False"
        project = proc.stdout.readline().strip()
        assert project.startswith(str(tmp_path / PROJECT_PREFIX)) and project != first
        assert os.path.isdir(project) and locked(project)
        proc.kill()
        proc.wait()
        assert os.path.isdir(project) and not locked(project)
        assert [str(p) for p in remove_stale(tmp_path)] == [project]
    finally:
        proc.kill()
        proc.wait()


# --- non-finite state -------------------------------------------------------------------------------
# a membrane written as code that is fine while its drive is excitatory (v ≥ 0) and NaN once it is not
ROOTED = {
    "equations": "dv/dt = (u - v + sqrt(v)) / tau : 1 (unless refractory)",
    "threshold": "v > theta",
    "reset": "v = 0",
    "method": "euler",
    "params": {"tau": "10 ms", "theta": 0.5},
}


def test_a_lif_circuit_names_the_state_its_membrane_code_made_nan():
    brian = {"neurons": "lif", "target": "numpy", "forward_time": "10 ms", "error_time": "5 ms"}
    raw = tiny_circuit("feedback_alignment", (4, 3, 2), "relu", engine="brian2", brian=brian)
    raw["brian"]["populations"] = {"hidden": ROOTED}
    c = LifCircuit(ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(0)))
    checked = [name for name, var in c.groups[1].variables.items() if state_variable(name, var)]
    assert {"v", "u", "r", "err", "b"} <= set(checked)
    assert not {"lastspike", "t", "dt", "i", "not_refractory", "_spikespace"} & set(checked)
    assert c.state(1, "lastspike").min() == -1e4  # Brian2's 'never spiked' is finite (-10⁴ s)

    p, x, y = c.engine.params, np.ones((1, 4)), np.eye(2)[[0]]
    p.W[0][...], p.b[0][...] = np.abs(p.W[0]), np.abs(p.b[0])
    c.present(x, y, 0.0, np.random.default_rng(7), learn=False)
    assert c.nonfinite() == []
    p.W[0][...] = -p.W[0]  # inhibition: v < 0, sqrt(v) NaN; it crosses no threshold, no floor
    with np.errstate(invalid="ignore"):
        c.present(x, y, 0.0, np.random.default_rng(7), learn=False)
    assert c.nonfinite() == ["layer1.v"]
    c.state(2, "u")[0] = -np.inf
    c.state(2, "v")[1] = np.inf
    assert c.nonfinite() == ["layer1.v", "layer2.u", "layer2.v"] and c.nonfinite(most=1) == ["layer1.v"]


def test_a_rate_circuit_in_generated_code_names_its_nonfinite_state():
    raw = standalone_raw(target="numpy")
    c = RateCircuit(ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(0)))
    x, y = np.random.default_rng(1).uniform(0.3, 1.0, (2, 4)), np.eye(2)[[0, 1]]
    c.train_batch(x, y, 0.1, None)
    assert c.nonfinite() == []
    c.engine.params.W[0][...] = np.nan
    c.train_batch(x, y, 0.1, None)
    assert c.nonfinite() == ["layer1.v", "layer1.b", "layer1.err"]  # the first three found


COMPILED = """
import json, sys
import numpy as np
from spikefa import circuit_from_dict
from spikefa.brian import RateCircuit
from spikefa.reference import ReferenceEngine

c = RateCircuit(ReferenceEngine(circuit_from_dict(json.loads(sys.argv[1])), np.random.default_rng(0)))
x, y = np.random.default_rng(1).uniform(0.3, 1.0, (2, 4)), np.eye(2)[[0, 1]]
seen = [c.nonfinite()]  # before the binary first ran: nothing to read
c.train_batch(x, y, 0.1, None)
seen.append(c.nonfinite())
c.engine.params.W[0][...] = np.nan
c.train_batch(x, y, 0.1, None)
seen.append(c.nonfinite(most=10))
print(json.dumps(seen))
"""


@pytest.mark.slow
def test_a_compiled_circuit_names_its_nonfinite_state_and_its_project_goes_when_the_process_ends(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", COMPILED, json.dumps(standalone_raw())],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    before, healthy, diverged = json.loads(done.stdout.splitlines()[-1])
    assert before == [] and healthy == []
    assert {"layer1.v", "layer1.b", "layer1.err", "layer2.v"} <= set(diverged)  # as the binary wrote them
    assert not list(tmp_path.glob(f"{PROJECT_PREFIX}*"))


@pytest.mark.parametrize("target", ["cython", "cpp_standalone"])
def test_a_compiled_target_without_a_compiler_is_one_line_exit_2(spikefa_cli, monkeypatch, tmp_path, target):
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-g++"))
    done = spikefa_cli("run", "brian_digits_fa", "--set", f"brian.target={target}", "--out", tmp_path / "run")
    ours = [line for line in done.stderr.splitlines() if line.startswith("spikefa")]  # not Brian2's cache notice
    assert done.returncode == 2 and len(ours) == 1, done.stderr
    assert f"brian.target: {target} compiles C++ and no C++ compiler was found" in done.stderr
    assert "no-such-g++" in done.stderr and "target: numpy" in done.stderr


def test_the_numpy_target_needs_no_compiler(monkeypatch, tmp_path):
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-g++"))
    raw = tiny_circuit("feedback_alignment", engine="brian2")
    raw["brian"] = {"target": "numpy"}
    RateCircuit(ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(0)))
