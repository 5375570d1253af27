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
from .circuit import Circuit, live
from .generated import Generated, forward_update
from .generated_mirror import segment_steps
from .pathways import spiking_feedback_pathway, spiking_forward_pathway
from .populations import check_population, lif_input_population, lif_population, own_variables

NEVER = -1e4  # seconds: Brian2's lastspike of a neuron that has not fired


def namespace(lif: spec.Lif) -> dict:
    """The constants every spiking population and pathway reads, as Brian2 quantities."""
    s, h = spec.seconds, spec.hertz
    return {
        "tau_m": s(lif.tau_m) * second,
        "tau_syn": s(lif.tau_syn) * second,
        "tau_trace": s(lif.tau_trace) * second,
        "tau_err": s(lif.tau_err) * second,
        "refractory": s(lif.refractory) * second,
        "v_threshold": lif.v_threshold,
        "max_rate": h(lif.max_rate) * Hz,
        "error_rate": h(lif.error_rate) * Hz,
    } | ({} if lif.v_floor is None else {"v_floor": lif.v_floor})


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


class LifCircuit(Circuit):
    """Leaky integrate-and-fire populations, presented on the schedule above."""

    stochastic = True  # draws random numbers (a seed per block)

    def __init__(self, engine: ReferenceEngine, target: str | None = None):
        self.lif = lif = engine.circuit.brian.lif
        self.slope_code = surrogate(lif, "v")  # the hidden neurons' surrogate slope, for NumPy
        s, h = spec.seconds, spec.hertz
        self.namespace = namespace(lif)
        # each layer's membrane variables (v, and a model's own, e.g. alif's adaptation a): 0 at rest
        b = engine.circuit.brian
        self.rest_variables = {f"layer{l}": own_variables(b.population(l)) for l in range(1, engine.L + 1)}
        self.rest_variables.update({e.name: own_variables(e.population) for e in b.extra})
        super().__init__(engine, target)
        for group in self.groups[1:]:
            if "noise_rate" in group.variables:
                group.noise_rate = h(lif.noise_rate) * Hz
        self.period = math.gcd(self.forward_steps, self.error_steps)  # steps between schedule ticks
        self.ticks = {"forward_time": self.forward_steps // self.period, "error_time": self.error_steps // self.period}
        # steps per mirror sample (one by default: the drive each step's noise spikes cause)
        self.window = 1 if lif.mirror_window is None else round(s(lif.mirror_window) / float(self.dt))
        # One operation on the populations' own clock (a network with one clock runs its loop several
        # times faster than one with several); it acts every `period` steps, or every mirror window.
        self._step = 0
        self.readout = "readout"  # the output's drive at forward_time, as the generated schedule keeps it
        if self.code:
            self.generated = Generated(self)
            self.network = Network(*self.objects(), *self.generated.objects)
        else:
            self.network = Network(*self.objects(), NetworkOperation(self._every_step, clock=self.clock, when="start"))

    # --- the neuron model's code, for the generated schedule (generated.py) ----------------------
    def neuron_variables(self, name: str) -> str:
        """The circuit's own, plus the output drive a block records (read at forward_time)."""
        read = self.code and name == f"layer{self.L}"
        return super().neuron_variables(name) + ("readout : 1\n" if read else "")

    def drive_code(self, suffix: str) -> str:
        return f"ubar{suffix} / fill_forward"

    def rate_code(self, group: NeuronGroup, suffix: str) -> str:
        return f"r{suffix} / fill_example"

    def error_code(self, group: NeuronGroup, suffix: str) -> str:
        return f"delta{suffix}" if group in self.teachable() else f"delta_local{suffix}"

    def code_namespace(self) -> dict:
        return {
            "fill_forward": self.fill(self.ticks["forward_time"]),
            "fill_example": self.fill(self.ticks["forward_time"] + self.ticks["error_time"]),
        }

    def rest_code(self, group: NeuronGroup) -> str:
        """An example's start, as :meth:`_rest` and :meth:`_tick` do it: the input takes the example (and
        a regular encoder its drawn phase), every other population its rest."""
        if group is self.groups[0]:
            phase = "\nphase = phases(t - t_block, i)" if self.lif.input == "regular" else ""
            return "r = 0\nx = inputs(t - t_block, i)" + phase
        names = ("r", "ubar", "err", "delta", "count", *self.rest_variables.get(group.name, ("v",)))
        lines = ["u = b", *(f"{n} = 0" for n in names), f"lastspike = {NEVER!r} * second", "not_refractory = True"]
        return "\n".join(lines)

    mirror_centered = True  # x − x̄: a Poisson count's mean is not zero

    def mirror_sample_steps(self) -> int:
        return self.window

    def mirror_x(self, suffix: str) -> str:
        return f"count{suffix} / mirror_scale"

    def mirror_y(self, suffix: str) -> str:
        return f"(u{suffix} - b{suffix}) * mirror_gain"

    def mirror_namespace(self) -> dict:
        return {"mirror_scale": self.mirror_scale(), "mirror_gain": self.mirror_gain()}

    def mirror_start_code(self, group: NeuronGroup) -> str:
        """A noise sample's start, as :meth:`_rest_mirror` does it (and, at a segment's first sample,
        :meth:`_rest` first): the input silent, counts to zero, drive and trace at rest."""
        if group is self.groups[0]:
            return "x = 0\nr = 0"
        first = "mirror_first(t - t_block)"
        names = ("r", "err", "delta", *self.rest_variables.get(group.name, ("v",)))
        lines = [f"{n} = {n} * (1 - {first})" for n in names] + [
            f"lastspike = {first} * {NEVER!r} * second + (1 - {first}) * lastspike",
            f"not_refractory = not_refractory or {first} > 0",
            "count = 0",
            "u = b",
            "ubar = b",
        ]
        return "\n".join(lines)

    def populations(self) -> list[NeuronGroup]:
        sizes, ns, clock = self.engine.sizes, self.namespace, self.clock
        mirrors = self.engine.rule.has_mirror_phase
        sources = self.error_sources()
        models = self.engine.circuit.brian.population
        slope = surrogate(self.lif)
        return [lif_input_population(sizes[0], clock, ns, "layer0", self.lif.input, self.input_events())] + [
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
            )
            for l, n in enumerate(sizes[1:], 1)
        ]

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
        make = spiking_feedback_pathway if link.into == "error" else spiking_forward_pathway
        return make(pre, post, self.clock, self.namespace, link.name, connections, delay)

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
        variables = self.synapse_variables() if name.startswith("W") else ""
        learn = forward_update(self, 0) if pre is self.groups[0] and self.learns_on_events(0) else ""
        return spiking_forward_pathway(pre, post, self.clock, self.namespace, name, connections, d, variables, learn)

    def feedback_pathway(self, source: NeuronGroup, target: NeuronGroup, name: str, l: int) -> Synapses:
        s = self.engine.structure
        delay = spec.seconds(s.pathway(l).delay)
        return spiking_feedback_pathway(
            source,
            target,
            self.clock,
            self.namespace,
            name,
            s.connections(l),
            delay * second if delay else None,
            self.synapse_variables(feedback=True),
        )

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
            n = self.generated.capacity
            blocks = [self.generated.run(x[k : k + n], None, 0.0, rng, learn=False) for k in range(0, len(x), n)]
            return self.engine.f_out(np.vstack(blocks))
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
        self.simulate(len(x) * ticks * self.period * self.dt)
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
            for name in ("r", "ubar", "err", "delta", "count", *self.rest_variables.get(group.name, ("v",))):
                live(group, name)[:] = 0.0
            live(group, "lastspike")[:] = NEVER
            live(group, "not_refractory")[:] = True

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
            e.learn(H, deltas, run["lr"], run["rng"])
            self.sync_weights()

    # --- weight mirror ----------------------------------------------------------------------------
    def mirror(self, steps: int, rng: np.random.Generator) -> None:
        """Weight-mirror mode (Akrout et al. 2019, eq. 7) as a spiking circuit: the input is silent, every
        hidden layer fires Poisson noise at noise_rate, the layer above responds through W. Each window
        (``mirror_window``; one time step by default) is one sample, from rest: x = the noise layer's spike
        count over its Poisson s.d., y = the responding layer's synaptic drive above rest at the window's
        end over its gain (:meth:`mirror_gain`: in one step exactly W x, the drive those spikes caused);
        after every batch_size samples, each feedback synapse changes by its own post (x, about its mean
        over the batch: zero-mean noise) and pre (y) activity, so that B → (η_B / λ_B) Wᵀ, as in the rate
        circuit. Short windows are many samples: 40,000 in 20 s at dt = 0.5 ms. The noise is seeded from
        ``rng`` every K steps (:func:`~spikefa.brian.generated_mirror.segment_steps`), as the generated
        segments seed theirs: both schedules fire the same spikes, on every target."""
        if self.code:
            self.generated.mirror(steps, rng)
            return
        m, rec = self.engine.rule.spec.mirror, self.recorder
        k, start = segment_steps(m), rec.offset if rec is not None else 0
        scale, gain = self.mirror_scale(), self.mirror_gain()
        for done in range(0, steps, k):  # seeded per K steps, as the generated segments are
            if rec is not None:  # the run's index of this part's first sample
                rec.offset = start + done * m.batch_size
            brian_seed(int(rng.integers(2**31)))
            self.state(0, "x")[:] = 0.0
            self._rest()
            self._step = 0
            with self.mirror_mode(min(k, steps - done), scale=scale, gain=gain) as s:
                self.simulate((s["n"] + 1) * self.window * self.dt)
        if rec is not None:
            rec.offset = start

    def mirror_gain(self) -> float:
        """y per unit of x: a spike moves its target's drive by w / (max_rate · tau_syn), and x counts
        spikes over their Poisson s.d."""
        return spec.hertz(self.lif.max_rate) * spec.seconds(self.lif.tau_syn) / self.mirror_scale()

    def mirror_scale(self) -> float:
        """The s.d. of a noise neuron's Poisson count in one mirror window."""
        return math.sqrt(spec.hertz(self.lif.noise_rate) * self.window * float(self.dt))

    def mirror_seconds_per_step(self) -> float:
        """Simulated time of one mirror step: batch_size noise samples, one mirror window each."""
        return self.engine.rule.spec.mirror.batch_size * self.window * float(self.dt)

    def _tick_mirror(self) -> None:
        s = self._mirror
        t, bs = s["t"], s["bs"]
        s["t"] += 1
        if t == 0 or t > s["n"]:
            self._rest_mirror()
            return
        i = (t - 1) % bs
        for l in s["x"]:  # the window that just ended
            s["x"][l][i] = self.state(l, "count") / s["scale"]
            s["y"][l][i] = (self.state(l + 1, "u") - self.state(l + 1, "b")) * s["gain"]
        self._rest_mirror()
        if t % bs == 0:  # each noise neuron's count about its own mean over the batch: zero-mean noise
            for l, x in s["x"].items():
                self.mirror_update(l, x - x.mean(0), s["y"][l])

    def _rest_mirror(self) -> None:
        """Start a noise sample: spike counts to zero, every layer's drive and its trace to rest (b), so
        that a sample's response is to its own noise only."""
        for l in range(1, self.L + 1):
            self.state(l, "count")[:] = 0.0
            self.state(l, "u")[:] = self.state(l, "b")
            self.state(l, "ubar")[:] = self.state(l, "b")

    # --- recordings -------------------------------------------------------------------------------
    def record(self, x: np.ndarray, y: np.ndarray, layers: tuple[int | str, ...], variables: tuple[str, ...]) -> dict:
        """Show the examples with their error phases but no weight change, recording the chosen layers
        (see :meth:`monitoring`)."""
        with self.monitoring(layers, variables) as out:
            self.present(x, y, 0.0, np.random.default_rng(0), learn=False, errors=True)
        return out
