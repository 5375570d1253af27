"""The Python API: build a circuit into a model, look inside or change it, then train it.

    import spikefa
    from brian2 import StateMonitor

    model = spikefa.build("brian_digits_lif_fa")             # a name in circuits/, a file, or a Circuit
    v = StateMonitor(model.populations["layer1"], "v", record=[0, 1])
    model.network.add(v)                                       # the model's own Brian2 Network
    run = spikefa.run(model, out="runs/mine")                  # run folder, checkpoints, metrics: as the CLI

:func:`build` does everything that can refuse bad input — validation, the memory estimate, the data,
the Brian2 objects — before anything is written; :func:`run` opens the run folder and trains. The CLI's
``spikefa run`` is these two calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import memory, spec
from .errors import SpikefaError
from .reference import ReferenceEngine
from .tasks import Dataset, load_task
from .yamlfile import show


@dataclass
class Generators:
    """The run's three random generators, spawned from ``SeedSequence(seed)``: the data (teachers and
    their inputs), the initial weights (and a sparse pathway's synapses), and training (order,
    noise, spikes). The training generator's state is what a checkpoint saves."""

    data: np.random.Generator
    init: np.random.Generator
    train: np.random.Generator


@dataclass
class Model:
    """A built circuit. ``engine`` is the reference engine that holds the parameters and the rule;
    ``learner`` computes activity and errors while learning — the engine itself, or a Brian2 circuit
    (:class:`spikefa.brian.Circuit`) whose synapses are the engine's parameters."""

    circuit: spec.Circuit
    data: Dataset
    engine: ReferenceEngine
    learner: Any
    generators: Generators
    source: str = "circuit"
    trained: bool = False  # a model trains once: its weights and generators have moved on

    @property
    def network(self):
        """The Brian2 ``Network`` (None for the reference engine). Objects added to it run with it."""
        return getattr(self.learner, "network", None)

    @property
    def timeline(self):
        """What the Brian2 network did when, to read a monitor of your own by phase: a table with one
        row per stretch of one kind — ``start`` and ``stop`` (seconds of the network's time, as a
        monitor's ``t``) and ``kind`` (``learning``: examples learned from; ``test``: examples shown
        for a read-out; ``mirror``: a weight-mirror phase). None for the reference engine. On
        cpp_standalone every block runs the compiled binary from its own t = 0: no timeline."""
        if self.network is None:
            return None
        import pandas as pd

        return pd.DataFrame(self.learner.timeline, columns=["start", "stop", "kind"])

    @property
    def populations(self) -> dict:
        """Brian2 populations by name: ``layer0`` (input) … ``layerL`` (output), ``classifier{l}``, extra
        populations (``brian.extra``)."""
        if self.network is None:
            return {}
        c = self.learner
        return {g.name: g for g in [*c.groups, *c.classifiers.values(), *c.extras.values()]}

    @property
    def pathways(self) -> dict:
        """Brian2 synapse groups by name: forward ``W{l}``, feedback ``B{l}``, classifier readouts ``C{l}``,
        and the circuit file's own pathways (``brian.pathways``)."""
        if self.network is None:
            return {}
        c = self.learner
        groups = [*c.forward, *c.feedback, *c.readouts.values(), *c.links.values()]
        return {s.name: s for s in groups if s is not None}


def resolve(circuit: spec.Circuit | str | Path, overrides: list[str] = ()) -> tuple[spec.Circuit, str]:
    """A Circuit from a Circuit, a circuit file, or a name in ``circuits/``; and how errors name it."""
    if isinstance(circuit, spec.Circuit):
        if overrides:
            raise SpikefaError("overrides: give them with a circuit file, or change the Circuit itself")
        return circuit, "circuit"
    return spec.load_circuit(spec.circuit_path(circuit), list(overrides)), str(circuit)


def build(
    circuit: spec.Circuit | str | Path,
    *,
    overrides: list[str] = (),
    data_dir: str | None = None,
    source: str | None = None,
) -> Model:
    """Build ``circuit`` (a Circuit, a circuit file, or a name in ``circuits/``; ``overrides`` as
    ``--set``): validate it, check that it fits in memory, load its data, draw its weights and build
    its Brian2 objects. Raises :class:`SpikefaError` for bad input; writes nothing."""
    circuit, named = resolve(circuit, overrides)
    source = source or named
    memory.check(circuit, source)
    data_seq, init_seq, train_seq = np.random.SeedSequence(circuit.seed).spawn(3)
    gens = Generators(*(np.random.default_rng(s) for s in (data_seq, init_seq, train_seq)))
    data = load_task(circuit.task, gens.data, data_dir).astype(np.dtype(circuit.dtype))
    check_sizes(circuit, data, source)
    engine = ReferenceEngine(circuit, gens.init)
    learner = engine
    if circuit.engine == "brian2":
        from .brian import Circuit
        from .brian.lif import check

        check(circuit, source)  # a population's own Brian2 code, tried on one neuron first
        learner = Circuit.for_engine(engine)
    model = Model(circuit, data, engine, learner, gens, source)
    check_monitor(model)
    return model


def check_monitor(model: Model) -> None:
    """``brian.monitor`` names populations the circuit has, and variables at least one of them has."""
    m, where = model.circuit.brian.monitor, f"{model.source}: brian.monitor"
    if not m.layers or model.network is None:
        return
    populations = model.populations
    groups = []
    for p in m.layers:
        name = f"layer{p}" if isinstance(p, int) else p
        if name not in populations:
            raise SpikefaError(f"{where}.layers: no population {name!r}; the circuit has {', '.join(populations)}")
        groups.append(populations[name])
    spiking = any("count" in g.variables for g in groups)
    for v in m.variables:
        if v in ("spikes", "rate") and not spiking:
            raise SpikefaError(f"{where}.variables: {v} needs a spiking population (neurons: lif)")
        if v not in ("spikes", "rate") and not any(v in g.variables for g in groups):
            names = sorted(
                {
                    n
                    for g in groups
                    for n in g.variables
                    if not n.startswith("_") and n not in ("t", "dt", "N", "i", "t_in_timesteps")
                }
            )
            raise SpikefaError(f"{where}.variables: {v!r} is a variable of none of them; they have {', '.join(names)}")


def check_sizes(circuit: spec.Circuit, data: Dataset, source: str) -> None:
    sizes = circuit.network.sizes
    if sizes[0] != data.n_in or sizes[-1] != data.n_out:
        raise SpikefaError(
            f"{source}: network.sizes: {show(list(sizes))} must start with {data.n_in} inputs and end with "
            f"{data.n_out} outputs for task {circuit.task.name}"
        )
