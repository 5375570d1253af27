"""``brian.monitor`` on cpp_standalone, where no Python runs between steps: the recordings are Brian2
monitors compiled into the project, told by a ``TimedArray`` (``recording``, a run argument like the
examples) which steps to keep.

Each recorded population gets two events of its own, checked at every step: ``recorded`` at the step's
start after the schedule's operations (1 in ``recording``: a learning or mirror window's step, the
state the Python schedule's recorder reads) and ``recorded_end`` at its end (2: a test recording's
step, the state a ``StateMonitor`` at ``when="end"`` reads); an ``EventMonitor`` of each keeps the
chosen variables. A ``SpikeMonitor`` (and, for the ± error events, ``EventMonitor``s) keep every event
of a run of the binary, of which the recorded steps' are kept. Each run of the binary starts with empty
monitors, so nothing piles up across blocks. What the runtime targets record (see
:meth:`~spikefa.brian.generated.Generated.recording`) is the reference: tested equal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from brian2 import EventMonitor, NeuronGroup, SpikeMonitor, TimedArray, second
from brian2.groups.neurongroup import Thresholder

if TYPE_CHECKING:
    from .recording import Recorder

WINDOW, TEST = 1.0, 2.0  # what ``recording`` says of a step


def add_event(group: NeuronGroup, name: str, condition: str, when: str, order: int) -> None:
    """A custom event on a built group, as NeuronGroup(events=...) makes one: its condition, the array
    of the neurons it happened to (``_{name}space``) and its thresholder, at ``when``/``order``."""
    group.events[name] = condition
    group.variables.add_array(f"_{name}space", size=len(group) + 1, dtype=np.int32, constant=False)
    thresholder = Thresholder(group, event=name, when=when)
    thresholder.order = order
    group.thresholder[name] = thresholder
    group.contained_objects.append(thresholder)


class CompiledRecording:
    """The monitors of ``generated``'s circuit for ``brian.monitor`` (populations ``groups``, by name;
    ``variables``), for runs of at most ``steps`` time steps."""

    def __init__(self, generated, groups: dict[str, NeuronGroup], variables: tuple[str, ...], steps: int):
        from .recording import DERIVED  # (it imports the circuit module, which imports this one)

        self.c, self.dt = generated.c, float(generated.c.dt)
        self.flags = TimedArray(np.zeros(steps + 1), dt=self.c.dt, name="recording")
        generated.names["recording"] = self.flags
        self.wants = [v for v in DERIVED if v in variables]
        self.states: dict[str, tuple[EventMonitor, EventMonitor]] = {}
        self.events: dict[str, SpikeMonitor | EventMonitor] = {}
        self.sizes = {name: len(group) for name, group in groups.items()}
        self.own: dict[str, list[str]] = {}  # the variables each keeps
        for name, group in groups.items():
            own = self.own[name] = [v for v in variables if v not in DERIVED and v in group.variables]
            group.namespace.update(generated.names)
            generated.owners.append(group)
            add_event(group, "recorded", f"recording(t - t_block) == {WINDOW}", "start", 10)
            add_event(group, "recorded_end", f"recording(t - t_block) == {TEST}", "end", 10)
            self.states[name] = tuple(
                EventMonitor(group, event, variables=own, when=when, order=11, name=f"{name}_{event}_monitor")
                for event, when in (("recorded", "start"), ("recorded_end", "end"))
            )
            if self.wants and "spike" in group.events:  # (and its ± error events, as monitoring records them)
                self.events[f"{name}_spikes"] = SpikeMonitor(group, name=f"{name}_spike_monitor")
                for event in ("err_pos", "err_neg"):
                    if event in group.events:
                        self.events[f"{name}_{event}"] = EventMonitor(group, event, name=f"{name}_{event}_monitor")
        self.objects = [m for pair in self.states.values() for m in pair] + list(self.events.values())

    def windows(self, rec: Recorder, shown: tuple[int, int], mirror: bool) -> np.ndarray:
        """``recording``'s values for a run showing ``shown`` = (steps each, how many) examples (or noise
        samples, the first one rest: ``mirror``): 1 at the steps of ``rec``'s windows."""
        per, n = shown
        values = np.zeros(self.flags.values.shape)
        steps = np.arange(len(values) - 1)
        index = steps // per - mirror
        i = rec.offset + index
        values[:-1] = WINDOW * ((index >= 0) & (index < n) & (i % rec.every < rec.window))
        return values

    def everything(self, steps: int) -> np.ndarray:
        """``recording``'s values for a test recording of the run's first ``steps`` steps."""
        values = np.zeros(self.flags.values.shape)
        values[:steps] = TEST
        return values

    def collect(self, rec: Recorder, shown: tuple[int, int], mirror: bool) -> None:
        """What the run just ended recorded in its windows, into ``rec`` as its own schedule would have
        put it (see :class:`~spikefa.brian.recording.Recorder`)."""
        per, _ = shown
        steps = None
        for name, (monitor, _) in self.states.items():
            at = self.steps(monitor.t[:])
            steps = np.unique(at) if steps is None else steps
            for v in self.own[name]:
                values = np.asarray(getattr(monitor, v)[:])
                rec.values[(name, v)].extend(self.by_step(values, monitor.i[:], at, steps, self.sizes[name]).T)
        if steps is None:  # only spikes asked for: the steps are those ``recording`` marked
            steps = np.flatnonzero(self.flags.values[:-1] == WINDOW)
        index = steps // per - mirror
        duration = per * self.dt
        times = (rec.offset + index) * duration + (steps % per) * self.dt
        rec.t.extend(times)
        rec.index.extend(rec.offset + index)
        for name in rec.counting:
            monitor = self.events[f"{name}_spikes"]
            at, who = self.steps(monitor.t[:]), np.asarray(monitor.i[:])
            for step, time in zip(steps, times, strict=True):
                rec.fired[name].append(who[at == step])
                rec.fired_t[name].append(time)

    def test(self, steps: int) -> dict[str, np.ndarray]:
        """A test recording of the run's first ``steps`` steps, as
        :meth:`~spikefa.brian.circuit.Circuit.monitoring` returns one."""
        out: dict[str, np.ndarray] = {}
        every = np.arange(steps)
        for name, (_, monitor) in self.states.items():
            if self.own[name]:  # (as monitoring's StateMonitors give it)
                out.setdefault("t", every * self.dt)
            at = self.steps(monitor.t[:])
            for v in self.own[name]:
                values = np.asarray(getattr(monitor, v)[:])
                out[f"{name}_{v}"] = self.by_step(values, monitor.i[:], at, every, self.sizes[name])
        for key, monitor in self.events.items():
            at = self.steps(monitor.t[:])
            kept = at < steps
            out[f"{key}_i"] = np.asarray(monitor.i[:])[kept]
            out[f"{key}_t"] = at[kept] * self.dt
        if "rate" in self.wants:
            for name, n in self.sizes.items():
                if f"{name}_spikes_t" in out:
                    at = np.round(out[f"{name}_spikes_t"] / self.dt).astype(np.int64)
                    out[f"{name}_rate"] = np.bincount(at, minlength=steps)[:steps] / (n * self.dt)
        return out

    def steps(self, t) -> np.ndarray:
        """Times within the run (s, from the block's start: each run of the binary starts at 0) as steps."""
        return np.round(np.asarray(t / second) / self.dt).astype(np.int64)

    @staticmethod
    def by_step(values: np.ndarray, i: np.ndarray, at: np.ndarray, steps: np.ndarray, n: int) -> np.ndarray:
        """Event-monitored values (one per neuron and recorded step) as neurons × ``steps``."""
        out = np.zeros((n, len(steps)))
        out[np.asarray(i), np.searchsorted(steps, at)] = values
        return out
