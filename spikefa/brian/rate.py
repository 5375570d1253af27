"""A rate circuit in Brian2, learning with the reference engine's rules and kernels in place.

Presentation: many examples run inside one ``Network.run``. A ``network_operation`` at the start of
every step keeps a per-example schedule of F + E steps (``brian.forward_time`` and ``error_time``;
by default L steps each, L forward projections):

- step 0: the populations are put at rest (v = 0) and the input rates set to the example; the forward
  pathway settles (one layer per step when dt = tau, exponentially with time constant tau otherwise);
- step F: the output population's drive is read, the output error δ_L = ∂loss/∂a is written into its
  ``delta``; the feedback pathway carries it back, one layer per step, into the error compartments;
- step F + E (= step 0 of the next example): each synapse group changes by the rule, from the
  activities and errors it sees (pre rate, post delta), through the shared kernels, in place.

A delayed feedback pathway (``feedback.delay``) reads a copy of its source's delta from that many steps
ago, written each step from a delay line (Brian2 summed variables take no delay): by the schedule, or
in generated code by the source population's own line of variables (``line_B{l}_{k}``), emptied at
each example's start as the schedule's is.

With dt = tau every population is at its steady state when read, so one example gives the reference
engine's activities, errors and weight changes (tested to 1e-6 relative); with dt < tau the circuit
relaxes towards that state, and reaches it to e^(−F/tau)-ish precision.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from brian2 import Network, NetworkOperation, NeuronGroup, Synapses, second

from .. import spec
from ..reference import ReferenceEngine
from ..spec import seconds
from .circuit import Circuit, live
from .generated import Generated, forward_update
from .pathways import feedback_pathway, forward_pathway, rate_link
from .populations import extra_rate_population, hidden_population, input_population, output_population


class RateCircuit(Circuit):
    """Rate populations (leaky integrators), presented on the per-example schedule above."""

    stochastic = False  # draws random numbers (a seed per block)

    def __init__(self, engine: ReferenceEngine, target: str | None = None):
        self.tau = seconds(engine.circuit.brian.tau) * second
        # delayed feedback pathways: l → (source population, delay in steps); each reads a copy of its
        # source's delta from that many steps ago, kept in a line the schedule shifts every step
        b, topology = engine.circuit.brian, engine.rule.topology
        source = {"layerwise": lambda l: f"layer{l + 1}", "direct": lambda l: f"layer{engine.L}"}.get(
            topology, lambda l: f"classifier{l}"
        )
        self.delays = {
            l: (source(l), round(seconds(engine.structure.pathway(l).delay) / seconds(b.dt)))
            for l in range(1, engine.L)
            if seconds(engine.structure.pathway(l).delay) > 0
        }
        self._lines: dict[int, deque] = {}
        self._step = 0  # the step of the block in progress (mirror phases too count from here)
        super().__init__(engine, target)
        self.steps = self.forward_steps + self.error_steps
        self.readout = "v"  # the output's drive, as the generated schedule records it
        if self.code:
            self.generated = Generated(self)
            self.network = Network(*self.objects(), *self.generated.objects)
        else:
            self.network = Network(*self.objects(), NetworkOperation(self._tick, clock=self.clock, when="start"))

    def delayed(self, name: str) -> tuple[str, ...]:
        """The delayed copies of population ``name``'s delta that delayed pathways read."""
        return tuple(f"delta_B{l}" for l, (source, _) in self.delays.items() if source == name)

    def neuron_variables(self, name: str) -> str:
        """Generated code also keeps, in a delayed pathway's source population, the line of its delta's
        past values (see :meth:`step_code`)."""
        lines = [f"line_B{l}_{k} : 1\n" for l, (source, n) in self.delays.items() if source == name for k in range(n)]
        return super().neuron_variables(name) + ("".join(lines) if self.code else "")

    def step_code(self) -> list[tuple[NeuronGroup, str, str]]:
        """(population, statements, name) run at every step's start, after the example's rest and
        teacher: each delayed pathway's line, as :meth:`_shift` keeps it — emptied when an example
        starts (``tick``), its oldest value given to ``delta_B{l}``, the source's delta appended."""
        out = []
        for l, (source, n) in self.delays.items():
            line = [f"line_B{l}_{k}" for k in range(n)]
            code = [f"{v} = {v} * int(tick(t - t_block) == 0)" for v in line]
            code += [f"delta_B{l} = {line[0]}", *(f"{a} = {b}" for a, b in zip(line, line[1:])), f"{line[-1]} = delta"]
            out.append((self.population(source), "\n".join(code), f"line_B{l}"))
        return out

    def inputs(self, name: str, into: str) -> tuple[str, ...]:
        """The variables the circuit file's own pathways into population ``name``'s drive (or error
        compartment) sum into: ``I_{pathway}`` (``err_{pathway}``)."""
        prefix = "I" if into == "drive" else "err"
        return tuple(
            f"{prefix}_{k.name}" for k in self.engine.circuit.brian.pathways if k.target == name and k.into == into
        )

    def populations(self) -> list[NeuronGroup]:
        net, sizes, mirrors = self.engine.circuit.network, self.engine.sizes, self.engine.rule.has_mirror_phase
        hidden = []
        for l, n in enumerate(sizes[1:-1], 1):
            name = f"layer{l}"
            drives, errors = self.inputs(name, "drive"), self.inputs(name, "error")
            hidden.append(
                hidden_population(
                    n,
                    net.hidden,
                    self.tau,
                    self.clock,
                    name,
                    mirrors,
                    self.delayed(name),
                    drives,
                    errors,
                    self.neuron_variables(name),
                )
            )
        out = f"layer{self.L}"
        return [
            input_population(sizes[0], self.clock, "layer0", self.input_events()),
            *hidden,
            output_population(
                sizes[-1],
                net.output,
                self.tau,
                self.clock,
                out,
                self.delayed(out),
                self.inputs(out, "drive"),
                self.neuron_variables(out),
            ),
        ]

    def extra_population(self, extra: spec.Extra) -> NeuronGroup:
        """A rate population that is not a layer, of the network's hidden activation."""
        drives, errors = self.inputs(extra.name, "drive"), self.inputs(extra.name, "error")
        hidden = self.engine.circuit.network.hidden
        return extra_rate_population(extra.size, hidden, extra.error, self.tau, self.clock, extra.name, drives, errors)

    def link(self, pre: NeuronGroup, post: NeuronGroup, link: spec.Link, connections) -> Synapses:
        return rate_link(pre, post, self.clock, link.name, link.into, connections)

    def compartment(self, l: int) -> np.ndarray:
        """Hidden layer l's error compartment: ``err`` (from B) plus its other error inputs."""
        group = self.groups[l]
        return sum((live(group, v) for v in self.inputs(group.name, "error")), live(group, "err").copy())

    def classifier_population(self, l: int) -> NeuronGroup:
        n, output = self.engine.sizes[-1], self.engine.circuit.network.output
        name = f"classifier{l}"
        return output_population(
            n, output, self.tau, self.clock, name, self.delayed(name), variables=self.neuron_variables(name)
        )

    def forward_pathway(self, pre: NeuronGroup, post: NeuronGroup, name: str, connections=None, delay="0 ms"):
        variables = self.synapse_variables(name=name) if name.startswith("W") else ""
        learn = forward_update(self, 0) if pre is self.groups[0] and self.learns_on_events(0) else ""
        # generated code: the input is constant through an example, so its pathway adds W x once, at the
        # example's first step, from the inputs that are not zero (the costliest synapse loop otherwise)
        per_example = self.code and pre is self.groups[0]
        return forward_pathway(pre, post, self.clock, name, connections, variables, learn, per_example)

    def input_events(self) -> dict | None:
        """Generated code: the input's ``present`` events at every example's start, after it took its
        rates, for each input that is not zero (see :meth:`forward_pathway`), besides its ``learn`` events."""
        if not self.code:
            return None
        return (super().input_events() or {}) | {"present": "r != 0 and tick(t - t_block) > 0"}

    def feedback_pathway(self, source: NeuronGroup, target: NeuronGroup, name: str, l: int):
        carried = f"delta_B{l}" if l in self.delays else "delta"
        connections = self.engine.structure.connections(l)
        return feedback_pathway(
            source, target, self.clock, name, connections, carried, self.synapse_variables(feedback=True, name=name)
        )

    # --- the neuron model's code, for the generated schedule (generated.py) ----------------------
    def drive_code(self, suffix: str) -> str:
        return f"v{suffix}"

    def rate_code(self, group: NeuronGroup, suffix: str) -> str:
        return f"r{suffix}"

    def error_code(self, group: NeuronGroup, suffix: str) -> str:
        return f"delta{suffix}"

    def code_namespace(self) -> dict:
        return {}

    def rest_code(self, group: NeuronGroup) -> str:
        """An example's start: the input takes its rates, every population its rest (v = 0, a hidden
        rate f(0), a teachable population's error 0), as :meth:`_schedule` does."""
        if group is self.groups[0]:
            return "r = inputs(t - t_block, i)"
        rest = "v = 0" + "\nI_ff = 0" * (group is self.groups[1])  # the input's pathway adds into I_ff
        if group in self.extras.values():  # its rate and error are expressions of v and its inputs
            return rest
        if group in self.teachable():
            return rest + "\ndelta = 0"
        if "err" in group.variables:
            return rest + f"\nr = {float(self.engine.f(np.zeros(1))[0])!r}"
        return rest

    def mirror_sample_steps(self) -> int:
        return 1

    def mirror_x(self, suffix: str) -> str:
        return f"r{suffix}"

    def mirror_y(self, suffix: str) -> str:
        return f"I_ff{suffix}"

    def mirror_drawn_layers(self) -> list[int]:
        return [l for l, syn in enumerate(self.feedback) if syn is not None]

    def mirror_start_code(self, group: NeuronGroup) -> str:
        """A noise layer takes the sample's noise rates (the trainer's draws, as the reference engine's)."""
        l = self.groups.index(group) if group in self.groups else None
        return f"r = mirror_noise{l}(t - t_block, i)" if l in self.mirror_drawn_layers() else ""

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Outputs for x: the reference engine's, which this circuit computes number for number — unless
        the circuit file adds drive to a layer (a pathway ``into: drive``): then the circuit's own,
        simulated (forward and error time, no learning)."""
        if not self.engine.driven_elsewhere:
            return self.engine.predict(x)
        if self.code:  # in blocks of the built size, nothing learned
            return self.engine.f_out(self.generated.read_out(x, None))
        y = np.zeros((len(x), self.engine.sizes[-1]))
        return np.vstack([H[-1] for _, H, _ in self.present(x, y, 0.0, np.random.default_rng(0), learn=False)])

    # --- presentation ---------------------------------------------------------------------------
    def train_batch(
        self, x: np.ndarray, y: np.ndarray, lr: float, rng: np.random.Generator
    ) -> tuple[float, np.ndarray]:
        """The reference engine's ``train_batch`` contract for a block of examples presented in one run,
        each learned from on its own (batch size 1, learning rate ``lr`` per example): returns the mean
        loss and the outputs, each before its example's weight change."""
        if self.code:
            out = self.engine.f_out(self.generated.run(x, y, lr, rng))
        else:
            out = np.vstack([H[-1] for _, H, _ in self.present(x, y, lr, rng)])
        return float(np.mean([self.engine.loss(o[None, :], y[k : k + 1]) for k, o in enumerate(out)])), out

    def present(
        self, x: np.ndarray, y: np.ndarray, lr: float, rng: np.random.Generator, learn: bool = True
    ) -> list[tuple[list, list, list]]:
        """Present the examples (rows of x, y) in one Brian2 run, learning after each if ``learn``.
        Returns, per example, (A, H, deltas) as the circuit computed them, before its weight change."""
        self._x, self._y, self._lr, self._rng, self._learn = x, y, lr, rng, learn
        self._step, self._seen = 0, []
        self.simulate(len(x) * self.steps * self.dt, "learning" if learn else "test")
        if len(self._seen) < len(x):
            self._finish()
        return self._seen

    def record(self, x: np.ndarray, y: np.ndarray, layers: tuple[int | str, ...], variables: tuple[str, ...]) -> dict:
        """Show the examples without learning, recording the chosen populations every time step (see
        :meth:`~spikefa.brian.circuit.Circuit.monitoring`): ``t`` (seconds from the start) and
        ``{population}_{var}`` arrays (neurons × time steps), for each variable the population has."""
        if self.code:
            return self.generated.record(x, y, layers, variables)
        with self.monitoring(layers, variables) as out:
            self.present(x, y, 0.0, np.random.default_rng(0), learn=False)
        return out

    def mirror(self, steps: int, rng: np.random.Generator) -> None:
        """Weight-mirror mode (Akrout et al. 2019, eq. 7) as a circuit: for ``steps`` × batch_size time
        steps every hidden population fires N(0, σ²) noise rates (no data, no labels), the layer above
        responds through W with its synaptic drive ``I_ff``, and after every batch_size samples each
        feedback synapse changes by its own post (noise) and pre (response) activity."""
        if self.code:
            self.generated.mirror(steps, rng)
            return
        with self.mirror_mode(steps, rng=rng) as s:
            self.simulate((s["n"] + 1) * self.dt, "mirror")

    def mirror_seconds_per_step(self) -> float:
        """Simulated time of one mirror step: batch_size noise samples, one time step each."""
        return self.engine.rule.spec.mirror.batch_size * float(self.dt)

    def _tick_mirror(self) -> None:
        s = self._mirror
        t, bs = s["t"], s["bs"]
        s["t"] += 1
        if t > s["n"]:
            return
        if t > 0:  # the responses to the noise fired at step t − 1
            for l, y in s["y"].items():
                y[(t - 1) % bs] = self.state(l + 1, "I_ff")
            if t % bs == 0:
                for l in s["x"]:
                    self.mirror_update(l, s["x"][l], s["y"][l])
        if t < s["n"]:
            for l, x in s["x"].items():
                x[t % bs] = self.engine.rule.noise(s["rng"], (len(x[0]),), x.dtype)
                self.state(l, "r")[:] = x[t % bs]

    def _tick(self) -> None:
        step, mirror = self._step, self._mirror is not None
        sample = self._mirror["t"] if mirror else 0
        self._schedule()
        if self.recorder is not None:  # after the schedule acted: the example (or noise sample) of this step
            dt = float(self.dt)
            if mirror:  # one step per noise sample
                self.recorder.sample(sample - 1, 0.0, dt)
            else:
                self.recorder.sample(step // self.steps, (step % self.steps) * dt, self.steps * dt)

    def _schedule(self) -> None:
        if self._mirror is not None:
            self._tick_mirror()
            return
        k, phase = divmod(self._step, self.steps)
        self._step += 1
        if k >= len(self._x):
            return
        if phase == 0:
            if k > 0:
                self._finish()
            self.state(0, "r")[:] = self._x[k]
            for group in self.teachable():
                live(group, "delta")[:] = 0.0
            for group in self.driven():  # each example starts from rest
                live(group, "v")[:] = 0.0
            for l in range(1, self.L):  # and a hidden rate follows its v (see populations.py)
                self.state(l, "r")[:] = self.engine.f(self.state(l, "v"))
        elif phase == self.forward_steps:
            self.teach(self._y[k], "v")
        if self.delays:
            self._shift(restart=phase == 0)

    def _shift(self, restart: bool) -> None:
        """Delayed pathways: each reads, this step, its source's delta of ``delay`` steps ago (zero before
        the example started)."""
        for l, (source, steps) in self.delays.items():
            group = self.population(source)
            if restart or l not in self._lines:
                self._lines[l] = deque(np.zeros(len(group)) for _ in range(steps))
            if "err" in group.variables:  # a hidden layer: delta = err · f'(v), a subexpression
                v = live(group, "v")
                now = self.compartment(int(source.removeprefix("layer"))) * self.engine.df(v, self.engine.f(v))
            else:
                now = live(group, "delta").copy()
            self._lines[l].append(now)
            live(group, f"delta_B{l}")[:] = self._lines[l].popleft()

    def _finish(self) -> None:
        """Read the settled activities and errors of the example just presented, and learn from them."""
        k = len(self._seen)
        # Apply the populations' own r = f(v) and delta = err · f'(v) with the engine's functions.
        e = self.engine
        A = [None] + [self.state(l, "v")[None, :].copy() for l in range(1, self.L + 1)]
        H = [self._x[k][None, :]] + [e.f(a) for a in A[1:-1]] + [e.f_out(A[-1])]
        deltas = [None] + [self.compartment(l)[None, :] * e.df(A[l], H[l]) for l in range(1, self.L)]
        deltas.append(self.state(self.L, "delta")[None, :].copy())
        self._seen.append((A, H, deltas))
        if self._learn:
            self.engine.learn(H, deltas, self._lr, self._rng)
            self.sync_weights()
