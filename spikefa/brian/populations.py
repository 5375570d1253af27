"""Rate populations. A hidden neuron has a somatic potential driven only by the forward pathway and
a separate error (apical) compartment ``err`` fed only by the feedback pathway:

    tau dv/dt = −v + I_ff + b          r = f(v)          delta = err · f'(v)

(r is set from v after every step and whenever the circuit moves v.)
The output population's ``delta`` is set from the teacher signal; the input population only holds
rates ``r``. With dt = tau (Euler), v reaches its steady state W r + b in one step, which is what
makes a rate circuit comparable, number for number, with the reference engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from brian2 import Clock, Equations, Network, NeuronGroup, Quantity, defaultclock, prefs, second, units
from brian2.units.fundamentalunits import Unit

from .. import spec
from ..errors import SpikefaError
from ..yamlfile import cut
from . import integration

RATE = {
    "tanh": ("tanh(v)", "1 - tanh(v)**2"),
    "sigmoid": ("1 / (1 + exp(-v))", "exp(-v) / (1 + exp(-v))**2"),
    "relu": ("v * int(v > 0)", "1.0 * int(v > 0)"),
    "linear": ("v", "1.0"),
}

SOMA = """
dv/dt = (-v + I_ff + b) / tau : 1
I_ff : 1
b : 1
"""


def rate_code(activation) -> tuple[str, str]:
    """A hidden activation as Brian2 code (f(v), f'(v)): a shipped one by name, or a user's (``network.hidden:
    {rate, slope}``)."""
    return RATE[activation] if isinstance(activation, str) else (activation.rate, activation.slope)


def soma(drives: tuple[str, ...] = ()) -> str:
    """A rate soma driven by the forward pathway's ``I_ff`` and by any further drive inputs (a circuit
    file's own pathways ``into: drive``: each sums into a variable of its own, ``I_{name}``)."""
    if not drives:
        return SOMA
    return SOMA.replace("I_ff + b", " + ".join(("I_ff", *drives, "b"))) + "".join(f"{d} : 1\n" for d in drives)


def input_population(n: int, clock: Clock, name: str, events: dict | None = None) -> NeuronGroup:
    """The input layer: rates set from the data (``events``: custom events, the generated schedule's)."""
    return NeuronGroup(n, "r : 1", events=events, clock=clock, name=name)


def hidden_population(
    n: int,
    activation: str,
    tau: Quantity,
    clock: Clock,
    name: str,
    mirror: bool = False,
    delayed: tuple = (),
    drives: tuple = (),
    errors: tuple = (),
    variables: str = "",
) -> NeuronGroup:
    """A hidden layer: soma driven by W, error compartment ``err`` driven by B, local error ``delta``.
    With ``mirror``, the population can be switched (shared ``mirroring = 1``) to keep whatever rates
    the circuit writes into ``r`` (noise) instead of f(v): the weight mirror's mirror mode.
    ``delayed``: names of variables that hold its delta as a delayed pathway reads it (set by the circuit).
    ``drives``, ``errors``: further inputs (pathways of the circuit file) into its soma and its error
    compartment, each summed into a variable of its own; the compartment is ``err`` plus the ``errors``.
    ``variables``: further state variables (the generated schedule's, e.g. a bias momentum buffer)."""
    f, fprime = rate_code(activation)
    compartment = " + ".join(("err", *errors))
    eqs = soma(drives) + f"r : 1\nerr : 1\ndelta = ({compartment}) * ({fprime}) : 1\n{variables}"
    eqs += "".join(f"{d} : 1\n" for d in (*delayed, *errors))
    rate = f"(1 - mirroring) * {f} + mirroring * r" if mirror else f
    if mirror:
        eqs += "mirroring : 1 (shared)\n"
    group = NeuronGroup(n, eqs, method="euler", namespace={"tau": tau}, clock=clock, name=name)
    # r is stored, set right after every state update: the forward pathway reads it once per synapse,
    # and a subexpression would evaluate f there, n_post times per neuron.
    group.run_regularly(f"r = {rate}", when="groups", order=1, name=f"{name}_rate")
    return group


def output_population(
    n: int,
    activation: str,
    tau: Quantity,
    clock: Clock,
    name: str,
    delayed: tuple = (),
    drives: tuple = (),
    variables: str = "",
) -> NeuronGroup:
    """The output layer: ``r`` is its drive v (softmax and the loss are taken across the population,
    by the circuit), ``delta`` the output error that the feedback pathway carries back."""
    f = "v" if activation == "softmax" else rate_code(activation)[0]
    eqs = soma(drives) + f"r = {f} : 1\ndelta : 1\n{variables}" + "".join(f"{d} : 1\n" for d in delayed)
    return NeuronGroup(n, eqs, method="euler", namespace={"tau": tau}, clock=clock, name=name)


def extra_rate_population(
    n: int, activation: str, error: str, tau: Quantity, clock: Clock, name: str, drives: tuple, errors: tuple
) -> NeuronGroup:
    """A rate population that is not a layer (``brian.extra``): a soma driven by its drive inputs, rate
    ``r = f(v)``, an error compartment ``err`` that sums its error inputs, and its error ``delta``, the
    ``error`` expression (``err`` by default: a relay passes on what reaches it)."""
    f = rate_code(activation)[0]
    eqs = soma(drives) + f"r = {f} : 1\nerr = {' + '.join(errors) or '0'} : 1\ndelta = {error} : 1\n"
    eqs += "".join(f"{e} : 1\n" for e in errors)
    return NeuronGroup(n, eqs, method="euler", namespace={"tau": tau}, clock=clock, name=name)


# --- spiking populations ---------------------------------------------------------------------
COMPARTMENTS = """
du/dt = (-u + b) / tau_syn : 1
dr/dt = -r / tau_trace : 1
dubar/dt = (u - ubar) / tau_trace : 1
derr/dt = -err / tau_err : 1
b : 1
delta : 1
count : 1
"""
"""The contract of a spiking population: what the circuit provides around any membrane model. The
forward pathway adds w / (max_rate · tau_syn) per presynaptic spike to the synaptic drive ``u``, which
relaxes to the bias ``b``; the membrane model turns ``u`` into spikes. Per spike the circuit adds
1 / (tau_trace · max_rate) to the rate trace ``r`` (so r ≈ rate / max_rate) and 1 to ``count``; ``ubar``
traces ⟨u⟩; ``err`` is the error (apical) compartment the feedback pathway's ± events move; ``delta``
the neuron's error (a hidden neuron's own, ``delta_local`` = err · f'(ubar), f' the surrogate slope,
is what it sends on)."""
CONTRACT = (
    *("u", "r", "ubar", "err", "b", "delta", "count", "delta_local"),
    *("mirroring", "noise_rate", "held", "I_tonic", "sent", "rm", "rm_mean", "rm_rest", "settled"),
)
HELD = """
du/dt = (-u + (1 - held) * b + held * mirror_drive - I_tonic) / tau_syn : 1
held : 1 (shared)
I_tonic : 1
"""
"""A layer that answers noise in mirror phases: while ``held`` (1) its drive relaxes to ``mirror_drive``
instead of its bias, less ``I_tonic``, the mean of its noise input, which the forward pathway's
synapses take away themselves (:func:`~spikefa.brian.pathways.spiking_forward_pathway`). Where the
circuit sets ``mirror_tau_m``, the membrane's ``tau_m`` is :data:`HELD_TAU_M` in such a layer."""
HELD_TAU_M = "(tau_m + held * (mirror_tau_m - tau_m))"
"""A held layer's membrane time constant: ``mirror_tau_m`` while it answers noise, as in a high-conductance
state (strong background input shortens the effective membrane time constant; its gain is kept)."""
MIRROR_TRACE = "drm/dt = -rm / mirror_trace : 1\n"
"""The trace of a mirror layer's spikes that the weight mirror's covariance rule reads (its window:
``brian.lif.mirror_trace``), each spike adding 1 / (mirror_trace · max_rate) as ``r`` does with tau_trace."""
MIRROR_MEAN = "rm_mean : 1\nrm_rest : 1 (shared, constant)\nsettled : 1 (shared)\n"
"""A noise layer's running mean of its own mirror trace, the weight mirror's baseline: while ``settled``
(the phase signal: B learns, reading it as its target's) it follows ``rm`` with time constant
``brian.lif.mirror_mean``, sampled where the synapses read ``rm`` (after the step's decay, before its
spikes), so that the two agree in discrete time; at rest it is ``rm_rest``, the trace's expected value
there."""
MIRROR_MEAN_UPDATE = "rm_mean += settled * (rm - rm_mean) * dt / mirror_mean"


@dataclass(frozen=True)
class Membrane:
    """A membrane model: Brian2 equations that define ``v`` (and any variable of their own) driven by
    ``u``, a threshold, a reset, and default parameters (a user's ``params`` override them)."""

    equations: str
    threshold: str
    reset: str
    params: dict[str, Any]


MEMBRANES = {
    "lif": Membrane("dv/dt = (-v + u) / tau_m : 1 (unless refractory)", "v > v_threshold", "v = 0", {}),
    # spike-frequency adaptation: each spike raises an adaptation current a that the membrane subtracts
    # and that decays with tau_a (adaptive LIF; e.g. Gerstner et al. 2014, ch. 6.1)
    "alif": Membrane(
        "dv/dt = (-v + u - a) / tau_m : 1 (unless refractory)\nda/dt = -a / tau_a : 1",
        "v > v_threshold",
        "v = 0\na += beta",
        {"tau_a": "100 ms", "beta": 0.01},
    ),
}


def membrane(model: spec.Population) -> Membrane:
    """The membrane a population spec asks for, with its params merged over the model's defaults."""
    if model.model == "custom":
        return Membrane(model.equations, model.threshold, model.reset, dict(model.params))
    base = MEMBRANES[model.model]
    return Membrane(base.equations, base.threshold, base.reset, {**base.params, **model.params})


def quantity(value: Any, where: str) -> Any:
    """``0.5`` or ``"0.5"`` → 0.5; ``"100 ms"`` → 100 * ms (a number and one Brian2 unit)."""
    if not isinstance(value, str):
        return float(value)
    number, _, unit = value.strip().partition(" ")
    try:
        scale = getattr(units, unit.strip()) if unit.strip() else 1
        if unit.strip() and not isinstance(scale, Unit):
            raise ValueError(unit)
        return float(number) * scale
    except (ValueError, AttributeError):
        raise SpikefaError(
            f"{where}: must be a number or a number and one Brian2 unit, e.g. '100 ms'; got {cut(value)!r}"
        ) from None


def own_variables(model: spec.Population, where: str = "population") -> list[str]:
    """The state variables a membrane model defines (``v`` first): the circuit puts them to 0 at rest."""
    try:
        names = Equations(membrane(model).equations).names
    except Exception as err:  # Brian2's parser: EquationError, SyntaxError, ...
        raise SpikefaError(f"{where}.equations: not valid Brian2 equations ({cut(first_line(err))})") from None
    if "v" not in names:
        raise SpikefaError(f"{where}.equations: must define v, the membrane potential (the circuit sets it at rest)")
    taken = sorted(set(names) & set(CONTRACT))
    if taken:
        raise SpikefaError(
            f"{where}.equations: defines {', '.join(taken)}, which the circuit provides "
            f"(a population's contract: {', '.join(CONTRACT)})"
        )
    return ["v", *sorted(set(names) - {"v"})]


def first_line(err: BaseException) -> str:
    """The innermost cause of a Brian2 error, its first line (Brian2 wraps errors in run with the object
    that raised them)."""
    while err.__cause__ is not None:
        err = err.__cause__
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def lif_input_population(
    n: int, clock: Clock, namespace: dict, name: str, encoding: str = "regular", events: dict | None = None
) -> NeuronGroup:
    """The input: a pixel of value x ∈ [0, 1] fires at x · max_rate, ``regular``ly (an integrate-and-fire
    encoder: its ``phase`` grows at x · max_rate and it fires at 1; the circuit draws each example's
    starting phase) or as a ``poisson`` process; r is its rate trace. ``events``: custom events (the
    generated schedule's)."""
    spikes = "r += 1 / (tau_trace * max_rate)\ncount += 1"
    if encoding == "regular":
        threshold, reset = "phase > 1", "phase -= 1\n" + spikes
    else:  # a dark pixel draws no random number
        threshold, reset = "x > 0 and rand() < x * max_rate * dt", spikes
    group = NeuronGroup(
        n,
        "x : 1\nphase : 1\ndr/dt = -r / tau_trace : 1\ncount : 1",
        threshold=threshold,
        reset=reset,
        events=events,
        method=integration.method("exact"),
        namespace=namespace,
        clock=clock,
        name=name,
    )
    if encoding == "regular":  # the phase integrates x · max_rate (Brian2's exact solver refuses dphase/dt = x ·)
        group.run_regularly("phase += x * max_rate * dt", when="before_thresholds", name=f"{name}_encoder")
    return group


def lif_population(
    n: int,
    clock: Clock,
    namespace: dict,
    name: str,
    output: bool,
    mirror: bool,
    errors: bool = True,
    model: spec.Population | None = None,
    where: str = "population",
    error: str | None = None,
    slope: str = "int(ubar > 0)",
    variables: str = "",
    held: bool = False,
) -> NeuronGroup:
    """A hidden or output spiking layer: the ``model``'s membrane inside the circuit's compartments
    (:data:`COMPARTMENTS`). With ``errors`` (a feedback pathway carries this layer's error) its signed
    error leaves as two non-negative Poisson event streams, ``err_pos`` at error_rate · [delta]₊ and
    ``err_neg`` at error_rate · [−delta]₊ (the paired positive and negative error units, which share
    each feedback synapse), counted in ``sent`` (+1, −1); a neuron draws a random number only for the
    stream its sign selects. Where the namespace has ``error_baseline`` β (``brian.lif.error_baseline``),
    a layer's units fire at error_rate · [±(β + delta)]₊: spontaneous activity that a negative error
    lowers (with β ≥ |delta|, on the ON stream alone). A
    hidden neuron's delta is its error compartment times the surrogate ``slope``; the output's is set by the
    circuit from the teacher.
    With ``mirror``, setting the shared ``mirroring = 1`` makes the layer fire Poisson noise at
    noise_rate instead of integrating (the weight mirror's mirror mode). ``error``: the expression a
    hidden population's error is instead (an extra population's, e.g. ``err``: a relay); ``slope``: the
    surrogate f'(ubar) a hidden population's own error ``err · slope`` is made with; ``variables``: further
    state variables (the generated schedule's); ``held``: the layer answers noise in mirror phases at a
    held drive (:data:`HELD`)."""
    model = model or spec.Population()
    own_variables(model, where)
    m = membrane(model)
    params = {k: quantity(v, f"{where}.params.{k}") for k, v in m.params.items()}
    own = error or f"err * ({slope})"
    compartments = COMPARTMENTS.replace("du/dt = (-u + b) / tau_syn : 1\n", HELD) if held else COMPARTMENTS
    fast = held and "mirror_tau_m" in namespace
    membrane_eqs = re.sub(r"\btau_m\b", HELD_TAU_M, m.equations) if fast else m.equations
    eqs = membrane_eqs + "\n" + compartments + ("" if output else f"delta_local = {own} : 1\n") + variables
    d = "delta" if output else "delta_local"
    reset = f"{m.reset}\nr += 1 / (tau_trace * max_rate)\ncount += 1"
    if mirror or held:  # the spike trace B learns from in mirror phases, as r is scaled
        eqs += MIRROR_TRACE
        reset += "\nrm += 1 / (mirror_trace * max_rate)"
    if mirror:  # its running mean, the baseline of the weight mirror's covariance rule
        eqs += MIRROR_MEAN
    if errors:  # the count of its own ± error events: its error as the synapses it leaves through see it
        eqs += "sent : 1\n"
    fire = f"({m.threshold})"
    if mirror:
        eqs += "mirroring : 1 (shared)\nnoise_rate : Hz (shared)\n"  # a variable: no recompiling per rate
        fire = f"(mirroring == 0 and {fire}) or (mirroring == 1 and rand() < noise_rate * dt)"
    refractory = spec.seconds(model.refractory) * second if model.refractory else "refractory"
    events = {}
    if errors:
        if error is None and "error_baseline" in namespace:  # a layer's error units' spontaneous activity
            d = f"({d} + error_baseline)"
        events["err_pos"] = f"{d} > 0 and rand() < error_rate * dt * {d}"
        events["err_neg"] = f"{d} < 0 and rand() < -error_rate * dt * {d}"
    if "v_floor" in namespace:  # the membrane stops at v_floor (an inhibitory reversal potential)
        events["floor"] = "v < v_floor"
    try:
        group = NeuronGroup(
            n,
            eqs,
            threshold=fire,
            reset=reset,
            refractory=refractory,
            events=events or None,
            method=integration.method(model.method),
            namespace={**namespace, **params},
            clock=clock,
            name=name,
        )
        if "floor" in events:
            group.run_on_event("floor", "v = v_floor")
        if mirror:
            group.run_regularly(MIRROR_MEAN_UPDATE, when="synapses", name=f"{name}_mirror_mean")
        if errors:
            group.run_on_event("err_pos", "sent += 1")
            group.run_on_event("err_neg", "sent -= 1")
        return group
    except Exception as err:
        raise SpikefaError(f"{where}: Brian2 refused the population ({cut(first_line(err))})") from None


def check_population(model: spec.Population, namespace: dict, where: str) -> None:
    """Build one neuron of ``model`` and run it for a step (numpy target, nothing compiled), so that an
    undefined name or a unit that does not fit is a one-line :class:`SpikefaError` naming ``where``
    before anything runs or is written."""
    target = prefs.codegen.target
    prefs.codegen.target = "numpy"
    try:
        clock = Clock(defaultclock.dt)
        group = lif_population(
            1, clock, namespace, "population_check", output=False, mirror=True, model=model, where=where
        )
        Network(group).run(clock.dt)
    except SpikefaError:
        raise
    except Exception as err:
        raise SpikefaError(f"{where}: {cut(first_line(err))}") from None
    finally:
        prefs.codegen.target = target
