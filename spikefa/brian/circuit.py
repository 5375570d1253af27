"""A rate circuit in Brian2, learning with the reference engine's rules and kernels in place.

Presentation: many examples run inside one ``Network.run``. A ``network_operation`` at the start of
every step keeps a per-example schedule of T = 2L steps (L forward projections):

- step 0: the populations are put at rest (v = 0) and the input rates set to the example; the forward
  pathway settles one layer per step;
- step L: the output population's drive is read, the output error δ_L = ∂loss/∂a is written into its
  ``delta``; the feedback pathway carries it back, one layer per step, into the error compartments;
- step T (= step 0 of the next example): each synapse group changes by the rule, from the activities
  and errors it sees (pre rate, post delta), through the shared kernels, in place on Brian2's arrays.

With dt = tau every population is at its steady state when read, so one example gives the reference
engine's activities, errors and weight changes (tested to 1e-6 relative).
"""

from __future__ import annotations

import numpy as np
from brian2 import Network, NetworkOperation, Quantity, StateMonitor, ms, prefs, second

from ..errors import SpikefaError
from ..reference import ReferenceEngine
from ..spec import BRIAN_TARGETS, seconds
from .pathways import feedback_pathway, forward_pathway, matrix_view
from .populations import hidden_population, input_population, output_population


class RateCircuit:
    """Brian2 populations and pathways for ``engine``'s network; ``engine.params`` is rebound to views
    of the synapse and bias arrays, so ``engine.learn`` changes the circuit's synapses directly."""

    def __init__(self, engine: ReferenceEngine, tau: Quantity = 1 * ms, dt: Quantity = 1 * ms, target: str = "cython"):
        if target not in BRIAN_TARGETS:
            raise SpikefaError(f"brian target: unknown value {target!r}; allowed: {', '.join(BRIAN_TARGETS)}")
        if engine.rule.topology == "local":
            raise SpikefaError("rule: local_classifiers has no Brian2 circuit yet; use engine: reference")
        prefs.codegen.target = target
        self.engine, self.L, self.dt = engine, engine.L, dt
        net, p = engine.circuit.network, engine.params
        sizes = engine.sizes
        self.groups = [input_population(sizes[0], dt, "layer0")]
        mirrors = engine.rule.name == "weight_mirror"
        self.groups += [
            hidden_population(n, net.hidden, tau, dt, f"layer{l}", mirrors) for l, n in enumerate(sizes[1:-1], 1)
        ]
        self.groups.append(output_population(sizes[-1], net.output, tau, dt, f"layer{self.L}"))
        self.forward = [forward_pathway(self.groups[l], self.groups[l + 1], dt, f"W{l}") for l in range(self.L)]
        source = {"layerwise": lambda l: self.groups[l + 1], "direct": lambda l: self.groups[self.L]}[
            engine.rule.topology
        ]
        self.feedback = [None] + [feedback_pathway(source(l), self.groups[l], dt, f"B{l}") for l in range(1, self.L)]
        # Copy the engine's parameters in, then make the engine's arrays views of Brian2's.
        for l, syn in enumerate(self.forward):
            view = matrix_view(syn)
            view[...] = p.W[l]
            p.W[l] = view
            bias = self.groups[l + 1].variables["b"].get_value()
            bias[...] = p.b[l]
            p.b[l] = bias
        self.B = [None] + [matrix_view(syn) for syn in self.feedback[1:]]
        for l in range(1, self.L):
            if p.B[l] is not None:
                self.B[l][...] = p.B[l]
                p.B[l] = self.B[l]
        self.transport()
        self.steps = 2 * self.L
        self._mirror = None  # mirror-mode state while a mirror phase runs
        self.network = Network(
            *self.groups, *self.forward, *self.feedback[1:], NetworkOperation(self._tick, dt=dt, when="start")
        )

    def transport(self) -> None:
        """Copy into each feedback group whatever the rule's feedback matrix is when it is not the group's
        own array — only backprop's Wᵀ, the weight transport that rule is defined by."""
        for l in range(1, self.L):
            fb = self.engine.rule.feedback(l, self.engine.params)
            if fb is not self.B[l]:
                self.B[l][...] = fb

    @classmethod
    def for_engine(cls, engine: ReferenceEngine) -> RateCircuit:
        """The circuit the engine's circuit file asks for (its ``brian`` block)."""
        b = engine.circuit.brian
        return cls(engine, tau=seconds(b.tau) * second, dt=seconds(b.dt) * second, target=b.target)

    # --- presentation ---------------------------------------------------------------------------
    def train_batch(
        self, x: np.ndarray, y: np.ndarray, lr: float, rng: np.random.Generator
    ) -> tuple[float, np.ndarray]:
        """The reference engine's ``train_batch`` contract for a block of examples presented in one run,
        each learned from on its own (batch size 1, learning rate ``lr`` per example): returns the mean
        loss and the outputs, each before its example's weight change."""
        seen = self.present(x, y, lr, rng)
        out = np.vstack([H[-1] for _, H, _ in seen])
        return float(np.mean([self.engine.loss(H[-1], y[k : k + 1]) for k, (_, H, _) in enumerate(seen)])), out

    def present(
        self, x: np.ndarray, y: np.ndarray, lr: float, rng: np.random.Generator, learn: bool = True
    ) -> list[tuple[list, list, list]]:
        """Present the examples (rows of x, y) in one Brian2 run, learning after each if ``learn``.
        Returns, per example, (A, H, deltas) as the circuit computed them, before its weight change."""
        self._x, self._y, self._lr, self._rng, self._learn = x, y, lr, rng, learn
        self._step, self._seen = 0, []
        self.network.run(len(x) * self.steps * self.dt)
        if len(self._seen) < len(x):
            self._finish()
        return self._seen

    def record(self, x: np.ndarray, y: np.ndarray, layers: tuple[int, ...], variables: tuple[str, ...]) -> dict:
        """Show the examples without learning while Brian2 ``StateMonitor``s record the chosen variables
        of the chosen populations every time step. Returns ``t`` (seconds) and ``layer{l}_{var}`` arrays
        (neurons × time steps), for each variable the population has (the input has only ``r``)."""
        monitors = {}
        for l in layers:
            group = self.groups[l]
            own = [v for v in variables if v in group.variables]
            if own:
                monitors[l] = StateMonitor(group, own, record=True, dt=self.dt, when="end")
        self.network.add(*monitors.values())
        try:
            self.present(x, y, 0.0, np.random.default_rng(0), learn=False)
        finally:
            self.network.remove(*monitors.values())
        out = {"t": np.asarray(next(iter(monitors.values())).t / second)} if monitors else {}
        for l, mon in monitors.items():
            for v in mon.record_variables:
                out[f"layer{l}_{v}"] = np.asarray(getattr(mon, v))
        return out

    def mirror(self, steps: int, rng: np.random.Generator) -> None:
        """Weight-mirror mode (Akrout et al. 2019, eq. 7) as a circuit: for ``steps`` × batch_size time
        steps every hidden population fires N(0, σ²) noise rates (no data, no labels), the layer above
        responds through W with its synaptic drive ``I_ff``, and after every batch_size samples each
        feedback synapse changes by its own post (noise) and pre (response) activity."""
        m = self.engine.rule.spec.mirror
        layers = range(1, self.L)
        self._mirror = {
            "rng": rng,
            "sigma": m.noise_std,
            "n": steps * m.batch_size,
            "bs": m.batch_size,
            "t": 0,
            "x": {l: np.empty((m.batch_size, len(self.groups[l]))) for l in layers},
            "y": {l: np.empty((m.batch_size, len(self.groups[l + 1]))) for l in layers},
        }
        for l in layers:
            self.groups[l].mirroring = 1
        try:
            self.network.run((self._mirror["n"] + 1) * self.dt)
        finally:
            for l in layers:
                self.groups[l].mirroring = 0
            self._mirror = None

    def _tick_mirror(self) -> None:
        s = self._mirror
        t, bs = s["t"], s["bs"]
        s["t"] += 1
        if t > s["n"]:
            return
        if t > 0:  # the responses to the noise fired at step t − 1
            for l, y in s["y"].items():
                y[(t - 1) % bs] = self.groups[l + 1].variables["I_ff"].get_value()
            if t % bs == 0:
                for l in s["x"]:
                    self.engine.rule.mirror_update(self.B[l], s["x"][l], s["y"][l])
        if t < s["n"]:
            for l, x in s["x"].items():
                x[t % bs] = s["rng"].standard_normal(len(x[0])) * s["sigma"]
                self.groups[l].variables["noise"].get_value()[:] = x[t % bs]

    def _tick(self) -> None:
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
            self.groups[0].variables["r"].get_value()[:] = self._x[k]
            self.groups[self.L].variables["delta"].get_value()[:] = 0.0
            for grp in self.groups[1:]:  # each example starts from rest: no rounding carried between them
                grp.variables["v"].get_value()[:] = 0.0
        elif phase == self.L:
            a = self.groups[self.L].variables["v"].get_value()[None, :]
            delta = self.engine.output_delta(a, self.engine.f_out(a), self._y[k][None, :])
            self.groups[self.L].variables["delta"].get_value()[:] = delta[0]

    def _finish(self) -> None:
        """Read the settled activities and errors of the example just presented, and learn from them."""
        k = len(self._seen)
        g = self.groups
        # Read the state arrays directly (Brian2's indexing machinery costs ~1 ms per read) and apply the
        # populations' own r = f(v) and delta = err · f'(v) with the engine's functions.
        e = self.engine
        A = [None] + [grp.variables["v"].get_value()[None, :].copy() for grp in g[1:]]
        H = [self._x[k][None, :]] + [e.f(a) for a in A[1:-1]] + [e.f_out(A[-1])]
        deltas = [None] + [g[l].variables["err"].get_value()[None, :] * e.df(A[l], H[l]) for l in range(1, self.L)]
        deltas.append(g[self.L].variables["delta"].get_value()[None, :].copy())
        self._seen.append((A, H, deltas))
        if self._learn:
            self.engine.learn(H, deltas, self._lr, self._rng)
            self.transport()
