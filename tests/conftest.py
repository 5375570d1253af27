import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
MNIST = Path(os.environ.get("SPIKEFA_DATA", ROOT.parent / "shared" / "data" / "mnist"))

# Brian2's code compiled at -O0 (spikefa.brian.compiler): the suite builds a few hundred structures, each once,
# and the compiler is most of a cold run; set SPIKEFA_OPT_LEVEL=3 to test at Brian2's own -O3. Subprocesses
# (the CLI, compiled projects, Dask workers) inherit it.
os.environ.setdefault("SPIKEFA_OPT_LEVEL", "0")


# The test files that cost most on a cold machine (every cache empty: Cython modules, compiled projects), the
# costliest first; measured with `pytest --durations` on 2026-12-03. The two xdist workers take whole files in
# collection order (--dist loadfile --no-loadscope-reorder: xdist would otherwise put the files with the most
# tests first), so the long ones start first and neither worker is left alone at the end
# with one of them (measured before: one worker idle for the last ~6 minutes of a 33-minute cold run; the three
# compiled LIF tests, one file then, kept one worker alone for the last ~5 minutes of 26).
COSTLIEST_FIRST = (
    "test_generated_code.py",
    "test_brian_lif.py",
    "test_standalone_lif.py",
    "test_figures.py",
    "test_standalone_lif_online.py",
    "test_brian_equivalence.py",
    "test_generated_lif.py",
    "test_extra_populations.py",
    "test_sweeps.py",
    "test_learning.py",
    "test_online.py",
    "test_recordings.py",
    "test_docs.py",
    "test_package.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(COSTLIEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: a file's tests keep their order


def tiny_circuit(rule_name="feedback_alignment", sizes=(5, 4, 3), hidden="tanh", output="softmax", **extra):
    """A raw circuit mapping for a tiny network; keyword groups are merged into it."""
    raw = {
        "name": "tiny",
        "seed": 3,
        "network": {"sizes": list(sizes), "hidden": hidden, "output": output},
        "task": {"name": "digits"},
        "rule": {"name": rule_name},
        "optimizer": {"lr": 0.1, "batch_size": 8},
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key].update(value)
        else:
            raw[key] = value
    return raw


COMPILER_PREFS = (
    "codegen.cpp.extra_compile_args",
    "codegen.cpp.extra_compile_args_gcc",
    "codegen.runtime.cython.cache_dir",
)


@pytest.fixture
def brian_prefs():
    """Brian2's compiler preferences as they were, back after the test."""
    from brian2 import prefs

    saved = {name: prefs[name] for name in COMPILER_PREFS}
    yield
    for name, value in saved.items():
        prefs[name] = value


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def spikefa_cli(tmp_path):
    """Run the spikefa command in a subprocess from the repository root; returns CompletedProcess."""
    import subprocess

    def run(*args, cwd=ROOT):
        return subprocess.run(
            [sys.executable, "-m", "spikefa.cli", *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300
        )

    return run


def interrupted_and_whole(circuit, tmp_path, monkeypatch, die_at: int, ctrl_c: BaseException | None = None):
    """Run ``circuit`` once uninterrupted and once killed in its ``die_at``-th epoch by ``ctrl_c`` (what a
    Ctrl-C raised there; default a ``KeyboardInterrupt``), which must end the call as a
    ``KeyboardInterrupt``, then resumed by the same call; returns the two run folders (whole, resumed)."""
    from spikefa import run_circuit
    from spikefa.training import Trainer

    whole = run_circuit(circuit, tmp_path / "whole", progress=False).path
    real, calls = Trainer.run_epoch, {"n": 0}

    def dying(self, phase, data, bar):
        calls["n"] += 1
        if calls["n"] == die_at:
            raise ctrl_c or KeyboardInterrupt()
        return real(self, phase, data, bar)

    monkeypatch.setattr(Trainer, "run_epoch", dying)
    with pytest.raises(KeyboardInterrupt):
        run_circuit(circuit, tmp_path / "cut", progress=False)
    monkeypatch.setattr(Trainer, "run_epoch", real)
    return whole, run_circuit(circuit, tmp_path / "cut", progress=False).path
