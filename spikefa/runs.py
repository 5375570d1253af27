"""Run folders: everything one run leaves behind, written atomically, and loaded back with one call.

A run folder holds

- ``config.yaml``     the resolved circuit (every default filled in; ``spikefa run`` accepts it)
- ``metrics.csv``     one row per recording point (no wall-clock values: same seed ⇒ same bytes)
- ``weights.npz``     final W{l}, b{l}, B{l}
- ``checkpoint.npz``  the full training state at the last checkpoint (resume continues from it)
- ``summary.json``    status (running | complete | diverged), final metrics, wall time
- ``training.png``    the learning curves (:mod:`spikefa.plots`)
- ``monitors.npz``    Brian2 circuits only, on request (``brian.monitor``): recorded state variables
- ``.lock``           held (an OS file lock) by the one process writing the folder; it names that process

A folder has one writer: a second run into it is refused while the first holds the lock, and the OS
drops the lock of a killed run, so a resume is never blocked. Files are written atomically (a temporary
file moved into place) with the user's default permissions (umask); temporaries a kill left behind are
removed when the next run takes the folder.
"""

from __future__ import annotations

import csv
import fcntl
import json
import math
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from . import spec
from .errors import SpikefaError

CONFIG, METRICS, WEIGHTS, CHECKPOINT, SUMMARY, FIGURE, MONITORS, LOCK = (
    "config.yaml",
    "metrics.csv",
    "weights.npz",
    "checkpoint.npz",
    "summary.json",
    "training.png",
    "monitors.npz",
    ".lock",
)
NWB = "monitors.nwb"
FILES = (CONFIG, METRICS, WEIGHTS, CHECKPOINT, SUMMARY, FIGURE, MONITORS, NWB)
PARTS = "monitors.part."  # recordings while learning, one file per checkpoint until the run ends
RESULTS = (METRICS, CHECKPOINT, WEIGHTS)  # a folder without any of these has recorded nothing yet


def _file_mode() -> int:
    """The permissions a new file gets from the user's umask (0644 with the usual 022)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


FILE_MODE = _file_mode()


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` then move the file into place, so a kill never leaves half a file.
    The file gets the user's default permissions (``mkstemp`` alone would make it 0600)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _remove_temporaries(path: Path) -> None:
    """Delete the temporaries of :func:`atomic_write` that a killed run left in ``path``."""
    for name in (*FILES, PARTS):
        for tmp in path.glob(f".{name}*"):
            tmp.unlink(missing_ok=True)


class FolderLock:
    """An exclusive OS lock (``flock``) on ``folder/.lock``, which names the holding process. The OS
    releases it when the process ends, however it ends."""

    def __init__(self, folder: Path):
        self.path = folder / LOCK
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        except OSError as err:
            raise SpikefaError(f"--out {folder}: cannot write there ({err.strerror})") from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(self.fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(self.fd)
            raise SpikefaError(
                f"--out {folder}: another spikefa run ({holder}) is writing to it; "
                "wait for it to end or choose another --out"
            ) from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"process {os.getpid()} on {socket.gethostname()}\n".encode(), 0)

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing the descriptor drops the lock
            self.fd = -1


def _format(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    return str(value)


class RunFolder:
    """The run folder being written by a running simulation."""

    def __init__(self, path: Path, circuit: spec.Circuit):
        self.path = path
        self.circuit = circuit
        self.columns: list[str] | None = None
        self.rows: list[dict] = []
        self.reused = False  # True when the folder already held this circuit's finished run
        self.lock: FolderLock | None = None

    @classmethod
    def open(cls, path: str | Path, circuit: spec.Circuit, overwrite: bool = False) -> RunFolder:
        """Prepare ``path`` for ``circuit`` and take its lock (:meth:`close` gives it back). An existing
        folder of the same config is resumed (or left as it is if complete); one of another config is
        refused unless ``overwrite``; so is a folder another run holds."""
        path = Path(path)
        config = yaml.safe_dump(circuit.to_dict(), sort_keys=False)
        _check_contents(path, config, overwrite)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise SpikefaError(f"--out {path}: cannot create the folder ({err.strerror})") from None
        folder = cls(path, circuit)
        folder.lock = FolderLock(path)
        try:
            _check_contents(path, config, overwrite)  # again: another run may have written it meanwhile
            if overwrite:
                for item in path.iterdir():
                    if item.name != LOCK:
                        shutil.rmtree(item) if item.is_dir() and not item.is_symlink() else item.unlink()
            elif not any((path / f).is_file() for f in RESULTS):  # nothing recorded: start it afresh
                for name in FILES:
                    (path / name).unlink(missing_ok=True)
                for part in path.glob(f"{PARTS}*.npz"):
                    part.unlink()
            _remove_temporaries(path)
            if not (path / CONFIG).is_file():
                atomic_write(path / CONFIG, lambda p: p.write_text(config))
        except BaseException:
            folder.close()
            raise
        return folder

    def close(self) -> None:
        """Give back the folder's lock."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    # --- metrics ----------------------------------------------------------------------------------
    def append(self, row: dict) -> None:
        """Add one metrics row and flush it to metrics.csv."""
        if self.columns is None:
            self.columns = list(row)
            self._rewrite()
        self.rows.append(row)
        with open(self.path / METRICS, "a", newline="") as fh:
            csv.writer(fh).writerow([_format(row.get(c, float("nan"))) for c in self.columns])

    def _rewrite(self) -> None:
        def write(p: Path):
            with open(p, "w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(self.columns)
                for row in self.rows:
                    w.writerow([_format(row.get(c, float("nan"))) for c in self.columns])

        atomic_write(self.path / METRICS, write)

    # --- checkpoints and results --------------------------------------------------------------
    def save_checkpoint(self, arrays: dict[str, np.ndarray], state: dict) -> None:
        state = dict(state, rows=self.rows, columns=self.columns)
        atomic_write(self.path / CHECKPOINT, lambda p: np.savez(p, state=np.array(json.dumps(state)), **arrays))

    def load_checkpoint(self) -> tuple[dict[str, np.ndarray], dict] | None:
        """The saved arrays and state, with metrics.csv cut back to the rows recorded by then."""
        if not (self.path / CHECKPOINT).is_file():
            return None
        with np.load(self.path / CHECKPOINT) as z:
            arrays = {k: z[k] for k in z.files if k != "state"}
            state = json.loads(str(z["state"]))
        self.rows, self.columns = state.pop("rows"), state.pop("columns")
        self._rewrite()
        return arrays, state

    def save_weights(self, arrays: dict[str, np.ndarray]) -> None:
        atomic_write(self.path / WEIGHTS, lambda p: np.savez(p, **arrays))

    def save_monitors(self, arrays: dict[str, np.ndarray]) -> None:
        atomic_write(self.path / MONITORS, lambda p: np.savez(p, **arrays))

    def save_monitor_part(self, arrays: dict[str, np.ndarray], position: tuple[int, int]) -> None:
        """Recordings made up to a checkpoint at ``position`` (examples, mirror steps)."""
        name = f"{PARTS}{position[0]:012d}.{position[1]:012d}.npz"
        atomic_write(self.path / name, lambda p: np.savez(p, **arrays))

    def load_monitor_parts(self) -> list[dict[str, np.ndarray]]:
        out = []
        for part in self.monitor_parts():
            with np.load(part) as z:
                out.append({k: z[k] for k in z.files})
        return out

    def monitor_parts(self, after: tuple[int, int] | None = None) -> list[Path]:
        """The saved recording parts in order (those past ``after`` only)."""
        parts = sorted(self.path.glob(f"{PARTS}*.npz"))
        position = lambda p: tuple(int(x) for x in p.name[len(PARTS) :].split(".")[:2])  # noqa: E731
        return [p for p in parts if after is None or position(p) > after]

    def write_summary(self, summary: dict) -> None:
        atomic_write(self.path / SUMMARY, lambda p: p.write_text(json.dumps(summary, indent=2) + "\n"))

    def summary(self) -> dict:
        f = self.path / SUMMARY
        return json.loads(f.read_text()) if f.is_file() else {}


def join(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Recordings saved in parts (one per checkpoint), joined along time."""
    out: dict[str, np.ndarray] = {}
    for key in dict.fromkeys(k for part in parts for k in part):
        pieces = [part[key] for part in parts if key in part]
        out[key] = np.concatenate(pieces, axis=pieces[0].ndim - 1)
    return out


def _check_contents(path: Path, config: str, overwrite: bool) -> None:
    """Refuse an --out that is not a folder, or holds anything but a run of ``config`` (unless
    ``overwrite`` and it is a run folder)."""
    if path.exists() and not path.is_dir():
        raise SpikefaError(f"--out {path}: exists and is not a folder")
    try:
        if not path.is_dir() or not any(p.name != LOCK for p in path.iterdir()):
            return
        old = path / CONFIG
        if old.is_file() and not any((path / f).is_file() for f in RESULTS):
            return  # a run that ended before it recorded anything: nothing to lose, any circuit may take it
        if not old.is_file() or (not overwrite and not _same_circuit(old.read_text(), config)):
            raise SpikefaError(
                f"--out {path}: holds {'a run of a different circuit' if old.is_file() else 'other files'}; "
                "choose another --out or pass --overwrite"
            )
    except OSError as err:
        raise SpikefaError(f"--out {path}: cannot be read ({err.strerror})") from None


def _same_circuit(old: str, config: str) -> bool:
    """Whether a run folder's ``config.yaml`` (``old``) is the circuit whose resolved config is ``config``:
    the same text, or — written before a field was added — the same circuit once read again with
    every default filled in."""
    if old == config:
        return True
    try:
        again = spec.circuit_from_dict(yaml.safe_load(old), "config.yaml").to_dict()
    except (SpikefaError, yaml.YAMLError, TypeError, ValueError):
        return False
    return yaml.safe_dump(again, sort_keys=False) == config


@dataclass
class Run:
    """A finished (or interrupted) run, as :func:`load_run` gives it back."""

    path: Path
    config: dict
    metrics: Any  # pandas.DataFrame
    weights: dict[str, np.ndarray]
    summary: dict
    monitors: dict[str, np.ndarray]  # Brian2 recordings (brian.monitor), empty if none

    @property
    def circuit(self) -> spec.Circuit:
        return spec.circuit_from_dict(self.config, str(self.path / CONFIG))


def load_run(path: str | Path) -> Run:
    """Load a run folder: resolved config, metrics table (pandas), final weights, summary."""
    import pandas as pd

    path = Path(path)
    if not (path / CONFIG).is_file():
        raise SpikefaError(f"{path}: not a run folder (no {CONFIG})")
    config = yaml.safe_load((path / CONFIG).read_text())
    metrics = pd.read_csv(path / METRICS) if (path / METRICS).is_file() else pd.DataFrame()
    weights, monitors = {}, {}
    for name, into in ((WEIGHTS, weights), (MONITORS, monitors)):
        if (path / name).is_file():
            with np.load(path / name) as z:
                into.update({k: z[k] for k in z.files})
    summary = json.loads((path / SUMMARY).read_text()) if (path / SUMMARY).is_file() else {}
    return Run(path, config, metrics, weights, summary, monitors)
