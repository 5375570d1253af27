"""How much memory a circuit needs, estimated from its description before anything is allocated.

A run that cannot fit is refused up front, with the estimate and the machine's available memory,
instead of failing inside NumPy or Brian2 half-way through building (and leaving a run folder behind).
The estimate is an upper bound of the large arrays, not an exact account:

- data: training and test inputs and targets in the circuit's dtype;
- parameters: W, b and B with their momentum buffers, B0 (sign symmetry's magnitudes), and the copy a
  checkpoint makes of all of them;
- activity: a batch's pre-activations, activities, errors and gradient matrices (one per weight);
- Brian2: per synapse its weight, two index arrays and Brian2's per-synapse bookkeeping, with the
  temporaries ``Synapses.connect`` makes (measured peak ≈ 5 index-sized arrays), and state monitors.
"""

from __future__ import annotations

import math

import psutil

from . import spec
from .errors import SpikefaError
from .rules import rule_class

# examples, inputs, outputs
TASK_SHAPES = {"digits": (1797, 64, 10), "mnist": (70000, 784, 10), "mnist1d": (5000, 40, 10)}
TEACHER_EXAMPLES = (10000, 1000)
BRIAN_BYTES_PER_SYNAPSE = 64  # w (8), i and j (4 + 4), delay and bookkeeping, connect's temporaries
BRIAN_BYTES_PER_NEURON = 256  # a dozen state variables and their traces


def estimate(circuit: spec.Circuit) -> dict[str, int]:
    """Bytes per part (``data``, ``parameters``, ``activity``, ``brian2``) for ``circuit``."""
    item = 8 if circuit.dtype == "float64" else 4
    sizes = circuit.network.sizes
    t = circuit.task
    if t.name in TASK_SHAPES:
        n, n_in, n_out = TASK_SHAPES[t.name]
        examples = min(n, (t.n_train or n) + (t.n_test or n))
    else:
        n_in, n_out = t.teacher_sizes[0], t.teacher_sizes[-1]
        examples = (t.n_train or TEACHER_EXAMPLES[0]) + (t.n_test or TEACHER_EXAMPLES[1])
    noise = max((p.samples_per_epoch for p in circuit.phases if p.kind == "noise_pretrain"), default=0)
    weights = sum(a * b for a, b in zip(sizes, sizes[1:]))
    if rule_class(circuit.rule.name).topology in ("direct", "local"):  # from / to the output size
        feedback = sizes[-1] * sum(sizes[1:-1])
    else:
        feedback = sum(a * b for a, b in zip(sizes[1:-1], sizes[2:]))
    batch = max(circuit.optimizer.batch_size, circuit.rule.mirror.batch_size)
    parts = {
        "data": (examples + noise) * (n_in + n_out) * item,
        # W and B, momentum buffers, B0, and a checkpoint's copy of each
        "parameters": (weights + feedback) * 4 * item + sum(sizes) * 3 * item,
        # a batch's activities and errors, a gradient matrix per weight, the test set's forward pass
        "activity": (batch * sum(sizes) * 4 + weights + feedback) * item + examples * max(sizes) * 2 * item,
    }
    if circuit.engine == "brian2":
        b = circuit.brian
        synapses = weights + feedback
        monitor = 0
        m = b.monitor
        if m.layers:  # the test recording, or (learning) its windows over every learn epoch
            steps = math.ceil((spec.seconds(b.forward_time) + spec.seconds(b.error_time)) / spec.seconds(b.dt))
            neurons = sum(sizes[l] if isinstance(l, int) else max(sizes) for l in m.layers)
            learned = sum(p.epochs for p in circuit.phases if p.kind != "mirror") * examples // m.every * m.window
            shown = m.examples * ("test" in m.when) + learned * ("learning" in m.when)
            monitor = shown * steps * neurons * len(m.variables) * 8
        parts["brian2"] = synapses * BRIAN_BYTES_PER_SYNAPSE + sum(sizes) * BRIAN_BYTES_PER_NEURON + monitor
    return parts


def human(n: float) -> str:
    """Bytes as a short text: ``1.5 GB``."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} EB"


def check(circuit: spec.Circuit, source: str, available: int | None = None) -> None:
    """Refuse (:class:`SpikefaError`) a circuit whose estimate exceeds the available memory."""
    parts = estimate(circuit)
    need = sum(parts.values())
    available = psutil.virtual_memory().available if available is None else available
    if need > available:
        big = max(parts, key=parts.get)
        weights = sum(a * b for a, b in zip(circuit.network.sizes, circuit.network.sizes[1:]))
        field = "network.sizes" if weights * 8 > parts["data"] else "task.n_train / n_test"
        raise SpikefaError(
            f"{source}: {field}: this circuit needs about {human(need)} of memory ({big} {human(parts[big])}), "
            f"more than the {human(available)} available"
        )
