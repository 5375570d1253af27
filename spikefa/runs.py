"""Run folders: everything one run leaves behind, written atomically, and loaded back with one call.

A run folder holds

- ``config.yaml``     the resolved circuit (every default filled in; ``spikefa run`` accepts it)
- ``metrics.csv``     one row per recording point (no wall-clock values: same seed ⇒ same bytes)
- ``weights.npz``     final W{l}, b{l}, B{l}
- ``checkpoint.npz``  the full training state at the last checkpoint (resume continues from it), and
  ``checkpoint.previous.npz``, the one before it (a damaged latest checkpoint falls back to it)
- ``summary.json``    status (running | complete | diverged), final metrics, wall time
- ``training.png``    the learning curves (:mod:`spikefa.plots`)
- ``monitors.npz``    Brian2 circuits only, on request (``brian.monitor``): recorded state variables
- ``.lock``           names the one process writing the folder (the lock itself is the OS's, on the folder)
- ``error.log``       the traceback of a failure that ended a run (a user's code, a bug), when one did

A folder has one writer: it holds an OS lock (``flock``) on the folder itself, which deleting files
cannot take away; a second run into it is refused while the first lives, and the OS drops the lock of a
killed run, so a resume is never blocked. Files are written atomically (a temporary file, synced, moved
into place) with the user's default permissions (umask); temporaries a kill left behind are removed when
the next run takes the folder.

Reading a folder (:func:`load_run`, ``spikefa plot``, the check that an ``--out`` holds the same circuit)
imports no code, and checks what it reads: a damaged ``metrics.csv`` is rewritten from the checkpoint's
rows (with a warning), any other damaged file is one :class:`~spikefa.errors.SpikefaError` naming it and
what to do.
"""

from __future__ import annotations

import csv
import errno
import fcntl
import hashlib
import io
import json
import math
import os
import re
import shutil
import socket
import tempfile
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from . import spec
from .errors import SpikefaError, SpikefaWarning
from .yamlfile import cut

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
NWB, PREVIOUS, ERROR_LOG = "monitors.nwb", "checkpoint.previous.npz", "error.log"
FILES = (CONFIG, METRICS, WEIGHTS, CHECKPOINT, PREVIOUS, SUMMARY, FIGURE, MONITORS, NWB, ERROR_LOG)
PARTS = "monitors.part."  # recordings while learning, one file per checkpoint until the run ends
RESULTS = (METRICS, CHECKPOINT, PREVIOUS, WEIGHTS)  # a folder without any of these has recorded nothing yet
# what reading a damaged .npz raises: cut short, empty, bit-flipped (zipfile's CRC check), not an .npz
DAMAGE = (zipfile.BadZipFile, EOFError, ValueError, KeyError, TypeError, zlib.error)  # JSON's errors: ValueError


def safe_name(text: str) -> str:
    """``text`` as one folder's name that stays where it is put: no separators, no ``..``, no control
    characters, no leading dot (hidden), at most 200 bytes (a file system takes 255). A name that had to
    change gets a short hash of the original, so two names never become one."""
    name = re.sub(r"[\x00-\x1f\x7f/\\]", "_", text).lstrip(".") or "_"
    if name == text and len(name.encode(errors="surrogatepass")) <= 200:
        return name
    digest = hashlib.sha1(text.encode(errors="surrogatepass")).hexdigest()[:8]
    while len(name.encode(errors="surrogatepass")) > 190:
        name = name[:-1]
    return f"{name}~{digest}"


def _file_mode() -> int:
    """The permissions a new file gets from the user's umask (0644 with the usual 022)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


FILE_MODE = _file_mode()


def atomic_write(path: Path, write, keep: Path | None = None) -> None:
    """Call ``write(tmp_path)``, sync it, then move the file into place, so a kill (or a power cut) never
    leaves half a file; ``keep``: first move the file it replaces there. The file gets the user's
    default permissions (``mkstemp`` alone would make it 0600)."""
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, FILE_MODE)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        if keep is not None and path.is_file():
            os.replace(path, keep)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _is_temporary(name: str) -> bool:
    """Whether ``name`` is an :func:`atomic_write` temporary of a run folder's file."""
    return any(name.startswith(f".{n}") for n in (*FILES, PARTS, LOCK))


def _remove_temporaries(path: Path) -> None:
    """Delete the temporaries of :func:`atomic_write` that a killed run left in ``path``."""
    for tmp in path.iterdir():
        if _is_temporary(tmp.name):
            tmp.unlink(missing_ok=True)


class FolderLock:
    """An exclusive OS lock (``flock``) on the folder itself — no file whose deletion would release it —
    held while the process lives (the OS releases it however the process ends); ``folder/.lock`` names
    the holder. ``what``: the folder's role in the refusal (``--out``)."""

    def __init__(self, folder: Path, what: str = "spikefa run"):
        self.fd = -1
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as err:
            raise SpikefaError(f"--out {folder}: cannot open the folder ({err.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise SpikefaError(
                f"--out {folder}: another {what} ({holder(folder)}) is writing to it; "
                "wait for it to end or choose another --out"
            ) from None
        self.fd = fd
        try:
            atomic_write(folder / LOCK, lambda p: p.write_text(f"process {os.getpid()} on {socket.gethostname()}\n"))
        except OSError as err:
            self.release()
            raise SpikefaError(f"--out {folder}: cannot write there ({err.strerror})") from None

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing the descriptor drops the lock
            self.fd = -1


def holder(folder: Path) -> str:
    """The process holding ``folder``'s lock, as the OS lists it (``/proc/locks``: a deleted ``.lock``
    cannot hide it), with the host ``.lock`` names; else what ``.lock`` says."""
    try:
        named = (folder / LOCK).read_text(errors="replace").strip()[:100]
    except OSError:
        named = ""
    try:
        st = os.stat(folder)
        inode = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
        with open("/proc/locks") as fh:  # "1: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE 0 EOF"
            pids = [f[4] for f in map(str.split, fh) if f[1:2] == ["FLOCK"] and f[5:6] == [inode]]
    except OSError:
        pids = []
    if pids and not named.startswith(f"process {pids[0]} "):
        return f"process {pids[0]}"
    return named or "another process"


def writer_active(folder: Path) -> bool:
    """Whether a run is writing ``folder`` now (holds its lock)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


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
        text = _metrics_text(self.columns, self.rows)
        atomic_write(self.path / METRICS, lambda p: p.write_text(text, newline=""))

    # --- checkpoints and results --------------------------------------------------------------
    def save_checkpoint(self, arrays: dict[str, np.ndarray], state: dict) -> None:
        """Write the checkpoint; the one it replaces becomes ``checkpoint.previous.npz``."""
        state = dict(state, rows=self.rows, columns=self.columns)
        atomic_write(
            self.path / CHECKPOINT,
            lambda p: np.savez(p, state=np.array(json.dumps(state)), **arrays),
            keep=self.path / PREVIOUS,
        )

    def load_checkpoint(self) -> tuple[dict[str, np.ndarray], dict] | None:
        """The saved arrays and state (the previous checkpoint, with a warning, if the latest is damaged),
        with metrics.csv cut back to the rows recorded by then."""
        saved = read_checkpoint(self.path)
        if saved is None:
            return None
        arrays, state = saved
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
        """summary.json ({} if there is none); :class:`SpikefaError` if it is damaged."""
        return read_summary(self.path)

    def finished(self) -> bool:
        """Whether the folder holds this circuit's finished run, whole: summary.json says complete and
        the final checkpoint, metrics.csv and weights.npz agree. A damaged or missing part is named in a
        warning, and the run is not finished: resuming from its checkpoint writes the results again."""
        try:
            summary = self.summary()
            if summary.get("status") != "complete":
                return False
            saved = read_checkpoint(self.path, fallback=False, arrays=False)
            state = saved[1] if saved else None
            final = {k: v for k, v in state["rows"][-1].items() if k not in ("phase", "kind")} if state else None
            if (
                state is None
                or state["phase"] < len(self.circuit.phases)
                or not {"examples", "seconds"} <= set(summary)
                or json.dumps(summary.get("final"), sort_keys=True) != json.dumps(final, sort_keys=True)
            ):
                raise SpikefaError(f"{self.path / SUMMARY}: says complete, but {CHECKPOINT} disagrees")
            read_metrics(self.path, repair=True, writing=True)
            read_npz(self.path / WEIGHTS)
        except SpikefaError as err:
            warn(f"{err}; finishing the run again from its checkpoint")
            return False
        return True


def join(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Recordings saved in parts (one per checkpoint), joined along time."""
    out: dict[str, np.ndarray] = {}
    for key in dict.fromkeys(k for part in parts for k in part):
        pieces = [part[key] for part in parts if key in part]
        out[key] = np.concatenate(pieces, axis=pieces[0].ndim - 1)
    return out


def warn(message: str) -> None:
    """A one-line warning about a run folder (the command line prints it as ``spikefa: warning: …``)."""
    warnings.warn(message, SpikefaWarning, stacklevel=2)


class Damaged(SpikefaError):
    """A run folder's file that cannot be read as what it should be; ``reason`` says why."""

    def __init__(self, path: Path, reason: str, advice: str = ""):
        self.path, self.reason = path, reason
        super().__init__(f"{path}: damaged ({reason})" + (f"; {advice}" if advice else ""))


def read_npz(path: Path, required: tuple[str, ...] = (), only: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """Every array of an .npz file (``only`` those named), without pickles; :class:`SpikefaError` naming
    it if it is damaged or lacks one of ``required``."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files if only is None or k in only}
    except FileNotFoundError:
        raise SpikefaError(f"{path}: missing") from None
    except IsADirectoryError:
        raise Damaged(path, "a folder, not a file") from None
    except DAMAGE as err:
        raise Damaged(path, f"{type(err).__name__}: {cut(str(err), 80)}") from None
    missing = [k for k in required if k not in arrays]
    if missing:
        raise Damaged(path, f"no {missing[0]!r} in it")
    return arrays


def _checkpoint(path: Path, arrays: bool = True) -> tuple[dict[str, np.ndarray], dict]:
    """A checkpoint file's (arrays, state); with ``arrays=False`` only its state is read ({} arrays)."""
    arrays = read_npz(path, ("state",), None if arrays else ("state",))
    try:
        state = json.loads(str(arrays.pop("state")))
        if not isinstance(state, dict) or not {"rows", "columns", "rng", "phase"} <= set(state):
            raise ValueError("its state lacks fields")
    except DAMAGE as err:
        raise Damaged(path, cut(str(err), 80)) from None
    return arrays, state


def read_checkpoint(
    folder: Path, fallback: bool = True, arrays: bool = True
) -> tuple[dict[str, np.ndarray], dict] | None:
    """A run folder's checkpoint (arrays, state), or None if it has none; ``arrays=False``: its state
    alone (metrics rows, position), without reading the weights. A damaged latest checkpoint falls back
    (``fallback``), with a warning, to the one before it; :class:`SpikefaError` if none is whole."""
    damaged: list[Damaged] = []
    for name in (CHECKPOINT, PREVIOUS) if fallback else (CHECKPOINT,):
        if not (folder / name).exists():
            continue
        try:
            saved = _checkpoint(folder / name, arrays)
        except Damaged as err:
            damaged.append(err)
            continue
        if damaged:
            warn(f"{damaged[0]}; resuming from {PREVIOUS}, the checkpoint before it")
        return saved
    if damaged:
        raise Damaged(
            damaged[0].path,
            damaged[0].reason,
            "no whole checkpoint before it; start the run again with --overwrite (or restore the file)",
        )
    return None


def read_summary(folder: Path) -> dict:
    """A run folder's summary.json ({} if there is none); :class:`SpikefaError` naming it if damaged."""
    f = folder / SUMMARY
    try:
        summary = json.loads(f.read_text())
    except FileNotFoundError:
        return {}
    except IsADirectoryError:
        raise Damaged(f, "a folder, not a file", "remove it and run the circuit into this folder again") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise Damaged(f, cut(str(err), 60), "run the circuit into this folder again to rewrite it") from None
    if not isinstance(summary, dict):
        raise Damaged(f, "not a mapping", "run the circuit into this folder again to rewrite it")
    return summary


def _csv_rows(path: Path) -> tuple[list[str], list[list[str]], str] | str:
    """(header, rows, text) of a metrics.csv, or what is wrong with it."""
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        return "not text"
    lines = list(csv.reader(io.StringIO(text)))
    if not lines or not lines[0]:
        return "empty"
    if not text.endswith("\n"):
        return "its last row is cut short"
    header, rows = lines[0], lines[1:]
    bad = next((k for k, row in enumerate(rows) if len(row) != len(header)), None)
    if bad is not None:
        return f"row {bad + 1} has {len(rows[bad])} of {len(header)} fields"
    return header, rows, text


def read_metrics(folder: Path, repair: bool = False, writing: bool = False):
    """A run folder's metrics table (pandas). A damaged metrics.csv, or one with fewer rows than the
    checkpoint holds, is read from the checkpoint instead — and rewritten from it with ``repair`` (when
    it can be written) — with a warning; :class:`SpikefaError` naming it if it is damaged and no
    checkpoint makes up for it. While another run writes the folder, its rows so far (``writing``: the
    caller is the run that holds the folder)."""
    import pandas as pd

    f = folder / METRICS
    if not writing and writer_active(folder):  # being appended to: the rows so far, without a half-written last one
        try:
            text = f.read_text()
        except (OSError, UnicodeDecodeError):
            return pd.DataFrame()
        text = text[: text.rfind("\n") + 1]
        return pd.read_csv(io.StringIO(text)) if text.strip() else pd.DataFrame()
    read = _csv_rows(f) if f.is_file() else "missing"
    try:
        saved = read_checkpoint(folder, arrays=False)
    except Damaged as err:
        if isinstance(read, str):
            raise SpikefaError(
                f"{f}: {read}, and {err.path.name} is damaged too ({err.reason}); start the run again with --overwrite"
            ) from None
        saved = None
    if saved is None or not saved[1]["columns"]:
        if read == "missing":
            return pd.DataFrame()  # nothing recorded yet
        if isinstance(read, str):
            raise SpikefaError(f"{f}: {read}, and no checkpoint holds its rows; start the run again with --overwrite")
        return pd.read_csv(io.StringIO(read[2]))
    columns, rows = saved[1]["columns"], saved[1]["rows"]
    if not isinstance(read, str) and read[0] == columns and len(read[1]) >= len(rows):
        return pd.read_csv(io.StringIO(read[2]))
    if isinstance(read, str):
        problem = read
    elif read[0] != columns:
        problem = f"its columns are not those of {CHECKPOINT}"
    else:
        problem = f"{len(read[1])} rows where {CHECKPOINT} holds {len(rows)}"
    text = _metrics_text(columns, rows)
    done = "read from the checkpoint instead"
    if repair:
        try:
            atomic_write(f, lambda p: p.write_text(text, newline=""))
            done = "rewritten from the checkpoint"
        except OSError as err:
            done += f" (not rewritten: {err.strerror})"
    warn(f"{f}: {problem}; {done} ({len(rows)} rows)")
    return pd.read_csv(io.StringIO(text))


def _metrics_text(columns: list[str], rows: list[dict]) -> str:
    """metrics.csv's bytes for these rows."""
    text = io.StringIO(newline="")
    w = csv.writer(text)
    w.writerow(columns)
    for row in rows:
        w.writerow([_format(row.get(c, float("nan"))) for c in columns])
    return text.getvalue()


def _check_contents(path: Path, config: str, overwrite: bool) -> None:
    """Refuse an --out that is not a folder, or holds anything but a run of ``config`` (unless
    ``overwrite`` and it is a run folder). Reads the folder's config.yaml without importing any code."""
    if path.exists() and not path.is_dir():
        raise SpikefaError(f"--out {path}: exists and is not a folder")
    try:
        # a run's lock and the temporaries of its files being written (another run starting) are no content
        if not path.is_dir() or all(p.name == LOCK or _is_temporary(p.name) for p in path.iterdir()):
            return
        old = path / CONFIG
        if old.is_file() and not any((path / f).is_file() for f in RESULTS):
            return  # a run that ended before it recorded anything: nothing to lose, any circuit may take it
        if not old.is_file():
            raise SpikefaError(f"--out {path}: holds other files; choose another --out or pass --overwrite")
        if overwrite:
            return
        text, raw, problem = _read_config(old)
        if problem:
            raise SpikefaError(
                f"--out {path}: {problem}; it cannot be resumed: pass --overwrite or choose another --out"
            )
        if not _same_circuit(text, raw, config):
            raise SpikefaError(
                f"--out {path}: holds a run of a different circuit; choose another --out or pass --overwrite"
            )
    except OSError as err:
        raise SpikefaError(f"--out {path}: cannot be read ({err.strerror})") from None


def _read_config(path: Path) -> tuple[str, dict | None, str | None]:
    """A run folder's config.yaml: (its text, the mapping it holds, None), or (text, None, what is wrong
    with it)."""
    try:
        text = path.read_text()
        raw = yaml.safe_load(text)
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        return "", None, f"its {CONFIG} is damaged (not YAML: {cut(str(err).splitlines()[0], 60)})"
    if not isinstance(raw, dict):
        return text, None, f"its {CONFIG} is damaged (not a mapping of circuit fields)"
    return text, raw, None


def _same_circuit(old: str, raw: dict, config: str) -> bool:
    """Whether a run folder's ``config.yaml`` (text ``old``, mapping ``raw``) is the circuit whose resolved
    config is ``config``: the same text, or — written before a field was added — the same circuit once
    read again with every default filled in. Imports no code: a user's rule the requested circuit has not
    imported already makes it another circuit."""
    if old == config:
        return True
    try:
        again = spec.circuit_from_dict(raw, "config.yaml", load_code=False).to_dict()
    except (SpikefaError, TypeError, ValueError):
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
        """The validated circuit. Imports no code: a user's rule is found only if this process imported
        it (ran the circuit, or ``spikefa.load_circuit`` of its config.yaml)."""
        return spec.circuit_from_dict(self.config, str(self.path / CONFIG), load_code=False)


def load_run(path: str | Path) -> Run:
    """Load a run folder: resolved config, metrics table (pandas), final weights, summary, recordings.
    Imports no code and checks every file: a damaged metrics.csv is read from the checkpoint (and
    rewritten, with a warning); another damaged file is a one-line :class:`SpikefaError` naming it."""
    path = Path(path)
    if not (path / CONFIG).is_file():
        raise SpikefaError(f"{path}: not a run folder (no {CONFIG})")
    _, config, problem = _read_config(path / CONFIG)
    if problem:
        raise SpikefaError(f"{path}: {problem}")
    metrics = read_metrics(path, repair=True)
    rerun = f"; run the circuit into this folder again (spikefa run {path / CONFIG} --out {path}) to rewrite it"
    weights, monitors = {}, {}
    for name, into in ((WEIGHTS, weights), (MONITORS, monitors)):
        if (path / name).exists():
            try:
                into.update(read_npz(path / name))
            except SpikefaError as err:
                raise SpikefaError(f"{err}{rerun if name == WEIGHTS else ''}") from None
    return Run(path, config, metrics, weights, read_summary(path), monitors)
