"""The presentation schedule and every weight change as Brian2 code (``brian.plasticity: code``): a
whole block of examples runs with no Python between steps, on a runtime target or compiled
(``cpp_standalone``).

A block of N ≤ ``optimizer.batch_size`` examples is N + 1 example periods (a period: forward_time +
error_time); t − t_block is the time since the block began:

- the inputs, the teachers and the learning rate are ``TimedArray``s with a row per period: the input
  and teacher of example k, and the rate η of the example just presented (0 in the first period, where
  none was, and in the padding of a compiled project, which always runs its full capacity, or of a
  runtime block that ends where the mirror segment's clock ticks too);
- at the start of period k, order 0: every plastic synapse changes by what it saw of example k − 1 —
  forward W_l by momentum SGD with decoupled decay (v ← μ v + δ_post h_pre, w ← (1 − λ) w − η v),
  biases likewise (at their own rate, no decay), feedback B_l by the rule's declared
  :class:`~spikefa.rules.Plasticity`; order 1: every population back to rest, the input to example k;
  orders 2–3 (rate circuits): the input's pathway adds W x into its target, from the nonzero inputs only;
- forward_time into a period each teachable population (the output, local classifiers) sets its error
  δ = ∂loss/∂a from its drive and the teacher; softmax's denominator Z is a summed variable over the
  population, summed after its own update (so it sums this step's drives);
- a ``StateMonitor`` keeps the output's drive at every period's start: the outputs the trainer scores.

The rule is declared once: forward learning is the same for every rule, and the feedback synapses'
change is the rule's :meth:`~spikefa.rules.Rule.plasticity`, which the reference engine applies with its
Numba kernels — the ground truth these circuits are tested against. Backprop's B, which cannot read W
here, starts each block as Wᵀ and takes W's own update (:meth:`~spikefa.rules.Rule.code_plasticity`);
sign symmetry keeps such a copy beside B (``wt``) and makes B from it (:meth:`~spikefa.rules.Rule.code_feedback`).
The weight mirror's noise phases are a segment of their own (:mod:`~spikefa.brian.generated_mirror`).

Parameters cross into Brian2 at block boundaries only. On runtime targets the synapse arrays are the
engine's own (views) and the momentum buffers are copied. On cpp_standalone the project is built once,
in a temporary directory of its own (parallel sweeps never share one; removed with the circuit), and
every block (or mirror segment: the project holds both runs, ``mode`` picks one) runs the compiled
binary with the weights, buffers, data and rates as ``run_args``; the results are read back into the
engine's arrays, so metrics, checkpoints and resume are the runtime targets' own. Brian2's standalone
device is global: a process holds one standalone circuit at a time.

A project directory (``spikefa-standalone-*`` in the temporary directory, some 4 MB) is locked by the
process that uses it — ``flock`` on the directory itself, held from its creation until it is removed
(:func:`new_project`, :func:`release`) — so that one left behind by a process that died without
cleaning up (SIGKILL, out of memory) is recognisable: its lock is free. Every new project removes such
stale ones of the same user (:func:`remove_stale`), never one whose lock is held (a live process's,
e.g. a parallel sweep worker's).
"""

from __future__ import annotations

import fcntl
import gc
import math
import os
import re
import shutil
import tempfile
import weakref
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from brian2 import (
    NetworkOperation,
    NeuronGroup,
    StateMonitor,
    Synapses,
    TimedArray,
    device,
    second,
    set_device,
)
from brian2 import seed as brian_seed
from brian2.devices.device import get_device

from ..errors import SpikefaError
from ..rules import Rule
from . import compiled_cache, declared, online
from .compiled_recording import CompiledRecording
from .generated_mirror import MirrorSegment
from .populations import RATE
from .statements import sgd

STANDALONE = "cpp_standalone"
PROJECT_PREFIX = "spikefa-standalone-"
_locks: dict[Path, int] = {}  # this process's live projects → the descriptor holding each one's lock


def activate(target: str, owner: object | None = None) -> Path | None:
    """Make Brian2's device the one ``target`` needs: the runtime device for numpy and cython; for
    cpp_standalone a fresh standalone device with a new temporary project directory (returned; see
    :func:`new_project`), removed (:func:`release`) when ``owner`` (the circuit) is garbage or the process
    ends. A new standalone circuit discards the previous one's Brian2 objects."""
    current = get_device()
    if target != STANDALONE:
        if current.__class__.__name__ != "RuntimeDevice":
            set_device("runtime")
        return None
    if current.__class__.__name__ == "CPPStandaloneDevice":
        current.reinit()
    # a previous circuit's Brian2 objects, garbage in reference cycles, would still hold their names, and
    # this circuit's code objects would get new ones (``_1``): other sources, no compiled project to reuse
    gc.collect()
    project = new_project()
    if owner is not None:
        weakref.finalize(owner, release, project)
    options = {"directory": str(project), "build_on_run": False, "with_output": False}
    set_device(STANDALONE, **options)
    # the same start whatever device came before: set_device writes the previous device's default clock
    # into the code, and equal circuits then have equal sources (a compiled project to reuse)
    device.reinit()
    device.activate(**options)
    return project


def new_project() -> Path:
    """A new, empty project directory in the temporary directory, locked by this process until
    :func:`release`; first every stale project there (:func:`remove_stale`) is removed."""
    while True:
        project = Path(tempfile.mkdtemp(prefix=PROJECT_PREFIX))
        fd = os.open(project, os.O_RDONLY | os.O_DIRECTORY)
        # another process's sweep may have found it between mkdtemp and here, unlocked: it removes it
        # holding the lock, so once the lock is ours the directory is either still there or gone for good
        fcntl.flock(fd, fcntl.LOCK_EX)
        if _same(fd, project):
            break
        os.close(fd)
    _locks[project] = fd
    remove_stale(project.parent)
    return project


def release(project: Path) -> None:
    """Remove a project of this process's (a circuit's, when it ends), then give up its lock."""
    shutil.rmtree(project, ignore_errors=True)
    fd = _locks.pop(project, None)
    if fd is not None:
        os.close(fd)


def remove_stale(directory: Path | str | None = None) -> list[Path]:
    """Remove every ``spikefa-standalone-*`` directory in ``directory`` (default: the temporary
    directory) that belongs to this user and whose lock is free — its process ended without removing
    it (killed) — and none whose lock is held: a live process's project (this process's own too: a lock
    is held per open descriptor, so it cannot be taken through a second one). Returns those removed."""
    directory = Path(tempfile.gettempdir() if directory is None else directory)
    removed = []
    try:
        candidates = [p for p in directory.iterdir() if p.name.startswith(PROJECT_PREFIX) and p not in _locks]
    except OSError:
        return removed
    for path in candidates:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:  # gone already, not a directory, a link, not ours to read
            continue
        try:
            if os.fstat(fd).st_uid != os.getuid():
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # held: its process lives
                continue
            if _same(fd, path):  # removed holding its lock (see new_project)
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
        finally:
            os.close(fd)
    return removed


def _same(fd: int, path: Path) -> bool:
    """Whether the directory open as ``fd`` is still the one at ``path``."""
    try:
        return os.path.samestat(os.fstat(fd), os.lstat(path))
    except OSError:
        return False


def refuse(circuit) -> None:
    """One-line errors for the rules that generated code cannot build: those that read W to make B,
    and those that change B in Python."""
    e = circuit.engine
    rule = e.rule
    where = "brian.plasticity: code"
    kernels = "use plasticity: kernels on a runtime target (cython, numpy)"
    if rule.transports_weights and rule.code_plasticity() is None:
        raise SpikefaError(
            f"{where}: rule {rule.name} reads W to make B (weight transport), which B's synapses cannot; {kernels}"
        )
    if rule.code_plasticity() is None and type(rule).after_step is not Rule.after_step:
        raise SpikefaError(
            f"{where}: rule {rule.name} changes B in Python (after_step); declare its plasticity() "
            f"(spikefa.rules.Plasticity) to build it as Brian2 code, or {kernels}"
        )


def output_error(network, a: str, y: str) -> str:
    """∂loss/∂a of one example as a Brian2 expression of the drive ``a`` and teacher ``y`` (the
    engine's :meth:`~spikefa.reference.ReferenceEngine.output_delta`); softmax's denominator is ``Z``."""
    if network.output == "softmax":  # Z is 0 before the first step has summed it
        return f"exp({a}) / (Z + int(Z == 0)) - {y}"
    f = RATE[network.output][0].replace("v", f"({a})")
    if network.loss == "binary_cross_entropy":
        return f"{f} - {y}"
    slope = RATE[network.output][1].replace("v", f"({a})")
    return f"({f} - {y}) * ({slope})"


def flat(M: np.ndarray, connections) -> np.ndarray:
    """A weight matrix (n_post, n_pre) as its synapses' array: presynaptic-major for all to all, in the
    synapses' own order (rows, cols) otherwise; a bias vector as it is."""
    if M.ndim == 1:
        return M
    return M.T.ravel() if connections is None else M[connections]


def unflat(M: np.ndarray, values: np.ndarray, connections) -> None:
    """The inverse of :func:`flat`, into M in place."""
    if M.ndim == 1:
        M[...] = values
    elif connections is None:
        M[...] = values.reshape(M.shape[1], M.shape[0]).T
    else:
        M[connections] = values


class Generated:
    """The schedule and plasticity of ``circuit`` as Brian2 objects (:attr:`objects`, for its Network),
    and the block runner (:meth:`run`). ``circuit`` provides the neuron model's code: its example
    period, drive, rate and error expressions and rest (see :class:`~spikefa.brian.rate.RateCircuit`)."""

    def __init__(self, circuit):
        refuse(circuit)
        self.c = c = circuit
        e, o = c.engine, c.engine.circuit.optimizer
        self.capacity = cap = o.batch_size
        self.project = c.project
        steps = c.example_steps()
        period = steps * c.dt
        self.period = period
        self.clock = c.example_clock
        sizes = e.sizes
        # a row per period, and one of zeros that any periods after the block read (a TimedArray holds
        # its last value), where a block is padded to end on the mirror clock's tick too (aligned)
        rows = cap + 2
        self.inputs = TimedArray(np.zeros((rows, sizes[0])), dt=period, name="inputs")
        self.teachers = TimedArray(np.zeros((rows, sizes[-1])), dt=period, name="teachers")
        self.rates = TimedArray(np.zeros(rows), dt=period, name="rates")  # η of the example just shown
        self.learning = TimedArray(np.zeros(rows), dt=period, name="learning")  # 1 where one was
        # online learning: η of the example being shown (see online.py)
        events = c.online or c.declares_events()
        self.online = TimedArray(np.zeros(rows), dt=period, name="online") if events else None
        teach = np.zeros(rows * steps)
        teach[c.forward_steps : (cap + 1) * steps : steps] = 1.0
        self.teach = TimedArray(teach, dt=c.dt, name="teach")
        self.tick = TimedArray(np.roll(teach, -c.forward_steps), dt=c.dt, name="tick")  # 1 at a period's start
        # a spiking circuit's draws per block: a seed for Brian2's random numbers, and (regular input) each
        # example's encoder phases, in the order the Python schedule draws them
        self.phases = TimedArray(np.zeros((rows, sizes[0])), dt=period, name="phases")
        self.names = {
            "inputs": self.inputs,
            "teachers": self.teachers,
            "rates": self.rates,
            "learning": self.learning,
            "teach": self.teach,
            "tick": self.tick,
            "phases": self.phases,
            **({"online": self.online} if events else {}),
            "t_block": 0 * second,
            "decay_per_lr": o.weight_decay / o.lr,
            "bias_scale": o.bias_scale(),
            **c.code_namespace(),
        }
        self.owners: list = []  # everything whose code reads t_block
        self.code: dict = {}  # every scheduled object's statements
        self.plastic: list = []  # the objects that change weights (a benchmark switches them off)
        self.changes: list[tuple[Synapses, str]] = []  # each synapse group's weight change, as code
        self.objects: list = []  # the presentation schedule's (see presenting), then the mirror segment's
        for group in c.teachable():
            self.teacher(group)
        self.learn()
        self.learn_links()
        for group in [c.groups[0], *c.driven()]:
            self.objects.append(self.schedule(group, c.rest_code(group), "rest", clock=self.clock, order=1))
        for group, code, name in c.step_code():
            self.objects.append(self.schedule(group, code, name, clock=c.clock, order=3))
        self.present()
        self.monitor = self.new_monitor() if self.project else None  # on runtime targets: one per block
        if self.monitor is not None:
            self.objects.append(self.monitor)
        self.presented = len(self.objects)
        self.mirror_segment = MirrorSegment(self) if e.rule.has_mirror_phase else None
        if self.mirror_segment is not None:
            self.objects.extend(self.mirror_segment.ops)
        self.span: tuple[float, int, int, bool] = (0.0, 1, 0, False)  # the run in progress (see recording)
        monitor = e.circuit.brian.monitor
        self.compiled_recording = None  # brian.monitor on cpp_standalone (see compiled_recording.py)
        self.test_steps = 0  # while a test recording runs: the steps it keeps
        if self.project and monitor.layers:
            groups = {g.name: g for g in map(c.population, monitor.layers)}
            longest = self.aligned((cap + 1) * steps)
            if self.mirror_segment is not None:
                longest = max(longest, self.aligned(self.mirror_segment.steps_long))
            steps_max = round(float(longest / c.dt))
            self.compiled_recording = CompiledRecording(self, groups, monitor.variables, steps_max)
            self.objects.extend(self.compiled_recording.objects)
        elif set(monitor.when) - {"test"}:
            self.objects.extend(self.recording())
        self.transfers = self.parameters()
        # standalone: what each run of the binary is told besides the data and weights: the seed of a
        # spiking circuit's random numbers (it seeds every generator), and whether it mirrors
        variables = ["seed : integer (shared)"] * bool(c.stochastic) + ["mode : integer (shared)"] * bool(
            self.mirror_segment
        )
        self.control = None
        if self.project and variables:
            self.control = NeuronGroup(1, "\n".join(variables), name="control")
            self.objects.append(self.control)
        self.built = False  # (the project is removed with the circuit: see activate)

    # --- building -------------------------------------------------------------------------------
    def schedule(self, owner, code: str, name: str, **when):
        """``owner.run_regularly(code)`` at the start of a step, with the schedule's names in its
        namespace; returns the operation."""
        owner.namespace.update(self.names)
        self.owners.append(owner)
        op = owner.run_regularly(code, when="start", name=f"{owner.name}_{name}", **when)
        self.code[op] = code
        return op

    def presenting(self) -> list:
        """The presentation schedule's objects (inactive while the circuit mirrors)."""
        return self.objects[: self.presented]

    def teacher(self, group: NeuronGroup) -> None:
        """The population's error from its drive and the teacher, forward_time into every period."""
        net = self.c.engine.circuit.network
        a = self.c.drive_code("")
        if self.c.online:  # its error units compare, every step; the read-out is taken at forward_time
            # after the example's rest (order 1): its first step compares from rest, not the last state shown
            self.objects.append(
                self.schedule(group, online.output_error(self.c), "error_units", clock=self.c.clock, order=2)
            )
            code = f"readout = readout + teach(t - t_block) * ({a} - readout)"
            self.objects.append(self.schedule(group, code, "teach", clock=self.c.clock, order=2))
            return
        if net.output == "softmax":  # Σ exp(a) over the population, summed after its own update
            model = f"Z_post = exp({self.c.drive_code('_pre')}) : 1 (summed)"
            total = Synapses(group, group, model, clock=self.c.clock, name=f"{group.name}_sum")
            total.namespace.update(self.names)
            total.connect()
            total.summed_updaters["Z_post"].order = group.order + 1  # Brian2's default: before the update
            self.objects.append(total)
        code = f"delta = delta + teach(t - t_block) * ({output_error(net, a, 'teachers(t - t_block, i)')} - delta)"
        if "readout" in group.variables:  # the drive the error came from, for the trainer's scores
            code += f"\nreadout = readout + teach(t - t_block) * ({a} - readout)"
        self.objects.append(self.schedule(group, code, "teach", clock=self.c.clock, order=2))

    def learn(self) -> None:
        """Every plastic synapse group's and bias's change, at the start of every period (order 0), from
        each layer's error stored just before (order −1) in ``grad``."""
        c, e = self.c, self.c.engine
        if c.online:
            self.learn_online()
            return
        mu = e.circuit.optimizer.momentum
        step = "rates(t - t_block)"
        for group in c.groups[1:]:
            code = f"grad = {c.error_code(group, '')}"
            self.objects.append(self.schedule(group, code, "error", clock=self.clock, order=-1))

        def error(group, suffix: str) -> str:
            return f"grad{suffix}" if "grad" in group.variables else c.error_code(group, suffix)

        for l, syn in enumerate(c.forward):
            syn.namespace.update(self.names)
            pathway = e.forward_structure.pathway(l)
            if c.learns_on_events(l):  # the built-in, on its source's learn events (built with the pathway)
                self.changes.append((syn, forward_update(c, l)))
                self.owners.append(syn)
                self.on_events(syn, "learn", order=-1)
                self.plastic.append(self.objects[-1])
            else:  # the pathway's own declared plasticity, or the built-in as the same kind of declaration
                code = pathway.plasticity or declared.builtin_forward(e.circuit.optimizer)
                self.install(syn, code, pathway.sign, feedback=False)
            b = sgd("grad", f"bias_scale * {step}", "0", mu, "b", "vb", "")
            self.objects.append(self.schedule(c.groups[l + 1], b, "learn", clock=self.clock, order=0))
            self.plastic.append(self.objects[-1])
        rule = e.rule.code_plasticity()
        if not e.rule.transports_weights:  # the rule's plasticity, or the pathway's own, as declared code
            decay = bool(e.circuit.optimizer.weight_decay)
            for l, syn in enumerate(c.feedback):
                pathway = e.structure.pathway(l)
                code = pathway.plasticity
                if code is None and rule is not None:
                    code = declared.builtin_feedback(rule, mu, decay, e.rule.code_feedback())
                if syn is not None and code is not None:
                    syn.namespace.update(self.names)
                    self.install(syn, code, pathway.sign, feedback=True)
            return
        if rule is None:
            return
        quantity = {"rate": c.rate_code, "error": error}
        made = e.rule.code_feedback()  # B made from its copy of Wᵀ (sign symmetry)
        for l, syn in enumerate(c.feedback):
            if syn is None:
                continue
            # a rule that copies W's update onto B (weight transport) takes the error W's update takes
            g = f"({quantity[rule.pre](syn.source, '_pre')}) * ({quantity[rule.post](syn.target, '_post')})"
            lr = step if rule.lr is None else f"{rule.lr!r} * learning(t - t_block)"
            if rule.decay is None:
                decay = f"decay_per_lr * {step}" if e.circuit.optimizer.weight_decay else "0"
            else:
                decay = f"{rule.decay!r} * learning(t - t_block)" if rule.decay else "0"
            # B's copy of Wᵀ takes W's update, W's sign constraint too
            copy, sign = ("wt" if made else "w"), e.forward_structure.pathway(l).sign
            code = sgd(g, lr, decay, mu if rule.momentum else 0.0, copy, "vw", sign)
            if made:
                code += f"\nw = {made}"
            self.objects.append(self.schedule(syn, code, "learn", clock=self.clock, order=0))
            self.plastic.append(self.objects[-1])

    def install(self, syn: Synapses, code, sign: str, feedback: bool) -> None:
        """A pathway's declared plasticity (:mod:`~spikefa.brian.declared`): its ``each_example`` and the
        reset of its own variables at every period's start (order 0), checked by Brian2 with the event
        statements the pathway was built with; every statement joins :attr:`changes` (the locality
        contract's)."""
        where = declared.field(syn.name)
        syn.namespace.update(declared.constants(code, where))
        for pathway in syn._pathways:
            if pathway.objname.startswith("declared"):
                declared.check(syn, pathway.code, f"{where}.{'on_post' if pathway.prepost == 'post' else 'on_pre'}")
                self.changes.append((syn, pathway.code))
                self.owners.append(syn)
        text = declared.statements(self.c, syn, code.each_example, "each_example", feedback, sign)
        text = "\n".join(part for part in (text, declared.reset(code)) if part)
        if not text:
            return
        declared.check(syn, text, f"{where}.each_example")
        self.changes.append((syn, text))
        self.objects.append(self.schedule(syn, text, "learn", clock=self.clock, order=0))
        self.plastic.append(self.objects[-1])

    def learn_online(self) -> None:
        """Every weight change on events (:mod:`~spikefa.brian.online`): forward synapses on their
        source's spikes and feedback synapses on the error events they carry, both part of their
        pathways' own code; biases every step; decay once per example."""
        c, e = self.c, self.c.engine
        learns_b = e.rule.code_plasticity() is not None
        for l, syn in enumerate(c.forward):
            pathway = e.forward_structure.pathway(l)
            if pathway.plasticity is not None:
                syn.namespace.update(self.names)
                self.install(syn, pathway.plasticity, pathway.sign, feedback=False)
            else:
                self.changes.append((syn, syn.learn.code))
                self.objects.append(syn.learn)  # (inactive while the circuit mirrors)
                self.code[syn.learn] = syn.learn.code
                self.plastic.append(syn.learn)
            group = c.groups[l + 1]
            # after the example's rest and its error units (order 2; by name, error_units first)
            self.objects.append(self.schedule(group, online.bias_change(c, group), "learn", clock=c.clock, order=2))
            self.plastic.append(self.objects[-1])
        for l, syn in enumerate(c.feedback):
            code = None if syn is None else e.structure.pathway(l).plasticity
            if code is not None:
                syn.namespace.update(self.names)
                self.install(syn, code, e.structure.pathway(l).sign, feedback=True)
        feedback = [syn for syn in c.feedback if syn is not None]
        for syn in [*c.forward, *feedback]:
            if c.declared(syn.name) is not None:  # its own code says all its change
                continue
            self.owners.append(syn)
            syn.namespace.update(self.names)
            is_feedback = syn in feedback
            if is_feedback and learns_b:  # B's change, on the events it carries and its target's spikes
                self.changes += [(syn, p.code) for p in syn._pathways if p.objname in ("pos", "neg", "learn_back")]
            decay = online.decay(c, is_feedback)
            if decay is not None:
                self.objects.append(self.schedule(syn, decay, "decay", clock=self.clock, order=0))
                self.plastic.append(self.objects[-1])

    def learn_links(self) -> None:
        """The circuit file's own pathways' (brian.pathways) declared plasticity, installed as W's and B's."""
        for k in self.c.engine.circuit.brian.pathways:
            if k.structure.plasticity is not None:
                syn = self.c.links[k.name]
                syn.namespace.update(self.names)
                self.install(syn, k.structure.plasticity, k.structure.sign, feedback=k.into == "error")

    def present(self) -> None:
        """A pathway that adds into its target on its source's ``present`` events (a rate circuit's input),
        right after the source took its example."""
        if "present" in self.c.groups[0].events:
            self.on_events(self.c.forward[0], "present", order=2)

    def on_events(self, syn: Synapses, event: str, order: int) -> None:
        """Synapses ``syn``'s pathway on its source's custom ``event``: the events checked at the start of
        a step (``order``), the pathway right after them."""
        events = syn.source.thresholder[event]
        pathway = getattr(syn, event)  # Brian2 names a pathway's object after its on_pre key
        events.when, events.order = "start", order
        pathway.when, pathway.order = "start", order + 1
        self.code[events] = syn.source.events[event]
        self.code[pathway] = pathway.code
        self.objects += [events, pathway]

    def recording(self) -> list[NetworkOperation]:
        """``brian.monitor``'s learning and mirror windows: the circuit's recorder (attached by the trainer
        while a block or mirror phase runs; see :mod:`~spikefa.brian.recording`) fed at every step as
        the Python schedule feeds it — the spikes of the step just ended before the schedule's
        operations, the step's state after them — with the example (or noise sample) the step belongs
        to: ``span`` = (start, steps per example or sample, how many were shown, whether they were
        noise samples, of which the first is rest). Steps past the last one shown belong to none."""
        c, dt = self.c, float(self.c.dt)

        def spikes() -> None:
            if c.recorder is not None:
                c.recorder.spikes()

        def sample() -> None:
            if c.recorder is None:
                return
            start, per, shown, mirror = self.span
            step = round((float(c.network.t) - start) / dt)
            index = step // per - mirror
            c.recorder.sample(index if index < shown else -1, (step % per) * dt, per * dt)

        return [
            NetworkOperation(spikes, clock=c.clock, when="start", order=-10),
            NetworkOperation(sample, clock=c.clock, when="start", order=10),
        ]

    def record(self, x: np.ndarray, y: np.ndarray, layers: tuple, variables: tuple) -> dict:
        """The circuit's :meth:`~spikefa.brian.circuit.Circuit.monitoring` of a block showing x, y
        without learning (the Python schedule's ``record``, its spikes and numbers), cut to the
        examples' own steps."""
        if len(x) > self.capacity:
            raise SpikefaError(
                f"brian.monitor.examples: {len(x)} is more than one block of generated code "
                f"(optimizer.batch_size {self.capacity})"
            )
        steps, dt = len(x) * self.c.example_steps(), float(self.c.dt)
        if self.compiled_recording is not None:  # the project's own monitors (brian.monitor's populations)
            self.test_steps = steps
            try:
                self.run(x, y, 0.0, np.random.default_rng(0), learn=False)
            finally:
                self.test_steps = 0
            return self.compiled_recording.test(steps)
        with self.c.monitoring(layers, variables) as out:
            self.run(x, y, 0.0, np.random.default_rng(0), learn=False)
        for key, value in out.items():
            if key.endswith("_t") and key != "t":  # events: those in the examples' steps
                kept = np.round(value / dt) < steps
                out[key], out[key[:-2] + "_i"] = value[kept], out[key[:-2] + "_i"][kept]
            elif key == "t" or key.endswith("_rate"):
                out[key] = value[:steps]
            elif value.ndim == 2:
                out[key] = value[:, :steps]
        return out

    def parameters(self) -> list[tuple]:
        """(Brian2 owner, variable, the engine's array, synapse order, whether it learns) of everything
        set from the engine: W, b, B, the local classifiers' readouts (B_lᵀ) and the momentum buffers.
        The arrays are looked up when used: the circuit rebinds the engine's lists to views."""
        c, e = self.c, self.c.engine
        p = e.params
        mu = e.circuit.optimizer.momentum > 0
        plastic = e.rule.code_plasticity() is not None
        transported = e.rule.transports_weights  # B set from W (backprop): in with each block, never out
        out = []
        for l, syn in enumerate(c.forward):
            order = c.synapse_order(f"W{l}", e.forward_structure.connections(l))
            out.append((syn, "w", lambda l=l: p.W[l], order, True))
            out.append((c.groups[l + 1], "b", lambda l=l: p.b[l], None, True))
            if mu:
                out.append((syn, "vw", lambda l=l: p.vW[l], order, True))
                out.append((c.groups[l + 1], "vb", lambda l=l: p.vb[l], None, True))
        for l, syn in enumerate(c.feedback):
            if syn is not None:
                order = c.synapse_order(f"B{l}", e.structure.connections(l))
                if transported:  # B's copy of Wᵀ (B itself for backprop), and what B is made from it with
                    made = e.rule.code_feedback() is not None
                    out.append((syn, "wt" if made else "w", lambda l=l: p.W[l].T, order, False))
                    if made:
                        out.append((syn, "b0", lambda l=l: p.B0[l], order, False))
                        out.append((syn, "w", lambda l=l: p.B[l], order, True))
                    if mu:
                        out.append((syn, "vw", lambda l=l: p.vW[l].T, order, False))
                    continue
                learns = plastic or e.rule.has_mirror_phase or c.declared(syn.name) is not None
                out.append((syn, "w", lambda l=l: p.B[l], order, learns))
                if mu and plastic:
                    out.append((syn, "vw", lambda l=l: p.vB[l], order, True))
        for l, syn in c.readouts.items():
            out.append((syn, "w", lambda l=l: p.B[l].T, None, False))
        for name, syn in c.links.items():  # the circuit file's own pathways (brian.pathways)
            mask = e.link_masks[name]
            order = None if mask is None else c.synapse_order(name, np.nonzero(mask))
            out.append((syn, "w", lambda name=name: p.links[name], order, c.declared(name) is not None))
        for l, off in getattr(c, "off", {}).items():  # a spiking B's OFF channel: −B (see LifCircuit)
            out.append((off, "w", lambda l=l: -p.B[l], c.synapse_order(f"B{l}", e.structure.connections(l)), False))
        return out

    def new_monitor(self) -> StateMonitor:
        """The output's drive at every period's start (before that tick's learning and rest)."""
        return StateMonitor(self.c.groups[-1], self.c.readout, record=True, clock=self.clock, when="start", order=-2)

    # --- running --------------------------------------------------------------------------------
    def run(
        self, x: np.ndarray, y: np.ndarray | None, lr: float, rng: np.random.Generator | None, learn: bool = True
    ) -> np.ndarray:
        """Present the examples (rows of x, y) in one block, learning from each at rate ``lr`` if
        ``learn``; returns each one's output drive (examples × outputs), before its weight change.
        A spiking circuit draws its seed and encoder phases from ``rng``."""
        n, cap = len(x), self.capacity
        if n > cap:
            raise SpikefaError(f"a block of {n} examples is more than the circuit's optimizer.batch_size ({cap})")
        X, Y, P = (np.zeros(a.values.shape) for a in (self.inputs, self.teachers, self.phases))
        X[:n] = x
        if y is not None:
            Y[:n] = y
        on = np.zeros(cap + 2)
        on[1 : n + 1] = 1.0 if learn else 0.0
        values = {self.inputs: X, self.teachers: Y, self.rates: lr * on, self.learning: on, self.phases: P}
        if self.online is not None:  # η of the example being shown
            values[self.online] = lr * np.roll(on, -1)
        seed = None
        if self.c.stochastic:
            seed = int(rng.integers(2**31))
            if self.c.lif.input == "regular":
                P[:n] = rng.random((n, X.shape[1]))
        monitor = self.monitor if self.project else self.new_monitor()  # runtime: one per block
        steps = self.c.example_steps()
        self.execute(values, seed, self.aligned((n + 1) * steps), monitor, learn, (steps, n))
        return np.asarray(getattr(monitor, self.c.readout))[:, 1 : n + 1].T

    def read_out(self, x: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        """The output drives for x, nothing learned, in blocks of the built size."""
        n = self.capacity
        return np.vstack([self.run(x[k : k + n], None, 0.0, rng, learn=False) for k in range(0, len(x), n)])

    def mirror(self, steps: int, rng: np.random.Generator) -> None:
        """``steps`` weight-mirror steps (see :mod:`~spikefa.brian.generated_mirror`), in segments of the
        built size; a spiking circuit seeds each segment's noise from ``rng``."""
        s, rec = self.mirror_segment, self.c.recorder
        start = rec.offset if rec is not None else 0
        for done in range(0, steps, s.steps):
            if rec is not None:  # the run's index of this segment's first sample
                rec.offset = start + done * s.bs
            n = min(s.steps, steps - done)
            values = s.values(n, rng)
            # no example is learned in a segment: synapses whose code runs on events (the mirror does not
            # switch them off) read η 0 (compiled, the project's own zeros: no code of the segment reads it)
            for rate in (self.rates, self.learning, self.online):
                if rate is not None:
                    values[rate] = np.zeros(rate.values.shape)
            seed = int(rng.integers(2**31)) if self.c.stochastic else None
            shown = (self.c.mirror_sample_steps(), n * s.bs)
            self.execute(values, seed, self.aligned(s.steps_long), None, False, shown)
        if rec is not None:
            rec.offset = start

    def aligned(self, steps: int):
        """A duration of at least ``steps`` that ends where both the example clock and the mirror
        segment's clock tick (on runtime targets the next block starts there: its t_block)."""
        s = self.mirror_segment
        unit = self.c.example_steps() if s is None else math.lcm(self.c.example_steps(), self.c.mirror_sample_steps())
        return -(-steps // unit) * unit * self.c.dt

    def execute(
        self, values: dict, seed: int | None, duration, monitor: StateMonitor | None, learn: bool, shown: tuple
    ) -> None:
        """One block (``monitor`` given: runtime, this block's; standalone, the project's; ``learn``:
        whether it learns) or one mirror segment: the ``TimedArray`` values, the seed and the engine's
        parameters in, the learned ones out. ``shown``: (steps per example or noise sample, how many)."""
        mirror = monitor is None
        net = self.c.network
        if self.project is None:
            for timed, v in values.items():
                timed.values[...] = v
            for owner in self.owners:
                owner.namespace["t_block"] = net.t
            self.span = (float(net.t), *shown, mirror)
            if seed is not None:
                brian_seed(seed)
            self.push()
            with self.mirror_segment.switched() if mirror else self.monitored(monitor):
                self.c.simulate(duration, "mirror" if mirror else "learning" if learn else "test")
            self.pull()
            return
        if not self.built:
            self.build()
        # a TimedArray that no code of the run reads is not the run's (or not in the project)
        code = "\n".join(self.code[o] for o in self.compiled[mirror] if o in self.code)
        args = {k: v for k, v in values.items() if re.search(rf"\b{k.name}\(", code)} | self.push()
        if seed is not None:
            args[self.control.seed] = seed
        if self.mirror_segment is not None:
            args[self.control.mode] = int(mirror)
        recording, rec = self.compiled_recording, self.c.recorder
        if recording is not None:  # which steps its monitors keep
            if self.test_steps:
                args[recording.flags] = recording.everything(self.test_steps)
            elif rec is not None:
                args[recording.flags] = recording.windows(rec, shown, mirror)
            else:
                args[recording.flags] = np.zeros(recording.flags.values.shape)
        device.run(run_args=args, with_output=False)
        if recording is not None and rec is not None and not self.test_steps:
            recording.collect(rec, shown, mirror)
        for name in device.run_args_arrays:  # this run's inputs (and Brian2's locks on them), not needed again
            for path in (name, f"{name}.lock"):
                (self.project / "static_arrays" / path).unlink(missing_ok=True)
        self.pull()

    @contextmanager
    def monitored(self, monitor: StateMonitor):
        """The network with a block's monitor in it while the block runs."""
        self.c.network.add(monitor)
        try:
            yield
        finally:
            self.c.network.remove(monitor)

    def build(self) -> None:
        """Compile the standalone project: the run_args are applied first, then (spiking circuits) every
        random generator is seeded from the run's seed; then a block of the full capacity, or (a rule
        with mirror phases, ``mode`` 1) a mirror segment instead."""
        device.apply_run_args()
        if self.c.stochastic:
            array = device.get_array_name(self.control.variables["seed"])
            device.insert_code(
                "main",
                "for (int _i = 0; _i < (int)brian::_random_generators.size(); _i++)\n"
                f"    brian::_random_generators[_i].seed((unsigned long){array}[0] + _i);",
            )
        s = self.mirror_segment
        if s is not None:
            device.insert_code("main", f"if ({device.get_array_name(self.control.variables['mode'])}[0] == 0) {{")
        self.compiled = {False: [o for o in self.presenting() if o.active]}  # what each run holds
        self.c.network.run((self.capacity + 1) * self.period, namespace={})
        if s is not None:
            device.insert_code("main", "} else {")
            # a run of the binary is a block or a segment, either from t = 0 (the compiled network's own
            # time): Brian2 sets every clock to the Python network's time first, as Network.restore does
            self.c.network.t_ = 0.0
            with s.switched():
                self.compiled[True] = s.ops
                self.c.network.run(self.aligned(s.steps_long), namespace={})
            device.insert_code("main", "}")
        device.build(directory=str(self.project), compile=False, run=False, with_output=False)
        compiled_cache.compile_project(self.project)
        self.built = True

    def push(self) -> dict:
        """The engine's parameters into Brian2: copied into its arrays (runtime, where they are not
        already views of them), or returned as run_args (standalone)."""
        args = {}
        for owner, var, get, order, _ in self.transfers:
            M = get()
            if self.project is None:
                arr = owner.variables[var].get_value()
                if not np.shares_memory(arr, M):
                    arr[:] = flat(M, order)
            else:
                args[getattr(owner, var)] = flat(M, order)
        if self.project is None:  # online KP's event traces start every block at 0, as a compiled run's
            for syn in self.c.feedback:  # do (and a resumed run's): the blocks are the same on every target
                if syn is not None and "q" in syn.variables:
                    syn.variables["q"].get_value()[:] = 0.0
        return args

    def pull(self) -> None:
        """Brian2's learned parameters back into the engine's arrays."""
        for owner, var, get, order, learns in self.transfers:
            if not learns:
                continue
            M = get()
            arr = owner.variables[var].get_value() if self.project is None else np.asarray(getattr(owner, var)[:])
            if not np.shares_memory(arr, M):
                unflat(M, arr, order)


def forward_update(c, l: int) -> str:
    """Forward pathway l's built-in change (:func:`~spikefa.brian.declared.builtin_forward`) as the
    statements it runs: on the input's learn events, which come before its synapses exist."""
    view = SimpleNamespace(source=c.groups[l], target=c.groups[l + 1], variables={"w", "vw"})
    code = declared.builtin_forward(c.engine.circuit.optimizer)
    return declared.statements(
        c, view, code.each_example, "each_example", False, c.engine.forward_structure.pathway(l).sign
    )
