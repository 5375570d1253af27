"""Plasticity declared as Brian2 code on a pathway (``forward.plasticity``, ``feedback.plasticity`` in a
circuit file; :class:`~spikefa.spec.SynapseCode`), built on the pathway's own ``Synapses`` and run as
generated code on every target, ``cpp_standalone`` included.

When each block runs (the generated schedule's clock, :mod:`~spikefa.brian.generated`):

- ``on_pre``: on each event the synapse receives — a forward synapse's presynaptic spikes (delayed as
  the pathway is), a feedback synapse's error events (those of a circuit file's own pathways too) — in
  a pathway of its own, which runs in the same time step before every synapse group's effects
  (:func:`~spikefa.brian.pathways.learning_first`): it reads its target as the neurons' update left it;
- ``on_post``: on each spike of the synapse's target neuron;
- ``each_example``: at the end of every example (the first step of the next), with what the synapse
  saw of it; then the synapse's own ``variables`` go back to 0, as every population goes back to rest.

What a block may read (spiking circuits: the locality contract, :mod:`~spikefa.brian.locality`, checked
when the circuit is built), besides Brian2's functions and the block's own temporaries:

- ``w``: the synapse's weight; its ``variables``, ``constants``; ``t``, ``dt``;
- ``eta``: the learning rate of the example being learned (0 in test read-outs): a broadcast scalar;
- ``decay``: the optimizer's weight decay for this step, λ · eta / lr (``w = (1 - decay) * w``);
- ``rate_pre`` / ``rate_post``: the source's / target's rate so far this example ÷ max_rate (LIF: its
  spike trace ``r`` ÷ the trace's fill; rate: ``r``);
- ``error_post``: the target's error, its error compartment times its own slope (an output's δ);
- ``error_pre``: feedback synapses, the error they carry (LIF: the count of its events, scaled to δ);
- ``event``: feedback ``on_pre``, +1 for a positive error event, −1 for a negative one;
- ``NAME_pre`` / ``NAME_post``: the source's spikes and traces (LIF: ``r``, ``count``, ``lastspike``) /
  any variable of the target (``u``, ``err``, ``ubar``, ...).

A write to ``w`` is followed by the pathway's sign constraint (``sign: positive``: clipped at 0). The
pathway's rule no longer changes it (the built-in W update, B's rule); the biases keep the built-in
update. The built-in rules are built through the same statements (:func:`builtin_feedback`): one way
to say a rule.
"""

from __future__ import annotations

import re
from contextlib import contextmanager

from brian2 import Synapses
from brian2.codegen.translation import analyse_identifiers
from brian2.core.namespace import DEFAULT_UNITS
from brian2.equations.unitcheck import check_units_statements

from ..errors import SpikefaError
from ..spec import CONSTANT, SynapseCode
from ..yamlfile import cut
from .populations import first_line
from .statements import constrain, sgd

ALIASES = ("eta", "decay", "rate_pre", "rate_post", "error_pre", "error_post", "event")


def constants(code: SynapseCode, where: str) -> dict:
    """The declared constants as Brian2 quantities; a one-line error naming one that is not."""
    out = {}
    for name, text in code.constants:
        m = CONSTANT.fullmatch(text)
        if m is None or (m["unit"] and m["unit"] not in DEFAULT_UNITS):
            raise SpikefaError(f"{where}.constants.{name}: {text!r} is not a number with a Brian2 unit")
        value = float(m["number"])
        if m["unit"]:
            value = value * DEFAULT_UNITS[m["unit"]] ** int(m["power"] or 1)
        if name in ALIASES or name == "w":
            raise SpikefaError(f"{where}.constants.{name}: a name the code reads already ({', '.join(ALIASES)}, w)")
        out[name] = value
    return out


def variable_names(code: SynapseCode) -> list[str]:
    """The state variables ``code.variables`` declares (not its subexpressions)."""
    names = []
    for line in code.variables.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.match(r"d(\w+)\s*/\s*dt\s*=", line) or re.match(r"(\w+)\s*:", line)
        if m:
            names.append(m.group(1))
    return names


def model_lines(code: SynapseCode) -> str:
    """The synapse's declared ``variables`` as lines of its Brian2 model (empty if none)."""
    return code.variables.strip() + "\n" if code.variables.strip() else ""


def reset(code: SynapseCode) -> str:
    """Statements that take the synapse's own variables back to 0 (in their units)."""
    return "\n".join(f"{name} = {name} * 0" for name in variable_names(code))


def uses(text: str, name: str) -> bool:
    return re.search(rf"\b{name}\b", text) is not None


def prelude(circuit, syn: Synapses, text: str, block: str, feedback: bool, sign: int | None = None) -> str:
    """The temporaries ``text`` reads of :data:`ALIASES`, as Brian2 statements on ``syn``."""
    c = circuit

    def error_post() -> str:  # per example: as stored just before (grad); online and on events: as it is now
        if block == "each_example" and "grad" in syn.target.variables and not c.online:
            return "grad_post"
        return "delta_post" if "delta_local" not in syn.target.variables else "delta_local_post"

    eta = "rates(t - t_block)" if block == "each_example" else "online(t - t_block)"
    defined = {
        "eta": lambda: eta,
        "decay": lambda: f"decay_per_lr * {eta}",
        "rate_pre": lambda: c.rate_code(syn.source, "_pre"),
        "rate_post": lambda: c.rate_code(syn.target, "_post"),
        "error_post": error_post,
    }
    if feedback:
        defined["error_pre"] = lambda: c.sent_code(syn.source, "_pre")
    if sign is not None:
        defined["event"] = lambda: repr(sign)
    own = set(syn.variables)
    return "\n".join(f"{n} = {e()}" for n, e in defined.items() if n not in own and uses(text, n))


def statements(circuit, syn: Synapses, text: str, block: str, feedback: bool, sign_constraint: str, event=None) -> str:
    """A block's statements as they run: the aliases it reads, the user's, the sign constraint if it
    writes ``w``."""
    lines = [prelude(circuit, syn, text, block, feedback, event), text.strip()]
    if re.search(r"^\s*w\s*[-+*/]?=", text, re.M):
        lines += constrain("w", sign_constraint)
    return "\n".join(line for line in lines if line)


def builtin_forward(optimizer) -> SynapseCode:
    """W's built-in error-driven change as the same code a user writes: momentum SGD of
    ``rate_pre · error_post`` (δ_{l+1} h_lᵀ, the gradient's outer product) with decoupled decay, once
    per example (:func:`~spikefa.brian.statements.sgd`)."""
    decay = "decay" if optimizer.weight_decay else "0"
    return SynapseCode(each_example=sgd("rate_pre * error_post", "eta", decay, optimizer.momentum, "w", "vw", ""))


def builtin_feedback(plasticity, momentum: float, decay: bool, made: str | None = None) -> SynapseCode:
    """A rule's declared :class:`~spikefa.rules.Plasticity` as the same code a user writes: momentum SGD
    of ``pre · post`` with decoupled decay, once per example (:func:`~spikefa.brian.statements.sgd`);
    then, where the rule makes B from an expression (:meth:`~spikefa.rules.Rule.code_feedback`),
    ``w = made``."""
    p = plasticity
    lr = "eta" if p.lr is None else f"{p.lr!r} * learning(t - t_block)"
    if p.decay is None:
        lam = "decay" if decay else "0"
    else:
        lam = f"{p.decay!r} * learning(t - t_block)" if p.decay else "0"
    g = f"{p.pre}_pre * {p.post}_post"
    code = sgd(g, lr, lam, momentum if p.momentum else 0.0, "w", "vw", "")
    return SynapseCode(each_example=code + (f"\nw = {made}" if made else ""))


@contextmanager
def building(circuit, name: str):
    """Brian2's refusal of pathway ``name``'s declared variables or statements, while its Synapses are
    made, as one line naming the field."""
    try:
        yield
    except Exception as exc:
        if circuit.declared(name) is None:
            raise
        raise SpikefaError(f"{field(name)}: {cut(first_line(exc))}") from None


def field(name: str) -> str:
    """Where pathway ``name``'s (``W{l}``, ``B{l}``, a brian.pathways one) declared plasticity is, as an
    error names it."""
    if re.fullmatch(r"[WB]\d+", name):
        return f"{'feedback' if name.startswith('B') else 'forward'}.plasticity ({name})"
    return f"brian.pathways.{name}.plasticity"


def check(syn: Synapses, code: str, where: str) -> None:
    """Brian2's own check of ``code`` on ``syn`` (names resolved, units), as one line naming ``where``."""
    try:
        _, known, unknown = analyse_identifiers(code, dict(syn.variables), recursive=True)
        variables = syn.resolve_all(sorted(known | unknown), run_namespace={})
        check_units_statements(code, variables)
    except Exception as exc:  # Brian2's KeyError, DimensionMismatchError, SyntaxError ...
        raise SpikefaError(f"{where}: {cut(first_line(exc).strip(chr(39) + chr(34)))}") from None
