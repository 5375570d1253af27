"""Compiled standalone projects, reused across runs of the same structure.

Compiling a cpp_standalone project costs 20–90 s; running it often costs less. Two circuits with the
same structure — the same populations, pathways, equations, schedule and constants — generate the same
C++ sources, and differ only in what travels as ``run_args`` at run time (weights, data, rates, seed).
So after Brian2 has written a project's sources (``device.build(compile=False)``), :func:`compile_project`
hashes them (every file but the static arrays and results) together with this machine's processor
(the default flags compile for ``-march=native``) and looks the hash up in the cache: on a hit the
object files and the binary are copied in, newer than the sources, and ``make`` finds nothing to do;
on a miss the project is compiled and its outputs stored under the hash. Same sources, same compiler
flags, same binary: a cached binary gives the numbers a fresh compile gives (tested).

The cache is ``compiled/`` in ``$SPIKEFA_CACHE`` if set (``off`` turns it off), else in
``$XDG_CACHE_HOME/spikefa`` (``~/.cache/spikefa``). It keeps the :data:`KEEP` most
recently used projects (a few MB each); an entry is written under a temporary name and renamed into
place, so parallel sweep workers that compile the same project at once each leave one whole entry.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import time
from pathlib import Path

from brian2 import device
from brian2.codegen.cpp_prefs import get_compiler_and_args

ASSIGNMENT = re.compile(rb"^\s*(_array_\w+)\[0\] = [-+0-9.eE]+;\s*$")
KEEP = 64  # cached projects kept, the most recently used
SKIP = {"static_arrays", "results"}  # a project's data, not its code
OUTPUTS = (".o", ".d")  # what make writes beside the sources, with the binary and make.deps
BINARY = "main"


def root(part: str = "compiled") -> Path | None:
    """The spikefa cache's directory for ``part`` (``compiled``: projects; ``integration``: see
    :mod:`~spikefa.brian.integration`), or None when ``SPIKEFA_CACHE=off``."""
    chosen = os.environ.get("SPIKEFA_CACHE")
    if chosen is not None:
        return None if chosen.strip().lower() in ("off", "0", "") else Path(chosen).expanduser() / part
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "spikefa" / part


def compile_project(project: Path) -> bool:
    """Compile the project Brian2 has just written to ``project``, from the cache where it holds the same
    sources; returns whether it did (a hit)."""
    cache = root()
    entry = cache / key(project) if cache is not None else None
    hit = entry is not None and restore(entry, project)
    compiler, _ = get_compiler_and_args()
    device.compile_source(str(project), compiler, debug=False, clean=False)
    if entry is not None and not hit:
        store(project, entry)
    return hit


def key(project: Path) -> str:
    """The hash of the project's sources (relative paths and :func:`canonical` contents) and of this
    machine's processor."""
    h = hashlib.sha256(machine().encode())
    for path in sorted(sources(project)):
        h.update(str(path.relative_to(project)).encode() + b"\0" + canonical(path.read_bytes()) + b"\0")
    return h.hexdigest()[:32]


def canonical(source: bytes) -> bytes:
    """``source`` with each run of consecutive constant assignments to distinct scalars (``_array_x[0] =
    0.5;``) sorted and repeats dropped: Brian2 writes a run's clock resets in the order of a set, which
    changes from process to process, and such statements give the same program in any order."""
    lines, out, run = source.split(b"\n"), [], []
    for line in [*lines, None]:
        m = None if line is None else ASSIGNMENT.match(line)
        if m is not None:
            run.append((m.group(1), line.strip()))
            continue
        targets = {t for t, _ in set(run)}
        out += sorted({s for _, s in run}) if len(targets) == len(set(run)) else [s for _, s in run]
        run = []
        if line is not None:
            out.append(line)
    return b"\n".join(out)


def machine() -> str:
    """What compiled code depends on beyond its sources: the architecture and the processor's features."""
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith(("flags", "Features"))), "")
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()} {platform.processor()} {flags}"


def sources(project: Path) -> list[Path]:
    return [p for p in project.rglob("*") if p.is_file() and not compiled(p, project) and not skipped(p, project)]


def compiled(path: Path, project: Path) -> bool:
    return path.suffix in OUTPUTS or path.relative_to(project).as_posix() in (BINARY, "make.deps")


def skipped(path: Path, project: Path) -> bool:
    return path.relative_to(project).parts[0] in SKIP


def restore(entry: Path, project: Path) -> bool:
    """Copy a cached project's outputs into ``project`` (the binary last, so that it is the newest
    file); False if there is no such entry or it cannot be read whole."""
    if not (entry / BINARY).is_file():
        return False
    copied = []
    try:
        files = sorted((p for p in entry.rglob("*") if p.is_file()), key=lambda p: p.name == BINARY)
        for path in files:
            copied.append(project / path.relative_to(entry))
            copied[-1].parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, copied[-1])  # a new file: its time is now, after the sources'
        shutil.copymode(entry / BINARY, project / BINARY)
        os.utime(entry)  # most recently used
    except OSError:  # removed meanwhile by another process's pruning: nothing half-copied stays
        for path in copied:
            path.unlink(missing_ok=True)
        return False
    return True


def store(project: Path, entry: Path) -> None:
    """Keep ``project``'s compiled outputs under ``entry``; a cache that cannot be written is no cache."""
    temporary = entry.with_name(f".{entry.name}-{os.getpid()}-{time.monotonic_ns()}")
    try:
        for path in project.rglob("*"):
            if path.is_file() and compiled(path, project) and not skipped(path, project):
                target = temporary / path.relative_to(project)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
        os.rename(temporary, entry)
    except OSError:  # another process stored the same entry first, or the cache is not writable
        shutil.rmtree(temporary, ignore_errors=True)
        return
    prune(entry.parent)


def prune(cache: Path, keep: int = KEEP) -> None:
    """Remove all but the ``keep`` most recently used entries (and temporary ones over an hour old)."""
    try:
        entries = [p for p in cache.iterdir() if p.is_dir()]
    except OSError:
        return
    used = {}
    for p in entries:
        try:
            used[p] = p.stat().st_mtime
        except OSError:  # pruned by another process meanwhile
            continue
    now = time.time()
    for p in [p for p in used if p.name.startswith(".") and now - used[p] > 3600]:
        shutil.rmtree(p, ignore_errors=True)
    done = sorted((p for p in used if not p.name.startswith(".")), key=used.get)
    for p in done[: max(0, len(done) - keep)]:
        shutil.rmtree(p, ignore_errors=True)
