"""Brian2's exact integration of a population's linear equations, remembered on disk.

Brian2 integrates linear equations exactly (``method: exact``) by solving them with SymPy — the matrix
exponential of the system — every time a process first builds a group. For a LIF population with
the circuit's compartments (v, u, r, ubar, err) that took 7–12 s, per distinct population, in
every new process: most of a small spiking circuit's start. Brian2 solves with the constants' names,
not their values, so the solution depends only on the equations, on what their names are (state
variables, constants, units, types) and on the Brian2 and SymPy versions. :class:`CachedExact` keys it by
exactly those and keeps Brian2's own answer (its abstract code, text) in ``integration/`` of the spikefa
cache (:func:`spikefa.brian.compiled_cache.root`): the next process to build the same population, at
these constants' values or at any others (a sweep over tau_m), reads it in a millisecond, checks it is
finite at its values (:func:`defined`) and integrates exactly as Brian2 would have (the same code; tested).
A first solve takes each set of coupled variables apart (:func:`in_parts`: v, u and ubar; r; err), for
the same code several times faster.

Where two coupled time constants are equal (a drive and its trace both 5 ms, ``tau_m = tau_syn``)
Brian2's solution, such as (e^(−t/τ₁) − e^(−t/τ₂)) / (τ₁ − τ₂), is 0/0 at the circuit's values. Such
equations are solved again with the values written in, where SymPy finds the solution of the equal
case, t·e^(−t/τ)/τ (:func:`solve_at_values`, tested against the closed form), kept under a key with the
values too. A switch such as a held mirror layer's (its membrane's time constant tau_m or mirror_tau_m)
is checked and solved both ways (:func:`cases`).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from importlib.metadata import version

import numpy as np
import sympy as sp
from brian2 import Equations, Expression, StateUpdateMethod
from brian2.core.variables import Constant
from brian2.equations.equations import DIFFERENTIAL_EQUATION, PARAMETER, SingleEquation
from brian2.parsing.sympytools import str_to_sympy

from .compiled_cache import root

EXACT = "exact"
FORMAT = 3  # of the entries: 3 since the symbolic solution is keyed without the constants' values


class CachedExact(StateUpdateMethod):
    """Brian2's ``exact`` state updater, its answers kept on disk (see the module)."""

    __name__ = EXACT  # what Brian2 logs as the method

    def __call__(self, equations, variables=None, method_options=None) -> str:
        cache = root("integration")
        code = recalled(
            cache,
            key(equations, variables, method_options, values=False),
            lambda: in_parts(equations, variables, method_options),
        )
        if defined(code, variables):
            return code
        at_values = key(equations, variables, method_options, values=True)
        return recalled(cache, at_values, lambda: solve_at_values(equations, variables, method_options))


def recalled(cache, name: str, solve) -> str:
    """The solution kept under ``name`` in ``cache``; where none is (or there is no cache), ``solve()``'s,
    kept there."""
    if cache is not None:
        try:
            return (cache / f"{name}.txt").read_text()
        except OSError:  # none, or removed meanwhile
            pass
    code = solve()
    if cache is not None:
        store(cache / f"{name}.txt", code)
    return code


def in_parts(equations, variables, method_options) -> str:
    """Brian2's exact solution, each set of coupled variables solved apart and the parts joined in
    Brian2's order. The system's matrix is block-diagonal in those sets, so its exponential is the blocks'
    exponentials: the same code as one solve (tested), found several times faster, since SymPy's Jordan
    form grows steeply with the matrix (a LIF population with v, u, ubar, r and err: 6.6 s in one
    solve, 1.5 s in three parts)."""
    solve = StateUpdateMethod.stateupdaters[EXACT]
    expressions = equations.get_substituted_expressions(variables)
    order = [name for name, _ in expressions]
    parts = coupled(expressions)
    if len(parts) < 2:
        return solve(equations, variables, method_options)
    updates = {}
    for part in parts:
        kept = [
            eq
            if eq.type != DIFFERENTIAL_EQUATION or eq.varname in part
            else SingleEquation(PARAMETER, eq.varname, dimensions=eq.dim, var_type=eq.var_type)
            for eq in equations.values()
        ]
        updates |= dict(line.split(" = ", 1) for line in solve(Equations(kept), variables, method_options).splitlines())
    return "\n".join([f"_{n} = {updates[f'_{n}']}" for n in order] + [f"{n} = _{n}" for n in order])


def coupled(expressions) -> list[set[str]]:
    """The sets of differential variables whose equations (``(name, expression)`` pairs, as Brian2 gives
    them with the subexpressions substituted) read each other, directly or through others."""
    reads = {name: expr.identifiers for name, expr in expressions}
    parts: list[set[str]] = []
    for name in reads:
        linked = {name} | (reads[name] & reads.keys()) | {other for other in reads if name in reads[other]}
        joined = [part for part in parts if part & linked]
        parts = [part for part in parts if not part & linked] + [linked.union(*joined)]
    return parts


def method(name: str):
    """What a group is given for the integration method ``name``: exact integration cached on disk
    (:class:`CachedExact`), any other name as it is."""
    return CachedExact() if name.lower() == EXACT else name


REFRACTORY = "int(not_refractory)"  # the factor with which Brian2 stops a refractory variable
# shared 0/1 parameters that a population's time constants may read: a held mirror layer's membrane
# (populations.HELD_TAU_M), whose time constant is tau_m or mirror_tau_m as the switch says
SWITCHES = ("held",)


def solve_at_values(equations, variables, method_options) -> str:
    """Brian2's exact solution of ``equations`` with the constants' values written in (:func:`cases`)."""
    return cases(equations.substitute(**constants(variables, equations.identifiers)), variables, method_options)


def cases(equations, variables, method_options) -> str:
    """The exact solution, each case of a step solved apart and joined: a switch the equations read
    (:data:`SWITCHES`), 1 and 0, as switch · (on) + (1 − switch) · (off); and where Brian2 stops a
    refractory variable (its rate times int(not_refractory)), free and held (the refractory variables
    then parameters of the step), as int(not_refractory) · (free) + (1 − int(not_refractory)) · (held)."""
    for switch in SWITCHES:
        if any(eq.expr is not None and re.search(rf"\b{switch}\b", eq.expr.code) for eq in equations.values()):
            on, off = (cases(set_to(equations, switch, value), variables, method_options) for value in (1, 0))
            return join(switch, on, off)
    if REFRACTORY not in str(equations):
        return in_parts(equations, variables, method_options)
    free = in_parts(refractory(equations, free=True), variables, method_options)
    return join(REFRACTORY, free, in_parts(refractory(equations, free=False), variables, method_options))


def join(condition: str, on: str, off: str) -> str:
    """Two solutions as one: each variable's new value ``condition`` · (on's) + (1 − ``condition``) ·
    (off's), where they differ; a variable that off does not change stays as it is (``_v = v``)."""
    other = dict(line.split(" = ", 1) for line in off.splitlines())
    lines = []
    for line in on.splitlines():
        name, x = line.split(" = ", 1)
        y = other.get(name, name.removeprefix("_"))
        joined = f"{name} = {condition} * ({x}) + (1 - {condition}) * ({y})"
        lines.append(line if x == y or not name.startswith("_") else joined)
    return "\n".join(lines)


def set_to(equations, name: str, value: int) -> Equations:
    """``equations`` with the switch ``name`` written as ``value`` wherever an expression reads it."""
    out = []
    for eq in equations.values():
        expr = None if eq.expr is None else Expression(re.sub(rf"\b{name}\b", str(value), eq.expr.code))
        out.append(
            SingleEquation(eq.type, eq.varname, dimensions=eq.dim, var_type=eq.var_type, expr=expr, flags=eq.flags)
        )
    return Equations(out)


def refractory(equations, free: bool) -> Equations:
    """``equations`` outside a refractory period (``free``: int(not_refractory) is 1) or inside it, where
    the variables Brian2 stops are parameters of the step."""
    out = []
    for eq in equations.values():
        code = None if eq.expr is None else eq.expr.code
        if code is not None and REFRACTORY in code and not free:
            out.append(SingleEquation(PARAMETER, eq.varname, dimensions=eq.dim, var_type=eq.var_type))
            continue
        expr = None if code is None else Expression(code.replace(REFRACTORY, "1"))
        out.append(
            SingleEquation(eq.type, eq.varname, dimensions=eq.dim, var_type=eq.var_type, expr=expr, flags=eq.flags)
        )
    return Equations(out)


def constants(variables, names) -> dict:
    """The values, with units, of the constants among ``names``."""
    return {n: v.get_value_with_unit() for n in names if isinstance(v := (variables or {}).get(n), Constant)}


def defined(code: str, variables) -> bool:
    """Whether Brian2's solution ``code`` is finite at the constants' values (and the step's)."""
    values = {n: float(v) for n, v in constants(variables, variables or {}).items()}
    if variables and "dt" in variables:
        values["dt"] = float(np.ravel(variables["dt"].get_value())[0])
    for line in code.splitlines():
        expression = str_to_sympy(line.split("=", 1)[1], variables)
        at = expression.subs({s: values[s.name] for s in expression.free_symbols if s.name in values})
        switches = [s for s in at.free_symbols if s.name in SWITCHES]
        for flag in (0, 1):  # int(not_refractory), with which Brian2 stops a refractory membrane, each way
            flagged = at.replace(lambda e: getattr(e.func, "__name__", "") == "int_", lambda e, f=flag: sp.Integer(f))
            for switched in (0, 1):  # and each switch (a held layer's membrane)
                if flagged.subs(dict.fromkeys(switches, switched)).has(sp.zoo, sp.nan, sp.oo, -sp.oo):
                    return False
    return True


def key(equations, variables, method_options, values: bool) -> str:
    """A hash of everything Brian2's exact solution reads: the equations, each name they use (its kind,
    unit, type, whether it is constant or scalar), the options and the versions; with ``values``, the
    constants' values and the step's too (a solution found with them written in)."""
    h = hashlib.sha256(f"{FORMAT} {version('brian2')} {version('sympy')}\n{equations}\n{method_options!r}\n".encode())
    if any(re.search(rf"\b{s}\b", str(equations)) for s in SWITCHES):  # since switches are solved both ways
        h.update(b"switches solved both ways\n")
    for name in sorted(variables or {}):
        v = variables[name]
        if not hasattr(v, "dim"):  # a function (exp, rand, a TimedArray): its name says what it is
            h.update(f"{name} {type(v).__name__}\n".encode())
            continue
        value = repr(v.get_value()) if values and (isinstance(v, Constant) or name == "dt") else ""
        h.update(f"{name} {type(v).__name__} {v.dim!r} {v.dtype} {v.scalar} {v.constant} {value}\n".encode())
    return h.hexdigest()[:32] + ("-at-values" if values else "")


def store(path, code: str) -> None:
    """Write ``code`` to ``path`` under a temporary name first; a cache that cannot be written is none."""
    temporary = path.with_name(f".{path.name}-{os.getpid()}-{time.monotonic_ns()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(code)
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
