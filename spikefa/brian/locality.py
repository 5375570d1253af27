"""The locality contract of plasticity on spiking synapses: what a synapse's weight change may use.

A weight change is Brian2 statements run on a ``Synapses`` group (an ``on_pre`` pathway, a
``run_regularly`` operation). A synapse may read

- its own variables: those of the ``Synapses`` group itself (``w``, a momentum buffer, an eligibility
  trace, ``lastupdate``, ``delay``), its indices ``i`` and ``j``, ``N``, and the clock's ``t`` and ``dt``;
  a subexpression of the group counts as what its expression reads;
- its presynaptic neuron's spikes and traces of them: ``NAME_pre`` for NAME in ``pre``
  (:data:`PRESYNAPTIC` unless the caller allows more);
- its postsynaptic neuron's own variables: any ``NAME_post`` (or the bare NAME Brian2 resolves to it);
- broadcast scalars: external constants, units and functions (``clip``, ``exp``, ``rand``), and a
  ``TimedArray`` of time alone (``rates(t - t_block)``); one indexed by anything that differs from
  synapse to synapse (``teachers(t, i)``) is a per-neuron signal and is refused;
- temporaries its own statements define.

It may write its own variables, its postsynaptic neuron's and its temporaries; never its presynaptic
neuron's. Everything else (``u_pre``, ``delta_pre``, ``v_pre``, a summed variable's internals, an
unknown name) breaks the contract.
"""

from __future__ import annotations

import ast
import inspect
import numbers
from collections.abc import Mapping

import numpy as np
from brian2 import Synapses, TimedArray
from brian2.core.functions import Function
from brian2.core.namespace import DEFAULT_CONSTANTS, DEFAULT_FUNCTIONS, DEFAULT_UNITS
from brian2.core.variables import Subexpression, Variable
from brian2.parsing.statements import parse_statement
from brian2.utils.stringtools import deindent

from ..errors import SpikefaError

# what a synapse sees of its presynaptic neuron: spikes and traces of them (rm: a mirror layer's mirror trace)
PRESYNAPTIC = ("r", "rm", "count", "lastspike")

CLOCK = frozenset({"t", "dt", "t_in_timesteps"})  # the group's clock: the same for every synapse
EXTERNAL = (numbers.Number, np.ndarray, np.generic, Function, Variable)  # what Brian2 takes from a namespace

# Kinds of breach, in the order check_local reports them.
WRITES, READS, INDEXED = "writes", "reads", "indexed"


def statements(code: str) -> list[tuple[str, str, str]]:
    """``code``'s statements as (variable, operation, expression), split as Brian2 splits abstract code
    (lines and ``;``); ``#`` comments and blank lines dropped."""
    out = []
    for line in deindent(str(code)).split("\n"):
        for part in line.split("#", 1)[0].split(";"):
            if part.strip():
                var, op, expr, _ = parse_statement(part.strip())
                out.append((var, op, expr))
    return out


class _Contract:
    """The classification of names in ``syn``'s code: Brian2's own resolution order (the group's
    variables, then the namespaces), each name judged against the contract."""

    def __init__(self, syn: Synapses, pre: tuple[str, ...], namespace: Mapping | None, temporaries: set[str]):
        self.syn, self.pre, self.temporaries = syn, frozenset(pre), temporaries
        self.namespaces = [ns for ns in (namespace, getattr(syn, "namespace", None)) if ns is not None] + [
            DEFAULT_FUNCTIONS,
            DEFAULT_UNITS,
            DEFAULT_CONSTANTS,
        ]
        self.breaches: dict[str, str] = {}
        self.expanded: set[str] = set()

    def refuse(self, name: str, kind: str) -> None:
        """Record a breach; a write outranks a read of the same name."""
        if kind == WRITES or name not in self.breaches:
            self.breaches[name] = kind

    def external(self, name: str) -> object | None:
        """What a name outside the group resolves to in the namespaces (None: nothing Brian2 would take)."""
        for ns in self.namespaces:
            if name in ns:
                obj = ns[name]
                if isinstance(obj, EXTERNAL) or (
                    inspect.isfunction(obj) and hasattr(obj, "_arg_units") and hasattr(obj, "_return_unit")
                ):
                    return obj
        return None

    def own(self, name: str) -> bool:
        """Whether ``name`` is a variable of the synapse group itself (or its clock's)."""
        owner = getattr(self.syn.variables[name], "owner", None)
        return name in CLOCK or getattr(owner, "name", None) == self.syn.name

    def read(self, name: str) -> None:
        """Judge a read of ``name``."""
        if name in self.temporaries:
            return
        variables = self.syn.variables
        if name not in variables:
            if self.external(name) is None:
                self.refuse(name, READS)
            return
        if name.startswith("_"):
            self.refuse(name, READS)
        elif name.endswith("_pre"):
            if name[: -len("_pre")] not in self.pre:
                self.refuse(name, READS)
        elif name.endswith("_post"):
            pass  # the postsynaptic neuron's own variable
        elif self.own(name):
            var = variables[name]
            if isinstance(var, Subexpression) and name not in self.expanded:
                self.expanded.add(name)
                self.expression(var.expr)
        # otherwise: a postsynaptic variable by its bare name, as Brian2 resolves it

    def write(self, name: str, op: str) -> None:
        """Judge the assignment ``name op ...``."""
        variables = self.syn.variables
        if name in self.temporaries:
            return
        if name not in variables:
            self.refuse(name, WRITES)  # an augmented assignment to an unknown name, or to a namespace's
            return
        var = variables[name]
        if (
            name.startswith("_")
            or name.endswith("_pre")
            or getattr(var, "read_only", False)
            or isinstance(var, Subexpression)
        ):
            self.refuse(name, WRITES)
        if op != "=":
            self.read(name)

    def varies(self, node: ast.AST) -> bool:
        """Whether an expression may differ from synapse to synapse: it names anything but external
        constants (a variable, a temporary, a function such as ``rand``, an unknown name)."""
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                if sub.id in self.temporaries or sub.id in self.syn.variables:
                    return True
                obj = self.external(sub.id)
                if obj is None or isinstance(obj, Function) or callable(obj):
                    return True
        return False

    def expression(self, expr: str) -> None:
        """Judge every name an expression reads, and every TimedArray it calls."""
        tree = ast.parse(str(expr).strip(), mode="eval")
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                self.read(node.id)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                name = node.func.id
                if name in self.temporaries or name in self.syn.variables:
                    continue
                if isinstance(self.external(name), TimedArray) and any(self.varies(a) for a in node.args[1:]):
                    self.refuse(name, INDEXED)


def breaches(
    syn: Synapses, code: str, pre: tuple[str, ...] = PRESYNAPTIC, namespace: Mapping | None = None
) -> dict[str, str]:
    """Each name ``code`` uses outside the contract, with how (:data:`WRITES`, :data:`READS`, or
    :data:`INDEXED`: a TimedArray indexed per neuron). Raises ValueError or SyntaxError if ``code``
    does not parse."""
    parsed = statements(code)
    temporaries = {var for var, op, _ in parsed if op == "=" and var not in syn.variables}
    contract = _Contract(syn, pre, namespace, temporaries)
    for var, op, expr in parsed:
        contract.write(var, op)
        contract.expression(expr)
    return contract.breaches


def nonlocal_reads(
    syn: Synapses, code: str, pre: tuple[str, ...] = PRESYNAPTIC, namespace: Mapping | None = None
) -> list[str]:
    """The names ``code`` uses that the contract does not allow (sorted, unique): reads, writes and
    TimedArrays indexed per neuron."""
    return sorted(breaches(syn, code, pre, namespace))


def check_local(
    syn: Synapses, code: str, where: str, pre: tuple[str, ...] = PRESYNAPTIC, namespace: Mapping | None = None
) -> None:
    """Raise :class:`~spikefa.errors.SpikefaError`, one line naming ``where``, the variable and what is
    allowed, if ``code`` (Brian2 statements run on ``syn``) reads or writes anything outside the
    locality contract (writes are reported first, then reads)."""
    try:
        found = breaches(syn, code, pre, namespace)
    except (ValueError, SyntaxError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpikefaError(f"{where}: plasticity code does not parse as Brian2 statements: {first}") from None
    if not found:
        return
    allowed = (
        f"a synapse may read its own variables, its presynaptic neuron's spikes and traces ({', '.join(pre)}), "
        "its postsynaptic neuron's own variables and broadcast scalars"
    )
    for kind in (WRITES, READS, INDEXED):
        names = ", ".join(repr(n) for n in sorted(n for n, k in found.items() if k == kind))
        if not names:
            continue
        if kind == WRITES:
            raise SpikefaError(
                f"{where}: plasticity writes {names}, which its synapse cannot change (a synapse may write "
                "its own variables and its postsynaptic neuron's, never its presynaptic neuron's)"
            )
        if kind == READS:
            raise SpikefaError(f"{where}: plasticity reads {names}, which its synapse cannot see ({allowed})")
        raise SpikefaError(
            f"{where}: plasticity reads {names}, a TimedArray indexed per neuron, which its synapse cannot see "
            f"({allowed}; a TimedArray is a broadcast scalar only when called with the time alone)"
        )
