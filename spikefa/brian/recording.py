"""Recordings while a Brian2 circuit learns or mirrors (``brian.monitor.when``: learning, mirror):
windows of time steps, read from the populations' own arrays by the circuit's schedule operation.

Brian2's monitors record a whole ``Network.run``, and a circuit presents a block of many examples in
one run; recording a window of a few examples with them would mean splitting the run, which in a
spiking circuit changes the spike noise drawn. Reading the arrays changes nothing: a run with
recordings gives the same numbers as one without. A spike is read off the population's spike
``count`` (one per spike; refractoriness keeps it to one per step), timed at the step it happened in.
"""

from __future__ import annotations

import numpy as np
from brian2 import NeuronGroup
from brian2.core.variables import Subexpression

from .circuit import live

DERIVED = ("spikes", "rate")  # what a spiking population's spike count gives: spike times, population rate


class Recorder:
    """Every time step whose index (an example, or a mirror noise sample, counted over the whole run:
    ``offset`` + the index within the Brian2 run in progress) falls in a window — ``window`` of every
    ``every`` — it keeps each chosen state variable of each population (those it has), and for spiking
    populations the spikes and the population rate, if asked."""

    def __init__(self, groups: dict[str, NeuronGroup], variables: tuple[str, ...], every: int, window: int, dt: float):
        self.every, self.window, self.dt = every, window, dt
        self.offset = 0
        self.states = {
            (name, v): group
            for name, group in groups.items()
            for v in variables
            if v not in DERIVED and v in group.variables
        }
        wants = [v for v in DERIVED if v in variables]
        self.counting = {name: g for name, g in groups.items() if wants and "count" in g.variables}
        self.wants = wants
        self.last: dict[str, np.ndarray] = {}  # spike counts after the previous step's schedule
        self.pending: dict[str, np.ndarray] = {}  # who fired in the step just ended
        self.inside = False  # whether the step just ended was in a window
        self.clear()

    def clear(self) -> None:
        self.t: list[float] = []
        self.index: list[int] = []
        self.values: dict[tuple, list] = {key: [] for key in self.states}
        self.fired: dict[str, list] = {name: [] for name in self.counting}  # per step: who fired in it
        self.fired_t: dict[str, list] = {name: [] for name in self.counting}  # and that step's time

    def spikes(self) -> None:
        """At the start of a step, before the schedule acts (it may put counts back to 0): which neurons
        fired in the step just ended — kept only if that step was in a window."""
        for name, group in self.counting.items():
            before = self.last.get(name)
            fired = self.inside and before is not None
            self.pending[name] = np.flatnonzero(live(group, "count") > before) if fired else np.zeros(0, int)

    def sample(self, index: int, within: float, duration: float) -> None:
        """After the schedule acted at the start of a step: keep the step if it is in a window, with the
        spikes of the step before it (:meth:`spikes`). Its time is ``within`` its example (or noise
        sample) of ``duration`` seconds, on a clock that runs only while the circuit learns (or mirrors):
        the same in a resumed run as in an uninterrupted one."""
        i = self.offset + index
        was_inside, self.inside = self.inside, index >= 0 and i % self.every < self.window
        if was_inside and self.t:  # the spikes of the step just ended, at its time (its time was in the
            # part a checkpoint took, if one came in between: dropped, as a run resumed there has them not)
            for name in self.counting:
                self.fired[name].append(self.pending[name])
                self.fired_t[name].append(self.t[-1])
        if self.inside:
            self.t.append(i * duration + within)
            self.index.append(i)
            for (name, v), group in self.states.items():
                self.values[(name, v)].append(read(group, v))
        for name, group in self.counting.items():
            self.last[name] = live(group, "count").copy()

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """What was kept since the last call, as ``{prefix}_t`` (s, on the learning or mirror clock: example
        or sample i starts at i × its duration), ``{prefix}_index`` (the example or
        sample of each step), ``{prefix}_{population}_{variable}`` (neurons × steps),
        ``{prefix}_{population}_spikes_i`` / ``_t`` (the time of the step the spike came in) and
        ``{prefix}_{population}_rate`` (Hz, per recorded step); then forgets it (a step whose spikes are
        known only once the next one starts is reported with them)."""
        t = np.asarray(self.t, float)
        out = {f"{prefix}_t": t, f"{prefix}_index": np.asarray(self.index, np.int64)}
        for (name, v), values in self.values.items():
            n = len(self.states[(name, v)])
            out[f"{prefix}_{name}_{v}"] = np.array(values).T if values else np.zeros((n, 0))
        for name, fired in self.fired.items():
            n = len(self.counting[name])
            times = self.fired_t[name]
            if "spikes" in self.wants:
                out[f"{prefix}_{name}_spikes_i"] = np.concatenate(fired).astype(np.int64) if fired else np.zeros(0, int)
                out[f"{prefix}_{name}_spikes_t"] = (
                    np.concatenate([np.full(len(f), s) for f, s in zip(fired, times)]) if fired else np.zeros(0)
                )
            if "rate" in self.wants:  # per recorded step (a block's last step: its spikes are not known)
                counts = np.zeros(len(t))
                np.add.at(counts, np.searchsorted(t, times), [len(f) for f in fired])
                out[f"{prefix}_{name}_rate"] = counts / (n * self.dt)
        self.clear()
        return out


def read(group: NeuronGroup, name: str) -> np.ndarray:
    """A copy of a state variable's values; a subexpression (``delta_local``, a rate neuron's ``delta``)
    is evaluated by Brian2 (about 2 ms a read, so worth recording in short windows only)."""
    if isinstance(group.variables[name], Subexpression):
        return np.array(group.state(name, use_units=False)[:])
    return live(group, name).copy()
