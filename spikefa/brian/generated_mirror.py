"""The weight mirror's noise phases (Akrout et al. 2019, eq. 7) as Brian2 code, for ``brian.plasticity:
code``: a segment of K mirror steps (K × batch_size noise samples) that runs with no Python between
steps, on any target; K is ``mirror.steps_per_batch`` (10 if none are interleaved), and a call for fewer
steps leaves the segment's last samples unused.

A sample is one step (rate circuits) or one ``mirror_window`` (LIF), on a clock of its own; t − t_block is
the time since the segment began:

- rate circuits, at the start of sample j ≥ 1, order −1: every synapse of B_l adds x_post · y_pre of
  sample j − 1 to its sum (x: what its target, a neuron of noise layer l, fired; y: the answer of its
  source in layer l + 1);
- at every batch end (j a multiple of batch_size), order 0: B ← (1 − λ_B) B, and (rate circuits)
  + η_B / n · Σ x yᵀ, the reference engine's :meth:`~spikefa.rules.WeightMirror.mirror_update`, then
  B's sign constraint, and the sums back to 0;
- order 1: the next sample starts as the circuit's :meth:`mirror_start_code` says: a rate circuit's noise
  layers take their rates from a ``TimedArray`` drawn as the reference engine draws them (so the segment
  is the engine's ``mirror`` to rounding), a LIF circuit's populations go back to rest at the segment's
  first sample;
- order 2 (LIF): the circuit's :meth:`mirror_switches` set from ``TimedArray``s which layers fire
  Poisson noise (Brian2's random numbers, seeded per segment, as the kernel path seeds them per K
  steps), which answer held and which B learn — B itself learns on its synapses' spikes.

Outside a segment its objects are inactive, and in one the presentation schedule's are; on cpp_standalone
the compiled project holds both runs, and each run of the binary is one block or one segment (``mode``).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
from brian2 import Clock, TimedArray

from .. import spec
from .statements import constrain

STEPS_WITHOUT_INTERLEAVING = 10  # mirror steps per segment when none follow the learning blocks


def segment_steps(mirror: spec.Mirror, least: int = 1) -> int:
    """K, the mirror steps of one segment: ``steps_per_batch``, or 10 where none are interleaved, and at
    least ``least`` (a spiking circuit's segment must outlast its settling: see
    :meth:`~spikefa.brian.lif.LifCircuit.mirror_least_steps`). A LIF circuit's noise is seeded per
    segment; its Python schedule seeds it per K steps too (the same spikes)."""
    return max(mirror.steps_per_batch or STEPS_WITHOUT_INTERLEAVING, least)


class MirrorSegment:
    """The mirror segment of ``generated``'s circuit: its Brian2 objects (:attr:`ops`), the values of one
    segment's ``TimedArray``s (:meth:`values`) and the switch between presenting and mirroring
    (:meth:`switched`)."""

    def __init__(self, generated):
        self.g = g = generated
        self.c = c = generated.c
        m = c.engine.rule.spec.mirror
        self.bs = m.batch_size
        self.steps = segment_steps(m, c.mirror_least_steps())
        self.samples = self.steps * self.bs
        self.sample = c.mirror_sample_steps() * c.dt
        self.steps_long = (self.samples + 1) * c.mirror_sample_steps()  # time steps a segment takes
        self.clock = c.clock if c.mirror_sample_steps() == 1 else Clock(self.sample, name="mirror_clock")
        self.pairs = [(syn.target, syn.source, syn) for syn in c.feedback if syn is not None]  # (noise, answer, B)
        rows = self.samples + 2  # the last, of zeros, read by any samples after the segment's
        self.gate = TimedArray(np.zeros(rows), dt=self.sample, name="mirror_sample")  # 1 where one was collected
        self.batch = TimedArray(np.zeros(rows), dt=self.sample, name="mirror_batch")  # 1 at batch ends
        first = np.zeros(rows)
        first[0] = 1.0
        self.noise = {
            l: TimedArray(np.zeros((rows, len(c.groups[l]))), dt=self.sample, name=f"mirror_noise{l}")
            for l in c.mirror_drawn_layers()
        }
        g.names.update(
            {
                "mirror_sample": self.gate,
                "mirror_batch": self.batch,
                "mirror_first": TimedArray(first, dt=self.sample, name="mirror_first"),
                "mirror_rate": m.lr / self.bs,
                "mirror_decay": m.decay,
                "mirror_n": float(self.bs),
                **{f"mirror_noise{l}": timed for l, timed in self.noise.items()},
                **c.mirror_namespace(),
            }
        )
        self.ops: list = []
        if c.mirror_spiking:  # which layers fire noise in each sample (B learns on its pathway's spikes)
            self.on = {
                l: tuple(TimedArray(np.zeros(rows), dt=self.sample, name=f"mirror_{k}{l}") for k in ("on", "learn"))
                for l in c.mirror_layers()
            }
            g.names.update({timed.name: timed for pair in self.on.values() for timed in pair})
        else:
            self.on = {}
            self.collect()
        self.update()
        for group in [c.groups[0], *c.driven()]:
            code = c.mirror_start_code(group)
            if code:
                self.ops.append(g.schedule(group, code, "mirror_start", clock=self.clock, order=1))
        for owner, code, name in c.mirror_switches() if self.on else ():
            self.ops.append(g.schedule(owner, code, name, clock=self.clock, order=2))
        for op in self.ops:
            op.active = False

    def collect(self) -> None:
        """Every sample's x · y into each synapse's sum (circuits whose B learns from samples)."""
        c, gate = self.c, "mirror_sample(t - t_block)"
        for _, _, syn in self.pairs:
            code = f"mxy = mxy + {gate} * ({c.mirror_x('_post')}) * ({c.mirror_y('_pre')})"
            self.ops.append(self.g.schedule(syn, code, "mirror_collect", clock=self.clock, order=-1))

    def update(self) -> None:
        """At every batch end: B decays, and (circuits whose B learns from samples) takes the batch's sum."""
        e, at = self.c.engine, "mirror_batch(t - t_block)"
        for l, syn in enumerate(self.c.feedback):
            if syn is None:
                continue
            if self.c.mirror_spiking:
                lines = [f"w = (1 - {at} * mirror_decay) * w"]
            else:
                lines = [f"w = (1 - {at} * mirror_decay) * w + {at} * mirror_rate * mxy", f"mxy = mxy * (1 - {at})"]
                lines += constrain("w", e.structure.pathway(l).sign)
            self.ops.append(self.g.schedule(syn, "\n".join(lines), "mirror_update", clock=self.clock, order=0))

    def values(self, steps: int, rng: np.random.Generator) -> dict:
        """The segment's ``TimedArray`` values for ``steps`` ≤ K mirror steps: its gates, and a rate
        circuit's noise, drawn step by step and layer by layer from ``rng`` as the reference engine does."""
        n, rows = steps * self.bs, self.samples + 2
        gate, batch = np.zeros(rows), np.zeros(rows)
        gate[1 : n + 1] = 1.0
        batch[self.bs : n + 1 : self.bs] = 1.0
        out = {self.gate: gate, self.batch: batch}
        if self.on:
            schedule = self.c.mirror_schedule(rows, n)
            for l, pair in self.on.items():
                out |= dict(zip(pair, schedule[l], strict=True))
        noise = {l: np.zeros(timed.values.shape) for l, timed in self.noise.items()}
        rule = self.c.engine.rule
        for s in range(steps):
            for x in noise.values():
                x[s * self.bs : (s + 1) * self.bs] = rule.noise(rng, (self.bs, x.shape[1]), x.dtype)
        return out | {self.noise[l]: x for l, x in noise.items()}

    @contextmanager
    def switched(self):
        """Mirroring instead of presenting while the block runs: the schedule's objects inactive, the
        segment's active, the noise layers in mirror mode."""
        schedule = {op: op.active for op in self.g.presenting()}
        for op in schedule:
            op.active = False
        for op in self.ops:
            op.active = True
        noise = [] if self.c.mirror_spiking else [group for group, _, _ in self.pairs]  # (switched per sample)
        for group in noise:
            group.mirroring = 1
        try:
            yield
        finally:
            for group in noise:
                group.mirroring = 0
            for op in self.ops:
                op.active = False
            for op, active in schedule.items():
                op.active = active
