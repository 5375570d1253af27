"""Faults a user meets (issue 21): received run folders never run code, names never leave --out, one
writer per folder, damaged files are repaired or named in one line, every failure is one line and an
exit code (2 bad input, 3 diverged, 4 the user's code, 5 the system, 1 a bug, with a log), nothing is lost."""

import contextlib
import errno
import io
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import yaml

from spikefa import SpikefaError, load_run
from spikefa.cli import main
from spikefa.errors import CodeNotLoaded
from spikefa.runs import CHECKPOINT, PREVIOUS, RunFolder
from tests.conftest import ROOT

EPOCHS = ["--set", "phases.0.learn.epochs=3", "--quiet"]
EVIL = """
import pathlib
pathlib.Path({marker!r}).write_text("imported")
from spikefa.rules import Rule


class Evil(Rule):
    topology = "layerwise"
"""


def cli(*args, cwd=ROOT, env=None, fresh=False):
    """The spikefa command (:func:`main`) run in ``cwd`` with ``env`` added; ``fresh``: in a process of its
    own (where sys.path and sys.modules must be a new command's), else in this one (faster)."""
    args = [str(a) for a in args]
    if fresh:
        return subprocess.run(
            [sys.executable, "-m", "spikefa.cli", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=300,
            env=None if env is None else {**os.environ, **env},
        )
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        mp.chdir(cwd)
        for key, value in (env or {}).items():
            mp.setenv(key, value)
        code = main(args)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def one_line(r, code: int) -> str:
    """The one line a failing command printed (Brian2's own INFO notes aside), checked with its exit code."""
    lines = [k for k in r.stderr.strip().splitlines() if not (k.startswith("INFO") or k.endswith("[brian2]"))]
    assert r.returncode == code and len(lines) == 1 and len(lines[0]) <= 300, (r.returncode, r.stderr)
    return lines[0]


def files(folder):
    """Every file under ``folder`` with its bytes."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished 3-epoch digits_fa run folder (copy it before damaging it)."""
    out = tmp_path_factory.mktemp("finished") / "digits_fa"
    assert main(["run", "digits_fa", *EPOCHS, "--out", str(out)]) == 0
    return out


@pytest.fixture
def run_copy(finished, tmp_path):
    out = tmp_path / "digits_fa"
    shutil.copytree(finished, out)
    return out


# --- 1. a received run folder never runs code -------------------------------------------------------
@pytest.mark.parametrize("where", ["absolute", "module"])
def test_a_received_run_folder_naming_a_rule_module_never_imports_it(run_copy, tmp_path, where):
    marker = tmp_path / "IMPORTED"
    (run_copy / "evil.py").write_text(EVIL.format(marker=str(marker)))
    config = yaml.safe_load((run_copy / "config.yaml").read_text())
    config["rule"]["name"] = f"{run_copy / 'evil.py'}:Evil" if where == "absolute" else "evil:Evil"
    (run_copy / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    # run the circuit the user asked for into it (cwd: the folder, so `import evil` would find it)
    r = cli("run", "digits_fa", *EPOCHS, "--out", run_copy, cwd=run_copy, fresh=True)
    assert "a run of a different circuit" in one_line(r, 2)
    assert cli("plot", run_copy, cwd=run_copy, fresh=True).returncode == 0
    assert cli("list", "--dir", run_copy, cwd=run_copy, fresh=True).returncode == 0
    run = load_run(run_copy)
    with pytest.raises(CodeNotLoaded, match="never imports code"):
        _ = run.circuit
    assert not marker.exists() and "evil" not in sys.modules


def test_listing_a_folder_of_circuits_with_user_rules_imports_none(tmp_path):
    marker = tmp_path / "IMPORTED"
    (tmp_path / "evil.py").write_text(EVIL.format(marker=str(marker)))
    raw = yaml.safe_load((ROOT / "circuits" / "digits_fa.yaml").read_text())
    raw["rule"] = {"name": "evil.py:Evil"}
    (tmp_path / "hypothesis.yaml").write_text(yaml.safe_dump(raw))
    r = cli("list", "--dir", tmp_path, cwd=tmp_path, fresh=True)
    assert r.returncode == 0 and "hypothesis" in r.stdout and "evil.py:Evil (a user's rule" in r.stdout, r.stdout
    assert not marker.exists()


def test_an_activation_written_as_python_is_refused_not_run(tmp_path):
    """network.hidden's expressions are parsed, never evaluated beyond numbers, v and Brian2's functions."""
    marker = tmp_path / "RAN"
    escape = (
        "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'catch_warnings'][0]()"
        f"._module.__builtins__['open']({str(marker)!r}, 'w')"
    )
    raw = yaml.safe_load((ROOT / "circuits" / "digits_fa.yaml").read_text())
    raw["network"]["hidden"] = {"rate": escape, "slope": "1"}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    r = cli("run", tmp_path / "c.yaml", "--out", tmp_path / "out")
    assert "network.hidden: rate: cannot evaluate it" in one_line(r, 2) and "allowed" in r.stderr
    assert not marker.exists() and not (tmp_path / "out").exists()


# --- 2. names never leave --out ----------------------------------------------------------------------
def test_a_sweep_value_with_separators_stays_under_out_and_a_failing_point_keeps_its_traceback(tmp_path):
    work = tmp_path / "a" / "b" / "c"
    work.mkdir(parents=True)
    (work / "x.py").write_text(
        "from spikefa.rules import Rule\n\n\nclass X(Rule):\n    topology = 'layerwise'\n\n"
        "    def after_step(self, params, step):\n        raise ValueError('my bug')\n"
    )
    before = set(tmp_path.rglob("*"))
    r = cli("sweep", "digits_fa", "--grid", "description=a/../../../ESCAPED,plain", "--grid",
            f"rule={work / 'x.py'}:X,feedback_alignment", "--grid", "phases.0.learn.epochs=1",
            "--out", "sw", "--workers", "1", "--quiet", cwd=work, fresh=True)  # fmt: skip
    assert r.returncode == 0 and "4 runs, 2 failed" in r.stdout, r.stderr
    new = set(tmp_path.rglob("*")) - before
    assert new and all(p.is_relative_to(work / "sw") for p in new), sorted(map(str, new))
    names = sorted(p.name for p in (work / "sw").iterdir() if p.is_dir())
    assert len(names) == 4 and all("/" not in n and not n.startswith(".") for n in names), names
    table = __import__("pandas").read_csv(work / "sw" / "results.csv")
    failed = table[table["status"] == "failed"]
    assert len(failed) == 2 and all("error in your code: rule X's after_step" in e for e in failed["error"])
    logs = sorted((work / "sw").glob("*/error.log"))
    assert len(logs) == 2 and all("ValueError: my bug" in log.read_text() for log in logs)


def test_a_circuit_name_with_separators_stays_under_runs(tmp_path):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    raw = yaml.safe_load((ROOT / "circuits" / "digits_fa.yaml").read_text())
    raw.update(name="../../X", phases=[{"learn": {"epochs": 1}}])
    (work / "c.yaml").write_text(yaml.safe_dump(raw))
    before = set(tmp_path.rglob("*"))
    assert cli("run", "c.yaml", "--quiet", cwd=work).returncode == 0
    new = set(tmp_path.rglob("*")) - before
    assert new and all(p.is_relative_to(work / "runs") for p in new), sorted(map(str, new))


# --- 3. one writer, even with .lock deleted ----------------------------------------------------------
def test_deleting_lock_does_not_let_a_second_writer_in(tmp_path):
    from spikefa import load_circuit

    out = tmp_path / "run"
    holder = RunFolder.open(out, load_circuit(ROOT / "circuits" / "digits_fa.yaml", ["phases.0.learn.epochs=3"]))
    try:
        (out / ".lock").unlink()
        r = cli("run", "digits_fa", *EPOCHS, "--out", out, fresh=True)
        assert f"another spikefa run (process {os.getpid()}" in one_line(r, 2)
    finally:
        holder.close()
    assert not (out / "metrics.csv").exists()


def test_a_second_sweep_into_the_same_folder_is_refused(tmp_path, capsys):
    from spikefa.runs import FolderLock

    out = tmp_path / "sw"
    out.mkdir()
    lock = FolderLock(out, "spikefa sweep")
    try:
        code = main(["sweep", "digits_fa", "--seeds", "2", "--out", str(out), "--quiet"])
    finally:
        lock.release()
    err = capsys.readouterr().err.strip()
    assert code == 2 and "another spikefa sweep" in err and len(err.splitlines()) == 1, err
    assert sorted(p.name for p in out.iterdir()) == [".lock"]


# --- 4. damaged metrics.csv: repaired from the checkpoint --------------------------------------------
@pytest.mark.parametrize("damage", ["truncated", "empty", "half a row"])
def test_a_damaged_metrics_csv_is_rewritten_from_the_checkpoint(run_copy, damage):
    whole = (run_copy / "metrics.csv").read_bytes()
    cut = {"truncated": whole[: whole.index(b"\n", len(whole) // 3) + 1], "empty": b"", "half a row": whole[:-40]}
    (run_copy / "metrics.csv").write_bytes(cut[damage])
    r = cli("plot", run_copy)
    assert r.returncode == 0 and "spikefa: warning:" in r.stderr and "rewritten from the checkpoint" in r.stderr
    assert (run_copy / "metrics.csv").read_bytes() == whole
    assert len(load_run(run_copy).metrics) == 4


def test_damaged_metrics_and_checkpoint_are_one_line(run_copy):
    (run_copy / "metrics.csv").write_bytes(b"")
    for name in (CHECKPOINT, PREVIOUS):
        (run_copy / name).write_bytes(b"PK\x03\x04 not a zip")
    r = cli("plot", run_copy)
    line = one_line(r, 2)
    assert "metrics.csv: empty, and checkpoint.npz is damaged too" in line and "--overwrite" in line


# --- 5. thread counts ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, env",
    [
        ([], {"SPIKEFA_THREADS": "²"}),
        ([], {"SPIKEFA_THREADS": "99999999999999999999999"}),
        (["--threads", "99999999999999999999"], {}),
        (["--threads", "-3"], {}),
    ],
)
def test_a_bad_thread_count_is_one_line_before_anything_is_written(tmp_path, args, env):
    r = cli("run", "digits_fa", *EPOCHS, *args, "--out", tmp_path / "out", env=env)
    assert "threads" in one_line(r, 2).lower()
    assert not (tmp_path / "out").exists()


# --- 6 and more: a user's code that fails --------------------------------------------------------------
HOOKS = {
    "exit0": ("def after_step(self, params, step):\n        raise SystemExit(0)", "sys.exit(0)"),
    "raises": ("def after_step(self, params, step):\n        raise ValueError('x' * 900)", "ValueError"),
    "plasticity": ("def plasticity(self):\n        return 'hebbian'", "plasticity() returned 'hebbian'"),
    "init_shape": (
        "def init_feedback(self, sizes, W, rng, dtype):\n        return [None, np.zeros((3, 3))], [None, None]",
        "init_feedback() returned B[1] float64 (3, 3); it must be a finite array of shape (100, 10)",
    ),
    "init_type": ("def init_feedback(self, sizes, W, rng, dtype):\n        return 5", "init_feedback() returned 5"),
}


@pytest.mark.parametrize("hook", list(HOOKS))
def test_a_users_failing_hook_is_one_line_exit_4_with_its_traceback_in_the_run_folder(tmp_path, hook):
    body, said = HOOKS[hook]
    (tmp_path / "mine.py").write_text(
        f"import numpy as np\nfrom spikefa.rules import Rule\n\n\nclass Mine(Rule):\n"
        f"    topology = 'layerwise'\n\n    {body}\n"
    )
    raw = yaml.safe_load((ROOT / "circuits" / "digits_fa.yaml").read_text())
    raw.update(rule={"name": "mine.py:Mine"}, phases=[{"learn": {"epochs": 2}}])
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    out = tmp_path / "out"
    r = cli("run", tmp_path / "c.yaml", "--out", out, "--quiet")
    line = one_line(r, 4)
    assert line.startswith("spikefa: error in your code:") and said in line, line
    if hook in ("exit0", "raises"):
        assert "rule Mine's after_step (mine.py:" in line and f"traceback in {out / 'error.log'}" in line
        assert "Traceback" in (out / "error.log").read_text()
        assert json.loads((out / "summary.json").read_text())["status"] == "failed"
        assert len(load_run(out).metrics) == 1  # the untrained row, kept


# --- damaged checkpoints, summaries, weights, configs ------------------------------------------------
@pytest.mark.parametrize("damage", ["empty", "truncated", "bit-flipped"])
def test_a_damaged_latest_checkpoint_falls_back_to_the_previous_one(run_copy, finished, damage):
    """Killed (summary still 'running') with its latest checkpoint damaged: it resumes from the one
    before, with a warning, and ends with the uninterrupted run's numbers."""
    data = bytearray((run_copy / CHECKPOINT).read_bytes())
    if damage == "bit-flipped":
        data[len(data) // 2] ^= 0xFF
    (run_copy / CHECKPOINT).write_bytes({"empty": b"", "truncated": bytes(data[:500])}.get(damage, bytes(data)))
    (run_copy / "summary.json").write_text('{"status": "running"}')
    r = cli("run", "digits_fa", *EPOCHS, "--out", run_copy)
    assert r.returncode == 0 and "resuming from checkpoint.previous.npz" in r.stderr, r.stderr
    assert "after resuming" in r.stdout
    assert (run_copy / "metrics.csv").read_bytes() == (finished / "metrics.csv").read_bytes()
    for name, a in np.load(finished / "weights.npz").items():
        np.testing.assert_array_equal(load_run(run_copy).weights[name], a)


def test_a_bit_flipped_checkpoint_with_nothing_before_it_is_one_line(run_copy):
    data = bytearray((run_copy / CHECKPOINT).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (run_copy / CHECKPOINT).write_bytes(bytes(data))
    (run_copy / PREVIOUS).unlink()
    (run_copy / "summary.json").write_text('{"status": "running"}')
    line = one_line(cli("run", "digits_fa", *EPOCHS, "--out", run_copy), 2)
    assert "checkpoint.npz: damaged" in line and "--overwrite" in line


@pytest.mark.parametrize("summary", ["truncated", "says complete", "a list"])
def test_a_damaged_summary_is_finished_again_from_the_checkpoint(run_copy, finished, summary):
    text = (run_copy / "summary.json").read_text()
    damaged = {"truncated": text[:50], "says complete": '{"status": "complete"}', "a list": "[1, 2]"}[summary]
    (run_copy / "summary.json").write_text(damaged)
    if summary != "says complete":
        assert "summary.json: damaged" in one_line(cli("plot", run_copy), 2)
        with pytest.raises(SpikefaError, match="summary.json: damaged"):
            load_run(run_copy)
    r = cli("run", "digits_fa", *EPOCHS, "--out", run_copy)
    assert r.returncode == 0 and "finishing the run again from its checkpoint" in r.stderr, r.stderr
    assert json.loads((run_copy / "summary.json").read_text())["final"] == json.loads(text)["final"]
    assert (run_copy / "metrics.csv").read_bytes() == (finished / "metrics.csv").read_bytes()


def test_a_summary_saying_complete_too_early_resumes_the_run(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "digits_fa", "--set", "phases.0.learn.epochs=1", "--quiet", "--out", str(out)]) == 0
    (out / "summary.json").write_text(json.dumps({"status": "complete", "final": {"test_acc": 1.0}}))
    # a longer run of another config is refused; the same circuit resumes past the false claim
    assert main(["run", "digits_fa", "--set", "phases.0.learn.epochs=1", "--quiet", "--out", str(out)]) == 0
    assert load_run(out).summary["final"]["test_acc"] < 1.0


def test_truncated_weights_are_named_by_load_run_and_rewritten_by_a_rerun(run_copy):
    good = dict(np.load(run_copy / "weights.npz"))
    (run_copy / "weights.npz").write_bytes((run_copy / "weights.npz").read_bytes()[:300])
    with pytest.raises(SpikefaError, match=r"weights.npz: damaged .*spikefa run .* --out"):
        load_run(run_copy)
    assert "weights.npz: damaged" in one_line(cli("plot", run_copy), 2)
    r = cli("run", "digits_fa", *EPOCHS, "--out", run_copy)
    assert r.returncode == 0 and "weights.npz: damaged" in r.stderr, r.stderr
    for name, a in good.items():
        np.testing.assert_array_equal(load_run(run_copy).weights[name], a)


@pytest.mark.parametrize("config", ["", "name: [unclosed", "- a list", "just text"])
def test_a_damaged_config_is_one_line_and_the_folder_is_kept(run_copy, config):
    (run_copy / "config.yaml").write_text(config)
    before = files(run_copy)
    line = one_line(cli("run", "digits_fa", *EPOCHS, "--out", run_copy), 2)
    assert "config.yaml is damaged" in line and "--overwrite" in line, line
    assert "config.yaml is damaged" in one_line(cli("plot", run_copy), 2)
    assert files(run_copy) == before


def test_a_figure_missing_after_a_finished_run_is_drawn_again(run_copy):
    (run_copy / "training.png").unlink()
    r = cli("run", "digits_fa", *EPOCHS, "--out", run_copy)
    assert r.returncode == 0 and "already holds this finished run" in r.stdout
    assert (run_copy / "training.png").stat().st_size > 10_000


# --- divergence, the disk, bugs -------------------------------------------------------------------------
def test_a_finite_divergence_stops_as_diverged_and_keeps_the_metrics(tmp_path):
    out = tmp_path / "run"
    r = cli("run", "digits_fa", *EPOCHS, "--set", "optimizer.lr=1e4", "--out", out)
    line = one_line(r, 3)
    assert "exploded" in line and "lower optimizer.lr" in line
    assert json.loads((out / "summary.json").read_text())["status"] == "diverged"
    assert len(load_run(out).metrics) >= 1


def test_a_full_disk_is_one_line_exit_5_and_the_run_resumes(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    real, calls = RunFolder.save_checkpoint, {"n": 0}

    def full(self, arrays, state):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, arrays, state)

    monkeypatch.setattr(RunFolder, "save_checkpoint", full)
    assert main(["run", "digits_fa", *EPOCHS, "--out", str(out)]) == 5
    err = capsys.readouterr().err.strip()
    assert err == "spikefa: error: No space left on device; free some space and run the same command again", err
    monkeypatch.setattr(RunFolder, "save_checkpoint", real)
    assert main(["run", "digits_fa", *EPOCHS, "--out", str(out)]) == 0
    assert len(load_run(out).metrics) == 4


def test_a_bug_in_spikefa_is_one_line_exit_1_with_a_log_to_report(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = tmp_path / "run"
    # a failure raised by spikefa's own call (a built-in's, no user frame): a KeyError where none belongs
    monkeypatch.setattr("spikefa.training.plot_run", {}.__getitem__)
    assert main(["run", "digits_fa", "--set", "phases.0.learn.epochs=1", "--quiet", "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("spikefa: a bug in spikefa: KeyError: PosixPath(") and "please report it" in err, err
    log = err.split("traceback in ")[1].split(" — ")[0]
    assert "Traceback" in open(log).read() and log.startswith(str(tmp_path / "cache"))


def test_plotting_a_read_only_folder_is_one_line(run_copy, monkeypatch, capsys):
    import matplotlib.figure

    def refuse(self, path, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", refuse)
    assert main(["plot", str(run_copy)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"spikefa: error: {run_copy / 'training.png'}: Permission denied", err


# --- more faults, each: how the folder or the input is damaged, the command, its exit code and line ------
def _rule_file(tmp, body: str) -> str:
    """A circuit file naming a user's rule ``X`` whose class body is ``body``; returns its path."""
    (tmp / "x.py").write_text(
        f"import numpy as np\nfrom spikefa.rules import Rule\n\n\nclass X(Rule):\n    topology = 'layerwise'\n{body}\n"
    )
    raw = yaml.safe_load((ROOT / "circuits" / "digits_fa.yaml").read_text())
    raw.update(rule={"name": "x.py:X"}, phases=[{"learn": {"epochs": 2}}])
    (tmp / "x.yaml").write_text(yaml.safe_dump(raw))
    return str(tmp / "x.yaml")


def _running(run):
    (run / "summary.json").write_text('{"status": "running"}')


def _edit_checkpoint(run, change):
    z = dict(np.load(run / CHECKPOINT))
    change(z)
    np.savez(run / CHECKPOINT, **z)
    _running(run)


def _state(z, **fields):
    z["state"] = np.array(json.dumps({**json.loads(str(z["state"])), **fields}))


def _replace_by_folder(path):
    path.unlink()
    path.mkdir()


RUN, PLOT = ["run", "digits_fa", *EPOCHS, "--out"], ["plot"]
NOT_A_ZIP = "checkpoint.npz: damaged (ValueError: Object arrays cannot be loaded when allow_pickle=False)"
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi")
)
TAG = "!!python/object/apply:os.system ['touch PWNED']\n"


def hook(name: str, body: str):
    """A setup writing a user's rule X whose ``name`` method does ``body``."""
    args = "self, sizes, W, rng, dtype" if name == "init_feedback" else "self, params, step"
    args = "self" if name in ("plasticity", "code_feedback") else args
    return lambda t, r: _rule_file(t, f"    def {name}({args}):\n        {body}")


def write(name: str, data: bytes | str):
    return lambda t, r: (t / name).write_bytes(data) if isinstance(data, bytes) else (r / name).write_text(data)


def folder_for(name: str, running: bool = False):
    return lambda t, r: (_replace_by_folder(r / name), running and _running(r))


MORE = {
    # damaged or strange run folder files (the folder: a finished digits_fa run)
    "pickled checkpoint": (
        lambda t, r: (np.savez(r / CHECKPOINT, state=np.array([object()], dtype=object)), _running(r)),
        RUN, 0, NOT_A_ZIP,
    ),
    "checkpoint of another shape": (
        lambda t, r: _edit_checkpoint(r, lambda z: z.update(W0=np.zeros((3, 3)))),
        RUN, 2, "checkpoint.npz: does not fit this circuit (W0 is float64 (3, 3)",
    ),
    "checkpoint with an unknown field": (
        lambda t, r: _edit_checkpoint(r, lambda z: _state(z, newfield=1)),
        RUN, 2, "does not fit this circuit (Position.__init__() got an unexpected keyword argument 'newfield')",
    ),
    "checkpoint without rows": (
        lambda t, r: _edit_checkpoint(r, lambda z: z.update(state=np.array('{"phase": 0}'))),
        RUN, 0, "checkpoint.npz: damaged (its state lacks fields); resuming from checkpoint.previous.npz",
    ),
    "checkpoint state not JSON": (
        lambda t, r: _edit_checkpoint(r, lambda z: z.update(state=np.array("{not json"))),
        RUN, 0, "checkpoint.npz: damaged (Expecting property name",
    ),
    "checkpoint a folder": (folder_for(CHECKPOINT, running=True), RUN, 2, "checkpoint.npz: Is a directory"),
    "summary a folder": (folder_for("summary.json"), PLOT, 2, "summary.json: damaged (a folder, not a file)"),
    "summary not UTF-8": (lambda t, r: (r / "summary.json").write_bytes(b"\xff\xfe"), PLOT, 2, "summary.json: damaged"),
    "pickled weights": (
        lambda t, r: np.savez(r / "weights.npz", W0=np.array([object()], dtype=object)),
        PLOT, 2, "weights.npz: damaged (ValueError: Object arrays cannot be loaded",
    ),
    "weights a folder": (folder_for("weights.npz"), PLOT, 2, "weights.npz: damaged (a folder, not a file)"),
    "damaged monitors": (lambda t, r: (r / "monitors.npz").write_bytes(b"xx"), PLOT, 2, "monitors.npz: damaged"),
    "metrics not UTF-8": (
        lambda t, r: (r / "metrics.csv").write_bytes(b"\xff\xfe\x00x\n"), PLOT, 0, "metrics.csv: not text; rewritten"
    ),
    "metrics cut short, run again": (
        lambda t, r: (r / "metrics.csv").write_bytes((r / "metrics.csv").read_bytes()[:-200]),
        RUN, 0, "metrics.csv: its last row is cut short; rewritten from the checkpoint (4 rows)",
    ),
    "metrics deleted": (lambda t, r: (r / "metrics.csv").unlink(), PLOT, 0, "metrics.csv: missing; rewritten"),
    "metrics with a row too long": (
        lambda t, r: (r / "metrics.csv").write_text((r / "metrics.csv").read_text() + "1,2,3\n"),
        PLOT, 0, "metrics.csv: row 5 has 3 of",
    ),
    "metrics of other columns": (
        write("metrics.csv", "a,b\n1,2\n3,4\n5,6\n7,8\n"),
        PLOT, 0, "metrics.csv: its columns are not those of checkpoint.npz; rewritten",
    ),
    "metrics a folder": (folder_for("metrics.csv"), PLOT, 0, "not rewritten: Is a directory"),
    "figure a folder": (folder_for("training.png"), PLOT, 2, "training.png: Is a directory"),
    ".lock a folder": (folder_for(".lock"), RUN, 2, "cannot write there (Is a directory)"),
    "config a folder": (folder_for("config.yaml"), RUN, 2, "holds other files"),
    "config of another engine": (
        lambda t, r: (r / "config.yaml").write_text((r / "config.yaml").read_text().replace("reference", "brian2")),
        RUN, 2, "holds a run of a different circuit",
    ),
    "config a YAML bomb": (write("config.yaml", BOMB), RUN, 2, "holds a run of a different circuit"),
    "config a python tag": (write("config.yaml", TAG), RUN, 2, "config.yaml is damaged (not YAML: could not determine"),
    # the command line and circuit files
    "no such circuit": (None, ["run", "no_such_circuit"], 2, "no_such_circuit: no such circuit file"),
    "a folder as circuit": (None, ["run", "/"], 2, "/: is a folder, not a circuit file"),
    "binary circuit file": (write("b.yaml", b"\x00\xff" * 100), ["run", "b.yaml"], 2, "not UTF-8 text"),
    "python tag in a circuit": (write("p.yaml", TAG.encode()), ["run", "p.yaml"], 2, "malformed YAML"),
    "--set without =": (None, ["run", "digits_fa", "--set", "foo"], 2, "--set foo: must be KEY=VALUE"),
    "--out is a file": (write("f", b"x"), ["run", "digits_fa", "--out", "f"], 2, "exists and is not a folder"),
    "--out under a file": (write("f", b"x"), ["run", "digits_fa", "--out", "f/sub"], 2, "(Not a directory)"),
    "plot no folder": (None, ["plot", "nowhere"], 2, "nowhere: not a run folder (no config.yaml)"),
    "plot a file": (write("f", b"x"), ["plot", "f"], 2, "not a run folder"),
    "plot a missing recording": (None, ["plot", "--activity", "test"], 2, "no 'test' recording in monitors.npz"),
    "unknown figure": (None, ["figure", "nosuch"], 2, "unknown figure 'nosuch'"),
    "sweep of an unknown field": (None, ["sweep", "digits_fa", "--grid", "nosuch=1,2"], 2, "nosuch: unknown field"),
    "sweep with no workers": (
        None, ["sweep", "digits_fa", "--seeds", "2", "--workers", "0"], 2, "--workers: must be a positive integer"
    ),
    "MNIST not there": (None, ["run", "mnist_fa", "--data-dir", "nowhere"], 2, "MNIST folder not found"),
    "SPIKEFA_THREADS=0": (
        lambda t, r: os.environ.__setitem__("SPIKEFA_THREADS", "0"),
        ["run", "digits_fa"], 2, "SPIKEFA_THREADS: must be an integer from 1 to 1024, got '0'",
    ),
    # a user's code
    "rule with a syntax error": (
        lambda t, r: (_rule_file(t, ""), (t / "x.py").write_text("def (\n"))[0],
        "x", 2, "cannot import 'x.py' (SyntaxError",
    ),
    "rule exits on import": (lambda t, r: _rule_file(t, "    __import__('sys').exit(7)"), "x", 4, "called sys.exit(7)"),
    "rule not a Rule": (
        lambda t, r: (_rule_file(t, ""), (t / "x.py").write_text("class X:\n    pass\n"))[0],
        "x", 2, "'X' in 'x.py' is not a spikefa.rules.Rule subclass",
    ),
    "hook replaces B": (
        hook("after_step", "params.B[1] = np.zeros((2, 2))"),
        "x", 4, "rule X: after_step replaced params.B[1]; change it in place",
    ),
    "hook writes NaN": (hook("after_step", "params.B[1][...] = np.nan"), "x", 3, "the loss became nan"),
    "hook presses Ctrl-C": (hook("after_step", "raise KeyboardInterrupt"), "x", 130, "interrupted; run the same"),
    "hook runs out of memory": (hook("after_step", "raise MemoryError"), "x", 2, "out of memory"),
    "code_feedback not a string": (
        hook("code_feedback", "return 3"), "x", 4, "code_feedback() returned 3; it must return str or None"
    ),
    "init_feedback not finite": (
        hook("init_feedback", "return [None, np.full((100, 10), np.inf)], [None, None]"),
        "x", 4, "init_feedback() returned B[1] float64 (100, 10), not finite",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(MORE))
def test_more_faults_are_one_line_with_the_right_exit_code(case, finished, tmp_path, monkeypatch, capsys):
    setup, args, code, said = MORE[case]
    run = tmp_path / "digits_fa"
    shutil.copytree(finished, run)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SPIKEFA_THREADS", "1")  # recorded, so a case's own value is undone afterwards
    monkeypatch.delenv("SPIKEFA_THREADS")
    made = setup(tmp_path, run) if setup else None
    if args == "x":
        args = ["run", made, "--quiet", "--out", "x_run"]
    elif args in (PLOT, ["plot", "--activity", "test"]):
        args = [*args, str(run)]
    elif args == RUN:
        args = [*RUN, str(run)]
    assert main([*args]) == code
    err = [k for k in capsys.readouterr().err.strip().splitlines() if not k.startswith("INFO")]
    failure = [k for k in err if not k.startswith("spikefa: warning:")]
    assert all(len(k) <= 300 for k in err) and len(failure) == bool(code) and len(err) <= 2, err
    assert said in " ".join(err), err
    assert not (tmp_path / "PWNED").exists()
    if code == 0 and args[0] == "run":  # repaired: the finished run's numbers
        assert (run / "metrics.csv").read_bytes() == (finished / "metrics.csv").read_bytes()


def test_the_python_api_refuses_and_reads_as_the_command_line_does(finished, tmp_path, recwarn):
    import spikefa
    from spikefa.runs import FolderLock

    circuit = spikefa.load_circuit(ROOT / "circuits" / "digits_fa.yaml", ["phases.0.learn.epochs=1"])
    for threads in (0, 10**20, True):
        with pytest.raises(SpikefaError, match="--threads: must be an integer from 1 to 1024"):
            spikefa.run_circuit(circuit, tmp_path / "t", threads=threads)
    assert not (tmp_path / "t").exists()
    # a config naming a rule this process never imported: refused without importing it
    marker = tmp_path / "IMPORTED"
    (tmp_path / "evil.py").write_text(EVIL.format(marker=str(marker)))
    raw = {**circuit.to_dict(), "rule": {"name": f"{tmp_path / 'evil.py'}:Evil"}}
    with pytest.raises(CodeNotLoaded):
        spikefa.circuit_from_dict(raw, load_code=False)
    assert not marker.exists()
    assert spikefa.circuit_from_dict(raw).rule.name.endswith("evil.py:Evil") and marker.exists()  # asked for
    # a folder a run is writing: its rows so far, the half-written last one left out, nothing repaired
    live = tmp_path / "live"
    shutil.copytree(finished, live)
    text = (live / "metrics.csv").read_bytes()
    (live / "metrics.csv").write_bytes(text[:-30])
    lock = FolderLock(live)
    try:
        assert len(load_run(live).metrics) == 3 and (live / "metrics.csv").read_bytes() == text[:-30]
    finally:
        lock.release()
    assert not [w for w in recwarn if "metrics" in str(w.message)]
    assert len(load_run(live).metrics) == 4 and (live / "metrics.csv").read_bytes() == text  # repaired now
    with pytest.raises(SpikefaError, match="not a run folder"):
        load_run(tmp_path)


def test_a_lif_membrane_that_becomes_nan_stops_the_run_as_diverged(tmp_path):
    """A population's own membrane code gone NaN (sqrt of an inhibited v): before, the run ended
    'complete' at chance accuracy; now it stops at the first metrics row, naming the variable."""
    raw = {
        "seed": 1,
        "engine": "brian2",
        "network": {"sizes": [64, 20, 10], "hidden": "relu"},
        "task": {"name": "digits", "n_train": 40, "n_test": 20},
        "rule": "feedback_alignment",
        "optimizer": {"lr": 0.05, "batch_size": 20},
        "phases": [{"learn": {"epochs": 2}}],
        "brian": {
            "neurons": "lif",
            "target": "numpy",
            "populations": {
                "hidden": {
                    "equations": "dv/dt = (u - v + sqrt(v)) / tau : 1 (unless refractory)",
                    "threshold": "v > theta",
                    "reset": "v = 0",
                    "method": "euler",
                    "params": {"tau": "10 ms", "theta": 0.5},
                }
            },
        },
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    r = cli("run", tmp_path / "c.yaml", "--out", tmp_path / "run", "--quiet")
    last = r.stderr.strip().splitlines()[-1]  # after Brian2's own warning about the NaN
    assert r.returncode == 3 and last.startswith("spikefa: run diverged: layer1.v became non-finite"), r.stderr
    assert "check the population's equations" in last
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["status"] == "diverged"


def test_a_rule_installed_as_a_package_is_still_the_users_code(tmp_path, monkeypatch):
    """A failure in a rule that lives among the installed packages is the user's, not spikefa's."""
    from spikefa import failures

    monkeypatch.setattr(failures, "LIBRARIES", (*failures.LIBRARIES, str(tmp_path)))  # as if site-packages
    path = _rule_file(tmp_path, "    def after_step(self, params, step):\n        raise ValueError('mine')")
    r = cli("run", path, "--quiet", "--out", tmp_path / "run")
    assert "error in your code: rule X's after_step (x.py:" in one_line(r, 4)
