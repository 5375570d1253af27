"""What a failure means to the person who ran spikefa: one line (at most :data:`LINE` characters), an
exit code that says what kind of failure it was, and the traceback in a log file where it is needed.

===== =====================================================================================
code  meaning
===== =====================================================================================
0     success
1     a bug in spikefa: the traceback is in a log file, to be reported
2     bad input: a command-line value, a circuit file, a damaged run folder file, a folder that
      cannot be written (the line names it and says what is allowed or what to do)
3     the run diverged (non-finite values, or a loss that exploded); metrics so far are kept
4     the user's own code (a rule's hook, a module it imports) failed: the line names the rule and
      the hook, the traceback is in a log file
5     the system: no space left on the disk, an I/O error
130   interrupted (Ctrl-C); run the same command again to resume
===== =====================================================================================

A run's log is ``error.log`` in its run folder; a failure outside a run is logged in
``$XDG_CACHE_HOME/spikefa/`` (``~/.cache/spikefa/``), else the temporary folder.
"""

from __future__ import annotations

import errno
import os
import sys
import sysconfig
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from .errors import DivergenceError, SpikefaError, UserCodeError

OK, BUG, BAD_INPUT, DIVERGED, USER_CODE, SYSTEM, INTERRUPTED = 0, 1, 2, 3, 4, 5, 130
LINE = 300  # the longest line a failure prints
PACKAGE = Path(__file__).resolve().parent
# where Python and installed packages live: their frames are not the user's code
LIBRARIES = tuple(
    {str(Path(p).resolve()) for k in ("stdlib", "platstdlib", "purelib", "platlib") if (p := sysconfig.get_path(k))}
)
NO_SPACE = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG)


@dataclass
class Failure:
    code: int
    line: str  # what the command line prints (without the "spikefa: " prefix)
    log: bool  # whether the traceback belongs in a log file


def interrupted(err: BaseException | None) -> bool:
    """Whether a Ctrl-C is behind an error: a SIGINT that lands while a Numba function is called comes
    back from it as ``SystemError(... returned a result with an exception set)``, caused by the
    ``KeyboardInterrupt`` (seen in CI, a Ctrl-C during a Brian2 run of the kernel path)."""
    while err is not None:
        if isinstance(err, KeyboardInterrupt):
            return True
        err = err.__cause__ or err.__context__
    return False


def user_frame(err: BaseException) -> str | None:
    """Where in a user's code ``err`` was raised, as "rule X's hook (file:line)" or "function (file:line)",
    or None if it was not: the innermost frame that spikefa called (below its outermost frame) and that
    is neither spikefa's, nor Python's or an installed package's, nor code Brian2 generated."""
    frames = list(traceback.walk_tb(err.__traceback__))
    first = next((k for k, (f, _) in enumerate(frames) if _in(f.f_code.co_filename, (str(PACKAGE),))), None)
    if first is None:
        return None
    for f, line in reversed(frames[first:]):
        where = f"{Path(f.f_code.co_filename).name}:{line}"
        if _users_rule(f):
            return f"rule {type(f.f_locals['self']).__name__}'s {f.f_code.co_name} ({where})"
        if _users(f.f_code.co_filename):
            return f"{f.f_code.co_name} ({where})"
    return None


def _users_rule(frame) -> bool:
    """Whether ``frame`` runs a user's rule's own method (one of a :class:`~spikefa.rules.Rule` subclass
    from outside spikefa, written outside spikefa: a rule installed as a package too)."""
    from .rules import Rule

    owner = frame.f_locals.get("self", None)
    return (
        isinstance(owner, Rule)
        and not type(owner).__module__.startswith("spikefa.")
        and not _in(frame.f_code.co_filename, (str(PACKAGE),))
    )


def _users(filename: str) -> bool:
    """Whether code in ``filename`` is a user's: not spikefa's, Python's or a package's, not generated."""
    generated = filename.startswith("<") or filename.endswith(".pyx") or "brian_extensions" in filename
    return not (generated or _in(filename, (str(PACKAGE), *LIBRARIES)))


def _in(filename: str, roots: tuple[str, ...]) -> bool:
    try:
        path = str(Path(filename).resolve())
    except OSError:
        return False
    return any(path == r or path.startswith(r + os.sep) for r in roots)


def classify(err: BaseException) -> Failure:
    """The exit code and the line for an exception that reached the command line."""
    kind = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    if isinstance(err, SpikefaError):
        return Failure(BAD_INPUT, f"error: {err}", False)
    if isinstance(err, DivergenceError):
        return Failure(DIVERGED, f"run diverged: {err}", False)
    if interrupted(err):
        return Failure(INTERRUPTED, "interrupted; run the same command again to resume from the last checkpoint", False)
    if isinstance(err, MemoryError):
        return Failure(BAD_INPUT, "error: out of memory; make the circuit smaller (network.sizes, batch_size)", False)
    if isinstance(err, UserCodeError):
        return Failure(USER_CODE, f"error in your code: {err}", True)
    if isinstance(err, OSError) and err.errno in NO_SPACE:
        name = f" writing {err.filename}" if err.filename else ""
        return Failure(SYSTEM, f"error: {err.strerror}{name}; free some space and run the same command again", False)
    if isinstance(err, OSError) and err.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.EISDIR, errno.ENOTDIR):
        name = f"{err.filename}: " if err.filename else ""
        return Failure(BAD_INPUT, f"error: {name}{err.strerror}", False)
    where = user_frame(err)
    if isinstance(err, SystemExit):
        what = f"{where} called sys.exit({err.code!r})" if where else f"sys.exit({err.code!r}) was called"
        return Failure(USER_CODE, f"error in your code: {what}; the run stopped unfinished", True)
    if where:
        return Failure(USER_CODE, f"error in your code: {where} raised {kind}", True)
    if isinstance(err, OSError):
        return Failure(SYSTEM, f"error: {kind}", True)
    return Failure(BUG, f"a bug in spikefa: {kind}", True)


def write_log(err: BaseException, folder: Path | None = None) -> Path | None:
    """Append ``err``'s traceback, with the command and versions, to ``folder/error.log`` (a run folder),
    else to a log of its own in the user's cache; returns its path (None if nothing could be written)."""
    from . import __version__

    text = (
        f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} spikefa {__version__}, Python {sys.version.split()[0]}, "
        f"process {os.getpid()}\n$ {' '.join(sys.argv)}\n" + "".join(traceback.format_exception(err))
    )
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "spikefa"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    places = [folder / "error.log"] if folder is not None else []
    places += [cache / f"error-{stamp}-{os.getpid()}.log", Path(tempfile.gettempdir()) / f"spikefa-error-{stamp}.log"]
    for path in places:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a") as fh:
                fh.write(text)
            return path
        except OSError:
            continue
    return None


def report(err: BaseException) -> int:
    """Print ``err`` as one line on stderr and return the exit code; its traceback is logged where it is
    needed (the run folder's log, if the run wrote one: ``err.spikefa_log``, else one of its own)."""
    failure = classify(err)
    tail = ""
    if failure.log:
        log = getattr(err, "spikefa_log", None) or write_log(err)
        tail = f"; traceback in {log}" if log else ""
        if failure.code == BUG:
            tail += " — please report it with that file"
    print(f"spikefa: {_middle(failure.line, LINE - len(tail) - len('spikefa: '))}{tail}", file=sys.stderr, flush=True)
    return failure.code


def _middle(text: str, limit: int) -> str:
    """``text`` on one line, cut in the middle to ``limit`` characters: its start says what failed, its
    end what to do."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    end = min(120, limit // 2)
    return text[: limit - end - 3] + "..." + text[-end:]
