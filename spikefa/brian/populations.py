"""Rate populations. A hidden neuron has a somatic potential driven only by the forward pathway and
a separate error (apical) compartment ``err`` fed only by the feedback pathway:

    tau dv/dt = −v + I_ff + b          r = f(v)          delta = err · f'(v)

(r is set from v after every step and whenever the circuit moves v.)
The output population's ``delta`` is set from the teacher signal; the input population only holds
rates ``r``. With dt = tau (Euler), v reaches its steady state W r + b in one step, which is what
makes a rate circuit comparable, number for number, with the reference engine.
"""

from __future__ import annotations

from brian2 import Clock, NeuronGroup, Quantity

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


def input_population(n: int, clock: Clock, name: str) -> NeuronGroup:
    """The input layer: rates set from the data."""
    return NeuronGroup(n, "r : 1", clock=clock, name=name)


def hidden_population(
    n: int, activation: str, tau: Quantity, clock: Clock, name: str, mirror: bool = False
) -> NeuronGroup:
    """A hidden layer: soma driven by W, error compartment ``err`` driven by B, local error ``delta``.
    With ``mirror``, the population can be switched (shared ``mirroring = 1``) to keep whatever rates
    the circuit writes into ``r`` (noise) instead of f(v): the weight mirror's mirror mode."""
    f, fprime = RATE[activation]
    eqs = SOMA + f"r : 1\nerr : 1\ndelta = err * ({fprime}) : 1\n"
    rate = f"(1 - mirroring) * {f} + mirroring * r" if mirror else f
    if mirror:
        eqs += "mirroring : 1 (shared)\n"
    group = NeuronGroup(n, eqs, method="euler", namespace={"tau": tau}, clock=clock, name=name)
    # r is stored, set right after every state update: the forward pathway reads it once per synapse,
    # and a subexpression would evaluate f there, n_post times per neuron.
    group.run_regularly(f"r = {rate}", when="groups", order=1, name=f"{name}_rate")
    return group


def output_population(n: int, activation: str, tau: Quantity, clock: Clock, name: str) -> NeuronGroup:
    """The output layer: ``r`` is its drive v (softmax and the loss are taken across the population,
    by the circuit), ``delta`` the output error that the feedback pathway carries back."""
    f = "v" if activation == "softmax" else RATE[activation][0]
    return NeuronGroup(
        n, SOMA + f"r = {f} : 1\ndelta : 1\n", method="euler", namespace={"tau": tau}, clock=clock, name=name
    )


# --- leaky integrate-and-fire -------------------------------------------------------------------
LIF = """
du/dt = (-u + b) / tau_syn : 1
dv/dt = (-v + u) / tau_m : 1 (unless refractory)
dr/dt = -r / tau_trace : 1
dubar/dt = (u - ubar) / tau_trace : 1
derr/dt = -err / tau_err : 1
b : 1
delta : 1
count : 1
"""
"""A LIF neuron: synaptic drive u (the forward pathway's spikes), membrane v, a rate trace r (+1/(tau_trace ·
max_rate) per spike, so r ≈ rate / max_rate), a drive trace ubar ≈ ⟨u⟩, an error compartment err (the
feedback pathway's ± error events), the neuron's error ``delta`` and a spike ``count``."""


def lif_input_population(n: int, clock: Clock, namespace: dict, name: str) -> NeuronGroup:
    """Poisson input: a pixel of value x ∈ [0, 1] fires at x · max_rate; r is its rate trace."""
    return NeuronGroup(
        n,
        "x : 1\ndr/dt = -r / tau_trace : 1\ncount : 1",
        threshold="x > 0 and rand() < x * max_rate * dt",  # a dark pixel draws no random number
        reset="r += 1 / (tau_trace * max_rate)\ncount += 1",
        method="exact",
        namespace=namespace,
        clock=clock,
        name=name,
    )


def lif_population(
    n: int, clock: Clock, namespace: dict, name: str, output: bool, mirror: bool, errors: bool = True
) -> NeuronGroup:
    """A hidden or output LIF layer. With ``errors`` (a feedback pathway carries this layer's error) its
    signed error leaves as two non-negative Poisson event streams, ``err_pos`` at error_rate · [delta]₊
    and ``err_neg`` at error_rate · [−delta]₊ (the paired positive and negative error units, which share
    each feedback synapse); a neuron draws a random number only for the stream its sign selects. A
    hidden neuron's delta is its error compartment times relu'(ubar); the output's is set by the
    circuit from the teacher.
    With ``mirror``, setting the shared ``mirroring = 1`` makes the layer fire Poisson noise at
    noise_rate instead of integrating (the weight mirror's mirror mode)."""
    eqs = LIF + ("" if output else "delta_local = err * int(ubar > 0) : 1\n")
    d = "delta" if output else "delta_local"
    fire = "v > v_threshold"
    if mirror:
        eqs += "mirroring : 1 (shared)\nnoise_rate : Hz (shared)\n"  # a variable: no recompiling per rate
        fire = "(mirroring == 0 and v > v_threshold) or (mirroring == 1 and rand() < noise_rate * dt)"
    return NeuronGroup(
        n,
        eqs,
        threshold=fire,
        reset="v = 0\nr += 1 / (tau_trace * max_rate)\ncount += 1",
        refractory="refractory",
        events={
            "err_pos": f"{d} > 0 and rand() < error_rate * dt * clip({d}, 0, 1)",
            "err_neg": f"{d} < 0 and rand() < error_rate * dt * clip(-{d}, 0, 1)",
        }
        if errors
        else None,
        method="exact",
        namespace=namespace,
        clock=clock,
        name=name,
    )
