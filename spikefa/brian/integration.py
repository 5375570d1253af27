"""Brian2's exact integration of a population's linear equations, remembered on disk.

Brian2 integrates linear equations exactly (``method: exact``) by solving them with SymPy — the matrix
exponential of the system — every time a process first builds a group. For a LIF population with
the circuit's compartments (v, u, r, ubar, err) that takes about 12 s, per distinct population, in
every new process: most of a small spiking circuit's start. The solution depends only on the
equations, on what their names are (state variables, constants and their values, units) and on the
Brian2 and SymPy versions, so :class:`CachedExact` keys it by exactly those and keeps Brian2's own
answer (its abstract code, text) in ``integration/`` of the spikefa cache
(:func:`spikefa.brian.compiled_cache.root`): the second process to build the same population reads
it in a millisecond and integrates exactly as Brian2 would have (the same code; tested).
"""

from __future__ import annotations

import hashlib
import os
import time
from importlib.metadata import version

from brian2 import StateUpdateMethod
from brian2.core.variables import Constant

from .compiled_cache import root

EXACT = "exact"


class CachedExact(StateUpdateMethod):
    """Brian2's ``exact`` state updater, its answers kept on disk (see the module)."""

    __name__ = EXACT  # what Brian2 logs as the method

    def __call__(self, equations, variables=None, method_options=None) -> str:
        cache = root("integration")
        path = None if cache is None else cache / f"{key(equations, variables, method_options)}.txt"
        if path is not None and path.is_file():
            try:
                return path.read_text()
            except OSError:  # removed meanwhile
                pass
        code = StateUpdateMethod.stateupdaters[EXACT](equations, variables, method_options)
        if path is not None:
            store(path, code)
        return code


def method(name: str):
    """What a group is given for the integration method ``name``: exact integration cached on disk
    (:class:`CachedExact`), any other name as it is."""
    return CachedExact() if name.lower() == EXACT else name


def key(equations, variables, method_options) -> str:
    """A hash of everything Brian2's exact solution reads: the equations, each name they use (its kind,
    unit, type, whether it is constant or scalar, a constant's value), the options and the versions."""
    h = hashlib.sha256(f"{version('brian2')} {version('sympy')}\n{equations}\n{method_options!r}\n".encode())
    for name in sorted(variables or {}):
        v = variables[name]
        if not hasattr(v, "dim"):  # a function (exp, rand, a TimedArray): its name says what it is
            h.update(f"{name} {type(v).__name__}\n".encode())
            continue
        value = repr(v.get_value()) if isinstance(v, Constant) or name == "dt" else ""
        h.update(f"{name} {type(v).__name__} {v.dim!r} {v.dtype} {v.scalar} {v.constant} {value}\n".encode())
    return h.hexdigest()[:32]


def store(path, code: str) -> None:
    """Write ``code`` to ``path`` under a temporary name first; a cache that cannot be written is none."""
    temporary = path.with_name(f".{path.name}-{os.getpid()}-{time.monotonic_ns()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(code)
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
