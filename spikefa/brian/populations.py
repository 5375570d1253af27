"""Rate populations. A hidden neuron has a somatic potential driven only by the forward pathway and
a separate error (apical) compartment ``err`` fed only by the feedback pathway:

    tau dv/dt = −v + I_ff + b          r = f(v)          delta = err · f'(v)

The output population's ``delta`` is set from the teacher signal; the input population only holds
rates ``r``. With dt = tau (Euler), v reaches its steady state W r + b in one step, which is what
makes a rate circuit comparable, number for number, with the reference engine.
"""

from __future__ import annotations

from brian2 import NeuronGroup, Quantity

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


def input_population(n: int, dt: Quantity, name: str) -> NeuronGroup:
    """The input layer: rates set from the data."""
    return NeuronGroup(n, "r : 1", dt=dt, name=name)


def hidden_population(
    n: int, activation: str, tau: Quantity, dt: Quantity, name: str, mirror: bool = False
) -> NeuronGroup:
    """A hidden layer: soma driven by W, error compartment ``err`` driven by B, local error ``delta``.
    With ``mirror``, the population can be switched (shared ``mirroring = 1``) to fire the noise
    rates ``noise`` instead of f(v): the weight mirror's mirror mode."""
    f, fprime = RATE[activation]
    rate = f"(1 - mirroring) * {f} + mirroring * noise : 1\nnoise : 1\nmirroring : 1 (shared)" if mirror else f"{f} : 1"
    eqs = SOMA + f"r = {rate}\nerr : 1\ndelta = err * ({fprime}) : 1\n"
    return NeuronGroup(n, eqs, method="euler", namespace={"tau": tau}, dt=dt, name=name)


def output_population(n: int, activation: str, tau: Quantity, dt: Quantity, name: str) -> NeuronGroup:
    """The output layer: ``r`` is its drive v (softmax and the loss are taken across the population,
    by the circuit), ``delta`` the output error that the feedback pathway carries back."""
    f = "v" if activation == "softmax" else RATE[activation][0]
    return NeuronGroup(n, SOMA + f"r = {f} : 1\ndelta : 1\n", method="euler", namespace={"tau": tau}, dt=dt, name=name)
