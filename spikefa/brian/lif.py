"""A spiking circuit: Poisson input, LIF hidden and output populations, errors as ± spike events.

Per example (many examples inside one ``Network.run``; a ``network_operation`` keeps the schedule):

1. *forward* (``forward_time``): the populations start from rest, the input fires Poisson spikes at
   x · max_rate, and activity settles. At its end the output's mean drive ā_L (its ``ubar`` trace) gives
   the output error δ_L = ∂loss/∂a through the engine's loss, written into the output's ``delta``.
2. *error* (``error_time``): every layer keeps firing; each layer with an error emits ``err_pos`` /
   ``err_neg`` events at error_rate · [±delta]₊, which reach the error compartments of the layers below
   only through the feedback synapses B (layer by layer, or straight from the output for DFA). A hidden
   neuron's delta is err · f'(ā), f' the surrogate slope (:func:`surrogate`).
3. *learning*: each synapse group changes by the rule through the shared kernels, in place, from
   what its synapses see: the presynaptic rate trace h = r, the postsynaptic delta.

Traces start from zero with each example; a trace read t after the start is divided by its expected
filling 1 − exp(−t / tau_trace), so that it estimates the stationary rate or drive. The spike noise
stays: this circuit learns from noisy estimates of the reference engine's quantities (tested in
expectation, not to 1e-6).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
from brian2 import (
    Hz,
    Network,
    NetworkOperation,
    NeuronGroup,
    Synapses,
    second,
)
from brian2 import seed as brian_seed

from .. import spec
from ..activations import evaluate
from ..errors import SpikefaError
from ..reference import ReferenceEngine
from . import declared, online
from .circuit import Circuit, live
from .generated import Generated, flat, forward_update
from .generated_mirror import segment_steps
from .locality import PRESYNAPTIC, check_local
from .pathways import spiking_feedback_pathway, spiking_forward_pathway
from .populations import check_population, lif_input_population, lif_population, own_variables
from .statements import constrain

NEVER = -1e4  # seconds: Brian2's lastspike of a neuron that has not fired


def namespace(lif: spec.Lif) -> dict:
    """The constants every spiking population and pathway reads, as Brian2 quantities."""
    s, h = spec.seconds, spec.hertz
    optional = {
        "v_floor": lif.v_floor,
        "mirror_tau_m": lif.mirror_tau_m and s(lif.mirror_tau_m) * second,
        "error_baseline": lif.error_baseline or None,  # (none: the events' code is the same as before)
    }
    return {
        "tau_m": s(lif.tau_m) * second,
        "tau_syn": s(lif.tau_syn) * second,
        "tau_trace": s(lif.tau_trace) * second,
        "tau_err": s(lif.tau_err) * second,
        "mirror_trace": s(lif.mirror_trace) * second,
        "mirror_mean": s(lif.mirror_mean) * second,
        "refractory": s(lif.refractory) * second,
        "v_threshold": lif.v_threshold,
        "max_rate": h(lif.max_rate) * Hz,
        "error_rate": h(lif.error_rate) * Hz,
        "mirror_drive": lif.mirror_drive,
        "target_rate": h(lif.target_rate) * Hz,
    } | {k: v for k, v in optional.items() if v is not None}


def surrogate(lif: spec.Lif, x: str = "ubar") -> str:
    """The slope f'(x) a hidden neuron's error is multiplied by, as a Brian2 expression of ``x`` (NumPy
    evaluates it too: :func:`spikefa.activations.evaluate`). ``lif``: the derivative of the f–I curve
    F(u) = 1 / (t_ref + tau_m ln(u / (u − θ))) in units of h (÷ max_rate), 0 below θ and at most 2
    (it diverges at θ); ``relu``: 1 wherever x > 0."""
    if lif.surrogate == "relu":
        return f"int({x} > 0)"
    th, tm, tr, mr = lif.v_threshold, spec.seconds(lif.tau_m), spec.seconds(lif.refractory), spec.hertz(lif.max_rate)
    u = f"clip({x}, {th * 1.001!r}, 1e9)"
    rate = f"1 / ({tr!r} + {tm!r} * log({u} / ({u} - {th!r})))"
    return f"int({x} > {th!r}) * clip(({rate})**2 * {tm * th / mr!r} / ({u} * ({u} - {th!r})), 0, 2)"


def check(circuit: spec.Circuit, source: str) -> None:
    """Validate a spiking circuit's own neuron models (``brian.populations``) before anything runs: each
    is built and run for a step, so a missing name, a unit that does not fit or a contract variable it
    redefines is a one-line error naming the field."""
    if circuit.engine != "brian2" or circuit.brian.neurons != "lif":
        return
    ns = namespace(circuit.brian.lif)
    for l, model in enumerate(circuit.brian.populations, 1):
        if model != spec.Population():
            check_population(model, ns, f"{source}: brian.populations.{l}")


def check_inputs(x: np.ndarray) -> None:
    """LIF inputs are firing rates x · max_rate: x must lie in [0, 1]."""
    if x.size and (x.min() < 0 or x.max() > 1):
        raise SpikefaError(
            f"task: LIF inputs fire at x · max_rate and need x in [0, 1], got [{x.min():.3g}, {x.max():.3g}]; "
            "use task.normalize: none"
        )


def carried(carries: str) -> tuple[str, ...]:
    """The error event streams a pathway carries (its ``carries``): both, paired through each synapse,
    or the positive (ON units', ``err_pos``) or negative (OFF units', ``err_neg``) errors' alone."""
    return {"both": ("err_pos", "err_neg"), "positive": ("err_pos",), "negative": ("err_neg",)}[carries]


class LifCircuit(Circuit):
    """Leaky integrate-and-fire populations, presented on the schedule above."""

    stochastic = True  # draws random numbers (a seed per block)

    def __init__(self, engine: ReferenceEngine, target: str | None = None):
        self.lif = lif = engine.circuit.brian.lif
        self.online = engine.circuit.brian.learning == "online"
        if self.online:
            online.check(engine)
        self.slope_code = surrogate(lif, "v")  # the hidden neurons' surrogate slope, for NumPy
        s, h = spec.seconds, spec.hertz
        self.namespace = namespace(lif)
        # each layer's membrane variables (v, and a model's own, e.g. alif's adaptation a): 0 at rest
        b = engine.circuit.brian
        self.rest_variables = {f"layer{l}": own_variables(b.population(l)) for l in range(1, engine.L + 1)}
        self.rest_variables.update({e.name: own_variables(e.population) for e in b.extra})
        self.off: dict[int, Synapses] = {}  # B_l's OFF channel, where B_l's sign is constrained
        # time steps per mirror sample (one by default), the unit of a mirror step's length
        window = lif.mirror_window
        self.window = 1 if window is None else round(s(window) / s(engine.circuit.brian.dt))
        super().__init__(engine, target)
        if self.project is None:
            self.set_off_channels()
        for group in self.groups[1:]:
            if "noise_rate" in group.variables:
                group.noise_rate = h(lif.noise_rate) * Hz
        self.period = math.gcd(self.forward_steps, self.error_steps)  # steps between schedule ticks
        self.ticks = {"forward_time": self.forward_steps // self.period, "error_time": self.error_steps // self.period}
        # One operation on the populations' own clock (a network with one clock runs its loop several
        # times faster than one with several); it acts every `period` steps, or every mirror window.
        self._step = 0
        self.readout = "readout"  # the output's drive at forward_time, as the generated schedule keeps it
        if self.code:
            self.generated = Generated(self)
            self.network = Network(*self.objects(), *self.generated.objects)
        else:
            self.network = Network(*self.objects(), NetworkOperation(self._every_step, clock=self.clock, when="start"))
        self.check_locality()

    def learns_on_events(self, l: int) -> bool:
        return not self.online and super().learns_on_events(l)

    def check_locality(self) -> None:
        """The locality contract (:mod:`~spikefa.brian.locality`) on every weight change written as
        Brian2 code: the mirror's covariance rule, and with ``plasticity: code`` every synapse
        group's change — its presynaptic side may be read only through its spikes, their traces and its
        error events' count (``sent``). The weight-transport rules' copy of W's update on B (backprop,
        sign symmetry) is exempt: it is what those rules are. On the Python schedule W and B change by
        the reference engine's kernels from the same quantities (rates ``r``, errors, ``sent``)."""
        changes = list(self.generated.changes) if self.code else []
        for syn in self.feedback:
            if syn is not None and "mirror" in {p.objname for p in syn._pathways}:
                changes.append((syn, syn.mirror.code))
        for syn, code in changes:
            where = declared.field(syn.name) if self.declared(syn.name) else f"{syn.name}'s plasticity"
            check_local(syn, code, where, pre=(*PRESYNAPTIC, "sent"))

    # --- the neuron model's code, for the generated schedule (generated.py) ----------------------
    def neuron_variables(self, name: str) -> str:
        """The circuit's own, plus the output drive a block records (read at forward_time)."""
        read = self.code and name == f"layer{self.L}"
        taught = self.online and (name == f"layer{self.L}" or name.startswith("classifier"))
        return (
            super().neuron_variables(name)
            + ("readout : 1\n" if read else "")
            + ("teacher : 1\ntaught : 1\n" if taught else "")
        )

    def drive_code(self, suffix: str) -> str:
        return f"ubar{suffix} / fill_forward"

    def rate_code(self, group: NeuronGroup, suffix: str) -> str:
        return f"r{suffix} / fill_example"

    def error_code(self, group: NeuronGroup, suffix: str) -> str:
        return f"delta{suffix}" if group in self.teachable() else f"delta_local{suffix}"

    def code_namespace(self) -> dict:
        return {
            "sent_scale": self.sent_scale(),
            "fill_forward": self.fill(self.ticks["forward_time"]),
            "fill_example": self.fill(self.ticks["forward_time"] + self.ticks["error_time"]),
        }

    def rest_code(self, group: NeuronGroup) -> str:
        """An example's start, as :meth:`_rest` and :meth:`_tick` do it: the input takes the example (and
        a regular encoder its drawn phase), every other population its rest."""
        if group is self.groups[0]:
            phase = "\nphase = phases(t - t_block, i)" if self.lif.input == "regular" else ""
            return "r = 0\nx = inputs(t - t_block, i)" + phase
        names = self.rest_names(group)
        lines = ["u = b", *(f"{n} = 0" for n in names), f"lastspike = {NEVER!r} * second", "not_refractory = True"]
        return "\n".join(lines)

    mirror_spiking = True  # B learns on its source's spikes (see :meth:`mirror`), not from collected samples

    def mirror_sample_steps(self) -> int:
        return self.window

    def mirror_start_code(self, group: NeuronGroup) -> str:
        """A mirror sample's start, as :meth:`_rest` does it at a segment's first sample: the input
        silent, the populations at rest (each noise layer's mode is switched next, at order 2, by
        :meth:`mirror_switches`)."""
        if group is self.groups[0]:
            return "x = 0\nr = 0"
        first = "mirror_first(t - t_block)"
        names = self.rest_names(group)
        lines = [f"{n} = {n} * (1 - {first})" for n in names] + [
            f"u = u * (1 - {first}) + {first} * b",
            *([f"rm_mean = rm_mean * (1 - {first}) + {first} * rm_rest"] if "rm_mean" in group.variables else []),
            f"lastspike = {first} * {NEVER!r} * second + (1 - {first}) * lastspike",
            f"not_refractory = not_refractory or {first} > 0",
        ]
        return "\n".join(lines)

    def mirror_switches(self) -> list[tuple[object, str, str]]:
        """(owner, statement, name): what switches, per noise layer l, at a mirror sample's start (order
        2) — whether l fires noise (``mirroring``), W_l's tonic, whether layer l + 1 is held and whether
        B_l learns (l's ``settled``: its running mean of its trace follows it, and B_l's synapses read
        it) — as :meth:`_switch_mirror` does in the Python schedule."""
        out = []
        for l in self.mirror_layers():
            on = f"mirror_on{l}(t - t_block)"
            out += [
                (self.groups[l], f"mirroring = {on}", "mirror_switch"),
                (self.forward[l], f"tonic = {on} * {self.mirror_tonic(l)!r}", "mirror_tonic"),
                (self.groups[l + 1], f"held = {on}", "mirror_hold"),
                (self.groups[l], f"settled = mirror_learn{l}(t - t_block)", "mirror_settled"),
            ]
        return out

    def _switch_mirror(self, modes: dict[int, tuple[float, float]]) -> None:
        """The Python schedule's :meth:`mirror_switches`: per noise layer l, (fires, learns)."""
        for l, (fires, learns) in modes.items():
            self.groups[l].mirroring = fires
            self.forward[l].tonic = fires * self.mirror_tonic(l)
            self.groups[l + 1].held = fires
            self.groups[l].settled = learns

    def mirror_tonic(self, l: int) -> float:
        """A noise neuron of layer l's mean rate ÷ max_rate: noise_rate, less what refractoriness takes
        (Brian2 lets a neuron fire again R = refractory / dt steps after a spike: the mean interval is
        R − 1 steps plus the Poisson wait 1 / noise_rate)."""
        model = self.engine.circuit.brian.population(l)
        s, dt = spec.seconds, float(self.dt)
        refractory = s(model.refractory or self.lif.refractory)
        steps = int((refractory + 1e-3 * dt) / dt)
        rate = 1.0 / (max(steps - 1, 0) * dt + 1.0 / spec.hertz(self.lif.noise_rate))
        return rate / spec.hertz(self.lif.max_rate)

    def mirror_rest(self, l: int) -> float:
        """The expected mirror trace of a noise neuron of layer l where the synapses read it (after a
        step's decay q = e^(−dt / mirror_trace), before its spikes): Σ_k≥1 ν dt q^k / (mirror_trace ·
        max_rate) = (ν / max_rate)(dt / mirror_trace) q / (1 − q), ν its mean rate (:meth:`mirror_tonic`)."""
        ratio = float(self.dt) / spec.seconds(self.lif.mirror_trace)
        q = math.exp(-ratio)
        return self.mirror_tonic(l) * ratio * q / (1 - q)

    def mirror_layers(self) -> list[int]:
        """The layers that fire noise in mirror phases: every feedback pathway's target."""
        return list(range(1, self.L)) if self.engine.rule.has_mirror_phase else []

    def mirror_schedule(self, samples: int, n: int) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Per noise layer l, (fires, learns): 1 for each of a segment's ``samples`` samples in which l
        fires noise — the first ``n`` only; with more than one hidden layer odd layers in their first
        half, even ones in the second, so that the layer above a noise layer integrates and fires — and
        in which B_l learns: once l has fired noise for :meth:`mirror_settle` samples (every segment
        starts from rest, and the traces and drives need that long to reach their steady state)."""
        k = np.arange(samples)
        layers = self.mirror_layers()
        out = {}
        for l in layers:
            fires = k < n
            if len(layers) > 1:
                fires &= (k < n // 2) if l % 2 else (k >= n // 2)
            started = np.maximum.accumulate(np.where(fires & ~np.roll(fires, 1), k, 0))  # its run's start
            learns = fires & (k - started >= self.mirror_settle())
            out[l] = (fires.astype(float), learns.astype(float))
        return out

    def mirror_least_steps(self) -> int:
        """A segment lasts at least twice its noise layers' settling, per layer that fires noise."""
        bs = self.engine.rule.spec.mirror.batch_size
        return math.ceil(2 * max(len(self.mirror_layers()), 1) * self.mirror_settle() / bs)

    def mirror_settle(self) -> int:
        """Samples a noise layer fires before its B learns: 4 times the slowest of the drive's, the
        answering membrane's and the mirror trace's time constants (the transients from rest)."""
        sample = self.window * spec.seconds(self.engine.circuit.brian.dt)
        slowest = max(spec.seconds(self.lif.tau_syn), self.answering_tau_m(), spec.seconds(self.lif.mirror_trace))
        return math.ceil(4 * slowest / sample)

    def answering_tau_m(self) -> float:
        """Seconds: the membrane time constant of a layer answering noise (``mirror_tau_m`` where set:
        :data:`~spikefa.brian.populations.HELD_TAU_M`)."""
        return spec.seconds(self.lif.mirror_tau_m or self.lif.tau_m)

    def populations(self) -> list[NeuronGroup]:
        sizes, ns, clock = self.engine.sizes, self.namespace, self.clock
        mirrors = self.engine.rule.has_mirror_phase
        sources = self.error_sources()
        models = self.engine.circuit.brian.population
        slope = surrogate(self.lif)
        groups = [lif_input_population(sizes[0], clock, ns, "layer0", self.lif.input, self.input_events())] + [
            lif_population(
                n,
                clock,
                ns,
                f"layer{l}",
                l == self.L,
                mirrors and l < self.L,
                errors=f"layer{l}" in sources,
                model=models(l),
                where=f"brian.populations.{l}",
                slope=slope,
                variables=self.neuron_variables(f"layer{l}"),
                held=l - 1 in self.mirror_layers(),
            )
            for l, n in enumerate(sizes[1:], 1)
        ]
        for l in self.mirror_layers():
            groups[l].rm_rest = self.mirror_rest(l)
        return groups

    def extra_population(self, extra: spec.Extra) -> NeuronGroup:
        """An extra population: a spiking population of its model whose error is its ``error``
        expression, sent on as ± error events when a pathway carries it."""
        return lif_population(
            extra.size,
            self.clock,
            self.namespace,
            extra.name,
            output=False,
            mirror=False,
            errors=extra.name in self.error_sources(),
            model=extra.population,
            where=f"brian.extra.{extra.name}",
            error=extra.error,
        )

    def link(self, pre: NeuronGroup, post: NeuronGroup, link: spec.Link, connections) -> Synapses:
        delay = spec.seconds(link.structure.delay) * second or None
        code = self.declared(link.name)
        variables = "" if code is None else declared.model_lines(code)
        if link.into == "drive":
            events = self.declared_events(link.name, pre, post, feedback=False)
            return self.built(
                link.name,
                lambda: spiking_forward_pathway(
                    pre, post, self.clock, self.namespace, link.name, connections, delay, variables, declared=events
                ),
            )
        carries = carried(link.structure.carries)
        events = self.declared_events(link.name, pre, post, feedback=True, carries=carries)
        return self.built(
            link.name,
            lambda: spiking_feedback_pathway(
                pre,
                post,
                self.clock,
                self.namespace,
                link.name,
                connections,
                delay,
                variables,
                carries=carries,
                declared=events,
            ),
        )

    def classifier_population(self, l: int) -> NeuronGroup:
        name = f"classifier{l}"
        return lif_population(
            self.engine.sizes[-1],
            self.clock,
            self.namespace,
            name,
            output=True,
            mirror=False,
            variables=self.neuron_variables(name),
        )

    def forward_pathway(
        self, pre: NeuronGroup, post: NeuronGroup, name: str, connections=None, delay: str = "0 ms"
    ) -> Synapses:
        d = spec.seconds(delay) * second or None
        variables = self.synapse_variables(name=name) if name.startswith("W") else ""
        learn = forward_update(self, 0) if pre is self.groups[0] and self.learns_on_events(0) else ""
        code = self.declared(name)
        if self.online and name.startswith("W") and code is None:  # on each of its source's spikes
            learn = online.forward_change(self, int(name[1:]))
        tonic = name in {f"W{l}" for l in self.mirror_layers()}
        return spiking_forward_pathway(
            pre,
            post,
            self.clock,
            self.namespace,
            name,
            connections,
            d,
            variables,
            learn,
            tonic,
            learn_on="spike" if self.online else "learn",
            declared=self.declared_events(name, pre, post, feedback=False),
        )

    def feedback_pathway(self, source: NeuronGroup, target: NeuronGroup, name: str, l: int) -> Synapses:
        """B_l: one synapse group carrying both event streams of its source's paired ± error units; or,
        where its sign is constrained (``feedback.sign``: Dale's law), the ON units' events only, the
        OFF units' through a second group of the opposite sign, ``B{l}_off``, weights −B
        (:meth:`split_channels`)."""
        s = self.engine.structure
        delay = spec.seconds(s.pathway(l).delay) * second or None
        split = self.split_channels(l)
        carries = ("err_pos",) if split else carried(s.pathway(l).carries)
        learn = online.feedback_changes(self, l, carries) if self.online and self.declared(name) is None else None
        if split:
            self.off[l] = spiking_feedback_pathway(
                source, target, self.clock, self.namespace, f"{name}_off", s.connections(l), delay, carries=("err_neg",)
            )
        return spiking_feedback_pathway(
            source,
            target,
            self.clock,
            self.namespace,
            name,
            s.connections(l),
            delay,
            self.synapse_variables(feedback=True, name=name)
            + (online.feedback_variables(self) if self.online and self.declared(name) is None else ""),
            self.mirror_plasticity(l),
            carries=carries,
            learn=learn,
            declared=self.declared_events(name, source, target, feedback=True, carries=carries),
        )

    def declared_events(
        self, name: str, pre: NeuronGroup, post: NeuronGroup, feedback: bool, carries: tuple[str, ...] = ()
    ) -> dict[str, tuple[str, str]]:
        """Pathway ``name``'s declared ``on_pre`` and ``on_post`` (:mod:`~spikefa.brian.declared`) as
        (event, statements) per pathway of its Synapses: ``declared_pre`` on its source's spikes, or per
        error event it carries (``declared_pos``, ``declared_neg``, with ``event`` ±1), and
        ``declared_post`` on its target's spikes."""
        code = self.declared(name)
        if code is None:
            return {}
        sign = self.pathway(name).sign
        view = SimpleNamespace(source=pre, target=post, variables={"w", *declared.variable_names(code)})

        def made(text: str, event: int | None = None, block: str = "events") -> str:
            return declared.statements(self, view, text, block, feedback, sign, event)

        out = {}
        if code.on_pre.strip():
            if feedback:
                for e in carries:
                    out["declared_" + e.removeprefix("err_")] = (e, made(code.on_pre, 1 if e == "err_pos" else -1))
            else:
                out["declared_pre"] = ("spike", made(code.on_pre))
        if code.on_post.strip():
            out["declared_post"] = ("spike", made(code.on_post))
        return out

    def split_channels(self, l: int) -> bool:
        """Whether B_l carries positive and negative errors on two synapse groups: where its sign is
        constrained. The OFF group's weights are −B, set when the circuit is built: a rule that changes
        B would have to copy each change across (weight transport between the channels), so it is
        refused."""
        e = self.engine
        pathway, rule = e.structure.pathway(l), e.rule
        changes = rule.learns_feedback or rule.has_mirror_phase or rule.transports_weights
        if pathway.carries != "both" and changes:
            raise SpikefaError(
                f"feedback.carries: {pathway.carries}: B carries one stream of its source's error events; rule "
                f"{rule.name} changes B from its source's whole error, which B would not see; use carries: both"
            )
        if pathway.sign not in ("positive", "negative") or pathway.carries != "both":
            return False
        if changes:
            raise SpikefaError(
                f"feedback.sign: a sign-constrained feedback pathway of a spiking circuit carries positive and "
                f"negative errors on two synapse groups of opposite signs (Dale's law), whose weights stay B and "
                f"−B; rule {rule.name} changes B, which would copy each change across; use feedback.sign: none"
            )
        return True

    def objects(self) -> list:
        return [*super().objects(), *self.off.values()]

    def set_off_channels(self) -> None:
        """Every OFF group's weights to −B (on the runtime targets; standalone takes them with each block)."""
        for l, off in self.off.items():  # connected as B_l: its synapses in B_l's order
            order = self.synapse_order(f"B{l}", self.engine.structure.connections(l))
            off.variables["w"].get_value()[:] = flat(-self.B[l], order)

    def fill(self, ticks: int) -> float:
        """Expected filling of a trace ``ticks`` schedule ticks after it started from zero."""
        return 1.0 - math.exp(-ticks * self.period * float(self.dt) / float(self.namespace["tau_trace"]))

    # --- presentation ---------------------------------------------------------------------------
    def train_batch(
        self, x: np.ndarray, y: np.ndarray, lr: float, rng: np.random.Generator
    ) -> tuple[float, np.ndarray]:
        """The reference engine's ``train_batch`` contract, learning after each example (batch size 1,
        rate ``lr``): returns the mean loss and the outputs (softmax of the drive, before each change)."""
        if self.code:
            check_inputs(x)
            out = self.engine.f_out(self.generated.run(x, y, lr, rng))
        else:
            out = np.vstack([H[-1] for _, H, _ in self.present(x, y, lr, rng)])
        return float(np.mean([self.engine.loss(o[None, :], y[k : k + 1]) for k, o in enumerate(out)])), out

    def predict(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Outputs f_out(ā_L) of the spiking circuit for x, forward time only, no learning."""
        rng = rng or np.random.default_rng(0)
        if self.code:  # in blocks of the compiled size, errors sent but nothing learned
            check_inputs(x)
            return self.engine.f_out(self.generated.read_out(x, rng))
        seen = self.present(x, None, 0.0, rng, learn=False, errors=False)
        return np.vstack([H[-1] for _, H, _ in seen])

    def present(
        self,
        x: np.ndarray,
        y: np.ndarray | None,
        lr: float,
        rng: np.random.Generator,
        learn: bool = True,
        errors: bool | None = None,
    ) -> list[tuple[list, list, list]]:
        """Present the examples in one Brian2 run (the spike noise seeded from ``rng``): with ``errors``
        (default: ``learn``) the error phase follows each forward phase, and with ``learn`` each example's
        weight change follows. Returns per example (Ā, H, deltas): the drive and rate estimates and the
        errors the circuit learned from (deltas only with errors; H[L] is f_out(Ā_L))."""
        errors = learn if errors is None else errors
        check_inputs(x)
        brian_seed(int(rng.integers(2**31)))
        ticks = self.ticks["forward_time"] + (self.ticks["error_time"] if errors else 0)
        self._run = {"x": x, "y": y, "lr": lr, "rng": rng, "learn": learn, "errors": errors, "ticks": ticks, "tick": 0}
        self._seen, self._step = [], 0
        self.simulate(len(x) * ticks * self.period * self.dt, "learning" if learn else "test")
        if len(self._seen) < len(x):
            self._finish()
        return self._seen

    def _every_step(self) -> None:
        step = self._step
        self._step += 1
        rec = self.recorder
        if rec is not None:
            rec.spikes()
        if self._mirror is None:
            if step % self.period == 0:
                self._tick()
        elif step % self.window == 0:
            self._tick_mirror()
        if rec is not None:  # the example (or mirror noise sample: the first window is rest) of this step
            per = self._run["ticks"] * self.period if self._mirror is None else self.window
            dt = float(self.dt)
            rec.sample(step // per - (self._mirror is not None), (step % per) * dt, per * dt)

    def _tick(self) -> None:
        run = self._run
        k, phase = divmod(run["tick"], run["ticks"])
        run["tick"] += 1
        if k >= len(run["x"]):
            return
        if phase == 0:
            if k > 0:
                self._finish()
            self._rest()
            self.state(0, "x")[:] = run["x"][k]
            if self.lif.input == "regular":  # each encoder starts the example at a random phase
                phase = self.state(0, "phase")
                phase[:] = run["rng"].random(len(phase))
        elif phase == self.ticks["forward_time"]:
            fill = self.fill(phase)
            run["readout"] = self.state(self.L, "ubar")[None, :] / fill  # what the error is made from
            self.teach(run["y"][k], "ubar", fill)

    def rest_names(self, group: NeuronGroup) -> tuple[str, ...]:
        """The variables that are 0 at rest: traces, errors, counts and the membrane model's own."""
        own = tuple(n for n in ("sent", "teacher", "taught", "rm") if n in group.variables)
        return ("r", "ubar", "err", "delta", "count", *own, *self.rest_variables.get(group.name, ("v",)))

    def sent_code(self, group: NeuronGroup, suffix: str) -> str:
        return f"sent{suffix} / sent_scale"

    def sent_scale(self) -> float:
        """Error events per unit of δ in an example: error_rate · error_time (the output's δ is constant
        for the error time, and no error event fires before it)."""
        return spec.hertz(self.lif.error_rate) * self.error_steps * float(self.dt)

    def slope(self, l: int) -> np.ndarray:
        """Hidden layer l's surrogate f'(ubar) (:func:`surrogate`), as its neurons' ``delta_local`` has it."""
        return evaluate(self.slope_code, self.state(l, "ubar")[None, :])

    def _rest(self) -> None:
        """Every population back to rest, traces and errors to zero, and no neuron refractory (a spike at
        the end of one example must not silence the next one: an example starts as it would in a fresh
        network, which is also what makes a resumed run the uninterrupted one)."""
        self.state(0, "r")[:] = 0.0
        for group in self.driven():
            live(group, "u")[:] = live(group, "b")
            for name in self.rest_names(group):
                live(group, name)[:] = 0.0
            live(group, "lastspike")[:] = NEVER
            live(group, "not_refractory")[:] = True
            if "rm_mean" in group.variables:
                live(group, "rm_mean")[:] = group.variables["rm_rest"].get_value()

    def _finish(self) -> None:
        """Read the traces and errors of the example just presented, and learn from them."""
        run, e = self._run, self.engine
        fill = self.fill(run["ticks"])
        A = [None] + [self.state(l, "ubar")[None, :] / fill for l in range(1, self.L)]
        # the output as read when the forward time ended (errors: the read-out the error was made from)
        A.append(run.pop("readout") if run["errors"] else self.state(self.L, "ubar")[None, :] / fill)
        H = [self.state(l, "r")[None, :] / fill for l in range(self.L)] + [e.f_out(A[self.L])]
        deltas = [None] * (self.L + 1)
        if run["errors"]:
            deltas = [None] + [self.state(l, "err")[None, :] * self.slope(l) for l in range(1, self.L)]
            deltas.append(self.state(self.L, "delta")[None, :].copy())
        self._seen.append((A, H, deltas))
        if run["learn"]:
            sent = [None] * (self.L + 1)
            if run["errors"]:  # each layer's error as its ± error events carried it
                scale = self.sent_scale()
                sent = [live(g, "sent")[None, :] / scale if "sent" in g.variables else None for g in self.groups]
            e.learn(H, deltas, run["lr"], run["rng"], sent)
            self.sync_weights()

    # --- weight mirror ----------------------------------------------------------------------------
    def mirror(self, steps: int, rng: np.random.Generator) -> None:
        """The weight mirror's noise phase (Akrout et al. 2019, eq. 7) learned through spikes: the input is
        silent, each noise layer fires Poisson spikes at noise_rate, the layer above integrates them
        through W and fires. Each feedback synapse (source j in the layer above, target i in the noise
        layer) learns on each spike of j by κ times i's spike trace less i's running mean of it (a
        covariance rule: :meth:`mirror_plasticity`), and decays, B ← (1 − λ_B) B after
        every mirror step (batch_size samples of ``mirror_window``): E[ΔB] ∝ Wᵀ, since a noise spike of i raises j's
        firing by f'_j W_ji (:meth:`mirror_hebbian`). With more than one hidden layer, odd and even layers
        take turns to fire noise (:meth:`mirror_schedule`). The noise is seeded from ``rng`` every K
        steps (:func:`~spikefa.brian.generated_mirror.segment_steps`), as the generated segments seed
        theirs: both schedules fire the same spikes, on every target."""
        if self.code:
            self.generated.mirror(steps, rng)
            return
        m, rec = self.engine.rule.spec.mirror, self.recorder
        k, start = segment_steps(m, self.mirror_least_steps()), rec.offset if rec is not None else 0
        for done in range(0, steps, k):  # seeded per K steps, as the generated segments are
            if rec is not None:  # the run's index of this part's first sample
                rec.offset = start + done * m.batch_size
            brian_seed(int(rng.integers(2**31)))
            self.state(0, "x")[:] = 0.0
            self._rest()
            self._step = 0
            n = min(k, steps - done)
            try:
                with self.mirror_mode(n, noise=self.mirror_schedule(n * m.batch_size + 1, n * m.batch_size)) as s:
                    self.simulate((s["n"] + 1) * self.window * self.dt, "mirror")
            finally:
                self._switch_mirror(dict.fromkeys(self.mirror_layers(), (0.0, 0.0)))
                self.gather_feedback()
        if rec is not None:
            rec.offset = start

    def mirror_hebbian(self) -> float:
        """κ, the change per spike pair, such that a mirror step's expected change is the reference
        engine's η_B Wᵀ (unit-variance noise) for a source of slope f' = 1 (÷ max_rate; the LIF's
        with the defaults): per second a synapse expects κ ν f'_j W_ji c / (τ · max_rate), τ the mirror
        trace's time constant (``mirror_trace``), ν the noise rate and
        c = 1 / ((1 + tau_syn / τ)(1 + τ_m / τ)), τ_m the answering membrane's, the part of a noise
        spike's effect on its target's firing that the trace sees (the drive's and the membrane's
        exponential filters against the trace's), over the share of a segment in which B learns
        (:meth:`mirror_schedule`)."""
        s, h = spec.seconds, spec.hertz
        lif, m = self.lif, self.engine.rule.spec.mirror
        trace = s(lif.mirror_trace)
        c = 1.0 / ((1 + s(lif.tau_syn) / trace) * (1 + self.answering_tau_m() / trace))
        per_second = h(lif.noise_rate) * c / (trace * h(lif.max_rate))
        k = segment_steps(m, self.mirror_least_steps()) * m.batch_size  # the share of a segment in which B learns
        share = float(np.mean([learns.mean() for _, learns in self.mirror_schedule(k, k).values()]))
        return m.lr / (per_second * self.mirror_seconds_per_step() * share)

    def mirror_plasticity(self, l: int) -> str:
        """B_l's change while its target fires noise, as a covariance rule (Sejnowski 1977) on spikes: on
        each spike of its source, w += κ (rm_post − rm_mean_post), its target's spike trace (time
        constant ``mirror_trace``) less that neuron's running mean of it (``mirror_mean``: see
        :data:`~spikefa.brian.populations.MIRROR_MEAN`). A noise spike is independent of what fired
        before it, so only the trace's causal part survives in expectation, f'_j W_ji — the chance
        coincidences cancel against the mean, whatever the rates — and the running mean also takes away
        the slow fluctuations of the target's rate (measured, seed 1, 20 s of noise: 13.5° against 15.3°
        for the balanced window w −= κ rm_pre on the target's spikes it replaced). Each synapse reads its
        own weight, its target's ``settled`` (a phase signal: 1 while the target fires noise, once
        settled), trace and running mean, and κ. Returns the statements on the source's spikes."""
        if l not in self.mirror_layers():
            return ""
        k, sign = self.mirror_hebbian(), constrain("w", self.engine.structure.pathway(l).sign)
        return "\n".join([f"w = w + {k!r} * settled_post * (rm_post - rm_mean_post)", *sign])

    def mirror_seconds_per_step(self) -> float:
        """Simulated time of one mirror step: batch_size samples of one mirror window each."""
        return self.engine.rule.spec.mirror.batch_size * self.window * float(self.dt)

    def _tick_mirror(self) -> None:
        """A sample's start: after every mirror step B decays; each noise layer switches to its mode for
        the sample."""
        s = self._mirror
        t = s["t"]
        s["t"] += 1
        if 0 < t <= s["n"] and t % s["bs"] == 0:
            decay = self.engine.rule.spec.mirror.decay
            for syn in self.feedback:
                if syn is not None:
                    w = syn.variables["w"].get_value()
                    w *= 1 - decay
        modes = s["noise"].items()
        self._switch_mirror({l: (on[t], learns[t]) if t < len(on) else (0.0, 0.0) for l, (on, learns) in modes})

    # --- recordings -------------------------------------------------------------------------------
    def record(self, x: np.ndarray, y: np.ndarray, layers: tuple[int | str, ...], variables: tuple[str, ...]) -> dict:
        """Show the examples with their error phases but no weight change, recording the chosen layers
        (see :meth:`monitoring`)."""
        if self.code:
            return self.generated.record(x, y, layers, variables)
        with self.monitoring(layers, variables) as out:
            self.present(x, y, 0.0, np.random.default_rng(0), learn=False, errors=True)
        return out
