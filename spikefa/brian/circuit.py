"""What every Brian2 circuit shares: populations and pathways laid out as the rule's topology says,
the reference engine's parameters rebound to live views of the synapse and bias arrays (so the shared
kernels change Brian2's own arrays in place), and the choice of circuit from the circuit file.

A subclass says how a population, a forward and a feedback pathway are made, and how examples are
presented (:class:`~spikefa.brian.rate.RateCircuit`, :class:`~spikefa.brian.lif.LifCircuit`).

Ctrl-C: importing Brian2 puts its own SIGINT handler in place, which turns a Ctrl-C during
``Network.run`` into a quiet early end of the run (and calls whatever handler it replaced otherwise,
even ``SIG_IGN``, which is not callable). :func:`release_sigint` (called when :mod:`spikefa.brian` is
imported) gives SIGINT back to Python, so that a Ctrl-C anywhere raises ``KeyboardInterrupt`` as with
the reference engine; :meth:`Circuit.simulate` turns a run that ended early all the same into one.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from brian2 import (
    Clock,
    EventMonitor,
    Network,
    NeuronGroup,
    SpikeMonitor,
    StateMonitor,
    Synapses,
    prefs,
    second,
)
from brian2.core.variables import ArrayVariable

from .. import spec
from ..errors import SpikefaError
from ..reference import ReferenceEngine
from ..schema import BRIAN_TARGETS
from ..spec import seconds
from . import declared
from .compiler import apply_opt_level, require_compiler
from .generated import STANDALONE, activate
from .pathways import kept, matrix_view

# what a stretch of simulated time was: examples learned from, examples shown for a read-out (test
# outputs, recordings), a weight-mirror phase's noise
KINDS = ("learning", "test", "mirror")


class Circuit:
    """Brian2 populations and pathways for ``engine``'s network; ``engine.params`` is rebound to views
    of the synapse and bias arrays, so ``engine.learn`` changes the circuit's synapses directly."""

    def __init__(self, engine: ReferenceEngine, target: str | None = None):
        b = engine.circuit.brian
        target = target or b.target
        if target not in BRIAN_TARGETS:
            raise SpikefaError(f"brian target: unknown value {target!r}; allowed: {', '.join(BRIAN_TARGETS)}")
        if target != "numpy":
            require_compiler(target)
            apply_opt_level()
        # the schedule and plasticity as Brian2 code (generated.py), or Python and kernels between steps
        self.code = b.plasticity == "code"
        if target == STANDALONE and not self.code:
            raise SpikefaError("brian.target: cpp_standalone runs no Python between steps: it needs plasticity: code")
        # a standalone project's directory, removed with the circuit; None on runtime targets
        self.project = activate(target, self)
        if self.project is None:
            prefs.codegen.target = target
        self.engine, self.L, self.dt = engine, engine.L, seconds(b.dt) * second
        # One clock for every object: Brian2 runs a network on a single clock several times faster
        # than one whose objects each have a clock of their own (even with equal dt). Named, as every
        # object here is: the code reads it by name, and Brian2's default (clock, clock_1, ...) counts the
        # clocks alive in the process, so a second circuit would compile its own copy of every module.
        self.clock = Clock(self.dt, name="clock")
        # schedule of one example, in steps: forward pathway on its own, then errors flowing back too
        self.forward_steps = round(seconds(b.forward_time) / seconds(b.dt))
        self.error_steps = round(seconds(b.error_time) / seconds(b.dt))
        # generated code: the clock of one example period (the schedule's ticks)
        self.example_clock = Clock(self.example_steps() * self.dt, name="example_clock") if self.code else None
        self._mirror: dict | None = None  # a mirror phase's state while it runs (see mirror_mode)
        self.recorder = None  # a recording.Recorder the schedule feeds, while one is attached
        # what the network did when: (start, stop, kind) in seconds of its own time, one entry per
        # stretch of one kind (KINDS), so that a monitor of the user's can be read by phase
        self.timeline: list[tuple[float, float, str]] = []
        self.groups = self.populations()
        # populations that are not layers (brian.extra), e.g. a relay of error neurons
        self.extras = {e.name: self.extra_population(e) for e in engine.circuit.brian.extra}
        fs = engine.forward_structure
        self.forward = [
            self.built(
                f"W{l}",
                lambda l=l: self.forward_pathway(
                    self.groups[l], self.groups[l + 1], f"W{l}", fs.connections(l), fs.pathway(l).delay
                ),
            )
            for l in range(self.L)
        ]
        # Local errors (Mostafa et al. 2018): hidden layer l drives its own classifier population through
        # fixed synapses B_lᵀ, and the classifier's error returns through fixed synapses B_l: two
        # synapse groups drawn alike, neither of which ever changes.
        self.classifiers, self.readouts = {}, {}
        if engine.rule.topology == "local":
            for l in range(1, self.L):
                self.classifiers[l] = self.classifier_population(l)
                self.readouts[l] = self.forward_pathway(self.groups[l], self.classifiers[l], f"C{l}")
        natural = {
            "layerwise": lambda l: self.groups[l + 1],
            "direct": lambda l: self.groups[self.L],
            "local": lambda l: self.classifiers[l],
            "none": lambda l: None,  # shallow learning: no feedback pathway at all
        }[engine.rule.topology]

        def source(l: int):  # a population the pathway carries the error of (feedback.N.source), or the rule's
            return self.population(engine.relayed[l]) if l in engine.relayed else natural(l)

        self.feedback = [None] + [
            self.built(f"B{l}", lambda l=l: self.feedback_pathway(source(l), self.groups[l], f"B{l}", l))
            if source(l)
            else None
            for l in range(1, self.L)
        ]
        # the circuit file's own pathways between any populations (brian.pathways): weights drawn by the
        # engine, gathered into the synapses after every change (a user's rule may change them)
        self.links = {}
        for k in engine.circuit.brian.pathways:
            pre, post = self.population(k.source), self.population(k.target)
            mask = engine.link_masks[k.name]
            self.links[k.name] = self.link(pre, post, k, None if mask is None else np.nonzero(mask))
        if self.project is None:
            self.bind()
        else:  # the engine's arrays stay its own: they travel as run_args (generated.py)
            self.B, self.sparse = list(engine.params.B), {}

    def bind(self) -> None:
        """Copy the engine's parameters in, then make the engine's arrays views of Brian2's."""
        engine, fs = self.engine, self.engine.forward_structure
        p = engine.params
        for l, syn in self.readouts.items():
            matrix_view(syn)[...] = p.B[l].T
        # A sparse pathway's weights stay the engine's matrix (zeros where no synapse is); its synapses'
        # w are gathered from it after every change (sync_weights). An all-to-all one's is a view of w.
        self.sparse: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {
            name: gather(syn) for name, syn in self.links.items()
        }
        for l, syn in enumerate(self.forward):
            if fs.connections(l) is None:
                view = matrix_view(syn)
                view[...] = p.W[l]
                p.W[l], p.vW[l] = view, same_order(p.vW[l], view)
            else:
                self.sparse[f"W{l}"] = gather(syn)
            bias = self.groups[l + 1].variables["b"].get_value()
            bias[...] = p.b[l]
            p.b[l] = bias
        self.B = [None] * self.L
        for l, syn in enumerate(self.feedback):
            if syn is None:
                continue
            if engine.structure.connections(l) is None:
                self.B[l] = matrix_view(syn)
                if p.B[l] is not None:
                    self.B[l][...] = p.B[l]
                    p.B[l] = self.B[l]
                    if p.vB[l] is not None:
                        p.vB[l] = same_order(p.vB[l], self.B[l])
            else:
                self.sparse[f"B{l}"] = gather(syn)
                self.B[l] = p.B[l]
        self.sync_weights()

    def neuron_variables(self, name: str) -> str:
        """The state variables population ``name`` needs beyond its model for generated code: a layer's
        error as its synapses read it (``grad``, stored once per example: a subexpression would be
        evaluated once per synapse) and its bias momentum buffer, a teachable population's softmax
        denominator."""
        if not self.code or name == "layer0":
            return ""
        net, o = self.engine.circuit.network, self.engine.circuit.optimizer
        teachable = name == f"layer{self.L}" or name.startswith("classifier")
        if name.startswith("layer"):  # its error, stored once per example for the synapses to read
            out = "grad : 1\n" + ("vb : 1\n" if o.momentum > 0 else "")
        else:
            out = ""
        return out + ("Z : 1\n" if teachable and net.output == "softmax" else "")

    def step_code(self) -> list[tuple[NeuronGroup, str, str]]:
        """(population, statements, name) that generated code runs at every step's start while examples
        are shown, after their rest and teacher (none here)."""
        return []

    def synapse_variables(self, feedback: bool = False, name: str | None = None) -> str:
        """The synapse variables a pathway needs beyond ``w`` for generated code: a momentum buffer, and
        on feedback synapses of a rule that makes B from W's copy, that copy and B₀ (``wt``, ``b0``), of
        a rule with mirror phases whose B learns from samples, the mirror's sum of x · y (``mxy``); and
        pathway ``name``'s declared variables."""
        if not self.code:
            return ""
        rule = self.engine.rule
        variables = "vw : 1\n" if self.engine.circuit.optimizer.momentum > 0 else ""
        if name is not None and (code := self.declared(name)) is not None:
            variables += declared.model_lines(code)
        if feedback and rule.code_feedback():
            variables += "wt : 1\nb0 : 1\n"
        if feedback and rule.has_mirror_phase and not self.mirror_spiking:
            variables += "mxy : 1\n"
        return variables

    def synapse_order(self, name: str, connections) -> tuple[np.ndarray, np.ndarray] | None:
        """Where pathway ``name``'s synapses sit in its weight matrix: None (all to all, presynaptic-major)
        or (rows, cols) per synapse — read from Brian2 on runtime targets, as connected on standalone."""
        if connections is None:
            return None
        if name in self.sparse:
            _, rows, cols = self.sparse[name]
            return rows, cols
        return connections

    def learns_on_events(self, l: int) -> bool:
        """Whether forward pathway l learns on its source's ``learn`` events (generated code): the input
        pathway, where only inputs with a nonzero rate change their synapses — exact without momentum
        and weight decay (which change every synapse), and most of MNIST's pixels are dark."""
        o = self.engine.circuit.optimizer
        declared = self.engine.forward_structure.pathway(l).plasticity is not None
        return self.code and l == 0 and o.momentum == 0 and o.weight_decay == 0 and not declared

    def built(self, name: str, make):
        """``make()``, pathway ``name``'s Synapses; Brian2's refusal of its declared plasticity as one line."""
        with declared.building(self, name):
            return make()

    def pathway(self, name: str) -> spec.Pathway | None:
        """Pathway ``name``'s structure: ``W{l}``, ``B{l}`` or one of the circuit file's own (brian.pathways)."""
        links = {k.name: k.structure for k in self.engine.circuit.brian.pathways}
        if name in links:
            return links[name]
        kind, l = name[0], name[1:]
        if not l.isdigit() or kind not in "WB":
            return None
        structure = self.engine.forward_structure if kind == "W" else self.engine.structure
        return structure.pathway(int(l))

    def declared(self, name: str):
        """Pathway ``name``'s (``W{l}``, ``B{l}``, a brian.pathways one) declared plasticity, a
        :class:`~spikefa.spec.SynapseCode` (:mod:`~spikefa.brian.declared`), or None."""
        pathway = self.pathway(name)
        return None if pathway is None else pathway.plasticity

    def declares_events(self) -> bool:
        """Whether any pathway's declared plasticity runs on spike events (on_pre, on_post)."""
        names = [f"W{l}" for l in range(self.L)] + [f"B{l}" for l in range(1, self.L)]
        names += [k.name for k in self.engine.circuit.brian.pathways]
        return any((code := self.declared(n)) and (code.on_pre.strip() or code.on_post.strip()) for n in names)

    def input_events(self) -> dict | None:
        """The input population's custom events: ``learn`` at the first step of every example period
        that learns, for each input whose rate trace is not zero."""
        if not self.learns_on_events(0):
            return None
        return {"learn": "r != 0 and tick(t - t_block) * learning(t - t_block) > 0"}

    def example_steps(self) -> int:
        """Time steps per example: forward_time, then error_time."""
        return self.forward_steps + self.error_steps

    # --- what a subclass provides ---------------------------------------------------------------
    def populations(self) -> list[NeuronGroup]:
        raise NotImplementedError

    online = False  # whether synapses learn on spike events (brian.learning: online; spiking circuits)

    # the weight mirror's segment in generated code (generated_mirror.py): what a noise sample is
    mirror_spiking = False  # whether B learns on spikes (its pathway's own code) rather than from samples

    def mirror_sample_steps(self) -> int:
        """Time steps per noise sample."""
        raise NotImplementedError

    def sent_code(self, group: NeuronGroup, suffix: str) -> str:
        """A population's error as the synapses it leaves through see it, as a Brian2 expression (a
        spiking circuit's: its error events' count; here: its error)."""
        return self.error_code(group, suffix)

    def mirror_least_steps(self) -> int:
        """The fewest mirror steps a segment may have."""
        return 1

    def mirror_x(self, suffix: str) -> str:
        """A noise neuron's x in the sample just ended, as a Brian2 expression."""
        raise NotImplementedError

    def mirror_y(self, suffix: str) -> str:
        """An answering neuron's y in the sample just ended, as a Brian2 expression."""
        raise NotImplementedError

    def mirror_start_code(self, group: NeuronGroup) -> str:
        """A noise sample's start in the population (its first, ``mirror_first``, may do more)."""
        raise NotImplementedError

    def mirror_drawn_layers(self) -> list[int]:
        """The layers whose noise is drawn by the trainer's generator (a ``TimedArray`` each)."""
        return []

    def mirror_namespace(self) -> dict:
        """Constants the mirror code reads."""
        return {}

    def classifier_population(self, l: int) -> NeuronGroup:
        """Layer l's local classifier: a population like the output layer's, without a bias."""
        raise NotImplementedError

    def forward_pathway(
        self, pre: NeuronGroup, post: NeuronGroup, name: str, connections=None, delay: str = "0 ms"
    ) -> Synapses:
        """A forward pathway (W_l, or a local classifier's readout), with the synapses and delay given."""
        raise NotImplementedError

    def feedback_pathway(self, source: NeuronGroup, target: NeuronGroup, name: str, l: int) -> Synapses:
        """The feedback pathway into hidden layer l, with the synapses and delay its structure gives."""
        raise NotImplementedError

    def extra_population(self, extra: spec.Extra) -> NeuronGroup:
        """A population that is not a layer."""
        raise NotImplementedError

    def link(self, pre: NeuronGroup, post: NeuronGroup, link: spec.Link, connections) -> Synapses:
        """A fixed pathway between any two populations, ``into`` the target's drive or error compartment."""
        raise NotImplementedError

    def population(self, name: int | str) -> NeuronGroup:
        """A population by layer number or name: ``layer{l}``, ``classifier{l}``, an extra population's."""
        if isinstance(name, int):
            return self.groups[name]
        if name in self.extras:
            return self.extras[name]
        if name.startswith("classifier"):
            return self.classifiers[int(name.removeprefix("classifier"))]
        return self.groups[int(name.removeprefix("layer"))]

    # --- shared ---------------------------------------------------------------------------------
    def simulate(self, duration, kind: str) -> None:
        """``self.network.run(duration)``, the one way a circuit runs, entered in :attr:`timeline` as
        ``kind`` (one of :data:`KINDS`). A run that ends before its time can only have been stopped by
        Brian2's Ctrl-C handling (see :func:`release_sigint`): it raises ``KeyboardInterrupt``, as a
        Ctrl-C anywhere else does, instead of leaving the schedule half done."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        start = float(self.network.t)
        self.network.run(duration, namespace={})
        stop = float(self.network.t)
        last = self.timeline[-1] if self.timeline else None
        if last is not None and last[2] == kind and abs(last[1] - start) < 0.5 * float(self.dt):
            self.timeline[-1] = (last[0], stop, kind)
        else:
            self.timeline.append((start, stop, kind))
        if Network._globally_stopped or stop < start + float(duration) - 0.5 * float(self.dt):
            raise KeyboardInterrupt

    def nonfinite(self, most: int = 3) -> list[str]:
        """The neuron state variables that hold NaN or ±inf now, as ``POPULATION.VARIABLE`` (the first
        ``most`` found): a diverged membrane, whose population otherwise just goes quiet. Every
        population's writable floating-point variables are checked (v, u, traces, errors, …), not
        Brian2's own (``_…``, t, dt, ``lastspike``: only ever a time, −10⁴ s before a first spike), nor
        ``(constant)`` ones; synapse weights are the engine's to check. On cpp_standalone the values are
        those the binary's last run wrote (none before its first run: [])."""
        out = []
        for group in [self.groups[0], *self.driven()]:
            for name, var in group.variables.items():
                if not state_variable(name, var):
                    continue
                try:
                    values = var.get_value()
                except NotImplementedError:  # standalone, before the binary first ran
                    return out
                if not np.isfinite(values).all():
                    out.append(f"{group.name}.{name}")
                    if len(out) >= most:
                        return out
        return out

    def objects(self) -> list:
        """Every population and synapse group, for the subclass's ``Network``."""
        feedback = [syn for syn in self.feedback if syn is not None]
        groups = [*self.groups, *self.classifiers.values(), *self.extras.values()]
        return [*groups, *self.forward, *self.readouts.values(), *feedback, *self.links.values()]

    def driven(self) -> list[NeuronGroup]:
        """Every population but the input: hidden, output, local classifiers, extra populations."""
        return [*self.groups[1:], *self.classifiers.values(), *self.extras.values()]

    def error_sources(self) -> set[str]:
        """The populations (by name) whose error a pathway carries: a feedback pathway's source layer
        (local classifiers are sources too), an extra population a feedback pathway comes from, and the
        source of every ``into: error`` pathway."""
        e, L = self.engine, self.L
        out = set(e.relayed.values())
        for l in range(1, L):
            if l not in e.relayed and e.rule.topology in ("layerwise", "direct"):
                out.add(f"layer{l + 1 if e.rule.topology == 'layerwise' else L}")
        return out | {k.source for k in e.circuit.brian.pathways if k.into == "error"}

    def teachable(self) -> list[NeuronGroup]:
        """The populations that compare their drive with the teacher: the output layer and any local
        classifiers."""
        return [self.groups[self.L], *self.classifiers.values()]

    def teach(self, y: np.ndarray, drive: str, fill: float = 1.0) -> None:
        """Write into every teachable population its error δ = ∂loss/∂a for the teacher row y, from its
        drive (the state variable ``drive``, divided by ``fill``)."""
        e = self.engine
        for group in self.teachable():
            a = live(group, drive)[None, :] / fill
            live(group, "delta")[:] = e.output_delta(a, e.f_out(a), y[None, :])[0]

    def sync_weights(self) -> None:
        """After W or B may have changed: a sparse pathway's synapses take their weights from the
        engine's matrix, and a feedback group whose rule's feedback matrix is not its own array is set to
        it — only backprop's Wᵀ, the weight transport that rule is defined by. (On cpp_standalone the
        weights travel with each block instead.)"""
        if self.project is not None:
            return
        p = self.engine.params
        feedback = {f"B{l}": self.engine.rule.feedback(l, p) for l in range(1, self.L)}
        matrices = {**p.links, **{f"W{l}": w for l, w in enumerate(p.W)}, **feedback}
        for name, (w, rows, cols) in self.sparse.items():
            w[:] = matrices[name][rows, cols]
        for l in range(1, self.L):
            fb = feedback[f"B{l}"]
            if f"B{l}" not in self.sparse and fb is not self.B[l]:
                self.B[l][...] = fb

    def gather_feedback(self) -> None:
        """After B's synapses changed on their own (a spiking mirror phase): a sparse pathway's matrix
        takes its synapses' weights (an all-to-all one's is a view of them)."""
        for l in range(1, self.L):
            if f"B{l}" in self.sparse:
                w, rows, cols = self.sparse[f"B{l}"]
                self.B[l][rows, cols] = w

    def mirror_update(self, l: int, x: np.ndarray, y: np.ndarray) -> None:
        """One mirror-phase batch of B_l plasticity from the circuit's own noise x and responses y."""
        self.engine.rule.mirror_update(l, self.B[l], x, y)
        if f"B{l}" in self.sparse:
            self.sync_weights()

    @contextmanager
    def mirror_mode(self, steps: int, **extra) -> Iterator[dict]:
        """The weight mirror's mode, shared by both neuron models: every hidden layer switched to
        ``mirroring``, and the phase's state — ``n`` = steps × batch_size samples, ``bs``, the sample
        counter ``t``, per noise layer l the batch buffers ``x[l]`` (its noise) and ``y[l]`` (layer
        l + 1's response), plus ``extra`` — kept as ``self._mirror`` for the circuit's schedule."""
        m = self.engine.rule.spec.mirror
        layers = range(1, self.L)
        self._mirror = {
            "n": steps * m.batch_size,
            "bs": m.batch_size,
            "t": 0,
            "x": {l: np.empty((m.batch_size, len(self.groups[l]))) for l in layers},
            "y": {l: np.empty((m.batch_size, len(self.groups[l + 1]))) for l in layers},
            **extra,
        }
        if not self.mirror_spiking:  # (a spiking circuit's schedule switches its layers per sample)
            for l in layers:
                self.groups[l].mirroring = 1
        try:
            yield self._mirror
        finally:
            for l in layers:
                self.groups[l].mirroring = 0
            self._mirror = None

    @contextmanager
    def monitoring(self, layers: tuple[int | str, ...], variables: tuple[str, ...]) -> Iterator[dict]:
        """Record the chosen populations with Brian2 monitors while the ``with`` block runs the circuit
        (presenting, learning, mirror mode, …): every variable they have every step as ``layer{l}_{var}``
        (neurons × steps) with times ``t``; for spiking populations ``spikes`` as (neuron index, time)
        pairs ``layer{l}_spikes_i`` / ``_t``, the ± error events likewise (``layer{l}_err_pos_i`` / ``_t``,
        ``layer{l}_err_neg_…``) and ``rate``, the population rate per step (``layer{l}_rate``, Hz).
        Populations by layer number or name (keys use the name). Times in seconds from the start of the
        block. The yielded dict is filled when the block ends."""
        monitors: dict[str, object] = {}
        for l in layers:
            group = self.population(l)
            name = group.name
            if ("spikes" in variables or "rate" in variables) and "spike" in group.events:
                monitors[f"{name}_spikes"] = SpikeMonitor(group)
                if "err_pos" in group.events:
                    monitors[f"{name}_err_pos"] = EventMonitor(group, "err_pos")
                    monitors[f"{name}_err_neg"] = EventMonitor(group, "err_neg")
            own = [v for v in variables if v not in ("spikes", "rate") and v in group.variables]
            if own:
                monitors[name] = StateMonitor(group, own, record=True, clock=self.clock, when="end")
        start = float(self.network.t)
        self.network.add(*monitors.values())
        out: dict[str, np.ndarray] = {}
        try:
            yield out
        finally:
            self.network.remove(*monitors.values())
        for key, mon in monitors.items():  # copies: the monitors and their buffers go
            if isinstance(mon, StateMonitor):
                out.setdefault("t", np.asarray(mon.t / second) - start)
                for v in mon.record_variables:
                    out[f"{key}_{v}"] = np.array(getattr(mon, v))
            else:
                out[f"{key}_i"] = np.array(mon.i[:])
                out[f"{key}_t"] = np.asarray(mon.t / second) - start
        if "rate" in variables:  # population rates (Hz), per time step, from the spikes
            dt = float(self.dt)
            steps = round((float(self.network.t) - start) / dt)
            for group in filter(lambda g: f"{g.name}_spikes_t" in out, map(self.population, layers)):
                step = np.round(out[f"{group.name}_spikes_t"] / dt).astype(np.int64)  # spikes come on steps
                out[f"{group.name}_rate"] = np.bincount(step, minlength=steps)[:steps] / (len(group) * dt)

    def state(self, l: int, name: str) -> np.ndarray:
        """Layer l's state variable ``name`` as a live array."""
        return live(self.groups[l], name)

    @staticmethod
    def for_engine(engine: ReferenceEngine, target: str | None = None) -> Circuit:
        """The circuit the engine's circuit file asks for (its ``brian`` block; ``target`` overrides its
        code-generation target)."""
        from .lif import LifCircuit
        from .rate import RateCircuit

        return (LifCircuit if engine.circuit.brian.neurons == "lif" else RateCircuit)(engine, target)


def release_sigint() -> None:
    """Undo Brian2's Ctrl-C handling (``brian2/__init__.py``: ``_InterruptHandler``, installed when Brian2
    is imported): with it a Ctrl-C during ``Network.run`` only stops the run at the end of the time step,
    with a warning, and outside a run calls the handler it replaced, even a ``SIG_IGN`` or ``SIG_DFL``
    that cannot be called. Afterwards SIGINT does what it did before Brian2 was imported (normally:
    ``KeyboardInterrupt``, wherever the program is). Outside the main thread, where no handler can be
    set, Brian2's handler stays but only ever passes SIGINT on."""
    prefs.core.stop_on_keyboard_interrupt = False  # Brian2's handler, if it stays, passes SIGINT on
    handler = signal.getsignal(signal.SIGINT)
    if not (type(handler).__module__ == "brian2" and hasattr(handler, "previous_handler")):
        return
    previous = handler.previous_handler
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, previous)
    elif previous == signal.SIG_IGN:
        handler.previous_handler = lambda signum, frame: None
    elif not callable(previous):  # SIG_DFL, or None (set from outside Python): end as Ctrl-C does
        handler.previous_handler = signal.default_int_handler


def state_variable(name: str, var) -> bool:
    """Whether a population's variable is a state of its own a run changes: an array of floats, written
    by its code, not Brian2's bookkeeping (see :meth:`Circuit.nonfinite`)."""
    return (
        isinstance(var, ArrayVariable)
        and not (var.read_only or var.constant or name.startswith("_") or name == "lastspike")
        and np.issubdtype(var.dtype, np.floating)
    )


def gather(syn: Synapses) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A sparse group's live weight array and, per synapse, its row (target) and column (source) in
    the pathway's weight matrix: ``w[:] = matrix[rows, cols]`` sets its weights."""
    v = syn.variables
    return kept(v["w"].get_value(), syn), v["_synaptic_post"].get_value().copy(), v["_synaptic_pre"].get_value().copy()


def live(group: NeuronGroup, name: str) -> np.ndarray:
    """A population's state variable as Brian2's own array, read and written in place (Brian2's
    indexing machinery costs ~1 ms per access)."""
    return group.variables[name].get_value()


def same_order(a: np.ndarray, like: np.ndarray) -> np.ndarray:
    """A copy of a laid out in memory like ``like`` (an optimiser buffer beside a synapse array, so the
    kernels walk both contiguously)."""
    out = np.empty_like(like)
    out[...] = a
    return out
