"""Online, event-driven learning for spiking circuits (``brian.learning: online``): synapses change on
spike events as they happen, in the spirit of event-driven random backpropagation (eRBP, Neftci et al.
2017), with no learning clock inside an example.

- **Error neurons.** Each output neuron's paired ± error units compare its activity with the teacher:
  δ_i = r_i − y_i, its rate trace r (÷ max_rate) against a teacher neuron's, driven towards
  ``brian.lif.target_rate`` for the label (0 for the others) with the circuit's latency
  (:func:`output_error`). They fire at error_rate · [±δ]₊; the feedback synapses carry the events to
  the hidden layers' error compartments, where a hidden neuron's error is err · f'(ū), its own
  compartment times the surrogate slope of its own drive trace.
- **Forward synapses** change on each presynaptic spike by the postsynaptic neuron's error at that
  moment: w ← w − η / (max_rate · T) · δ_post (T the example's duration), so that over an example the
  expected change is the per-example rule's −η δ h, h the source's rate ÷ max_rate, wherever δ is
  steady (the rate limit). Biases, the neuron's own parameter, follow db/dt = −η · bias_scale · δ / T.
- **Feedback synapses** of a rule that learns B from its source's error (Kolen–Pollack, a user's
  ``plasticity`` with ``pre: error``) see it through the error events they carry. With ``post: rate``
  (Kolen–Pollack) each keeps a trace q of them and changes on each spike of its target by
  −η / (max_rate · T) · q: W's own change, sampled at the same neurons' spikes, seen from the other
  side (:func:`feedback_changes`). With ``post: error``, on each event, ∓ η / (error_rate · T) · the
  target's error.
- **Weight decay** (decoupled, ``optimizer.weight_decay``) scales every synapse it applies to by
  (1 − λ) once per example: a uniform forgetting that reads only the weight itself, on a slow clock.

Named simplifications: the output's error is r − y, the gradient of a loss on the output rates (the
softmax normalizer, a sum over the population that no error neuron computes, is not used, so the
reported cross-entropy of the read-out is a measurement, not what is minimised); every population
returns to rest at an example's start (the one per-example signal; nothing learns on it); the
learning rate is a broadcast scalar per example (0 between examples and in tests).

Backprop and sign symmetry have no online form here: their B is a copy of W's every change, which
the per-example schedule makes by construction. Momentum has none either (a buffer per synapse that
every event would have to decay): both are refused with a one-line reason.
"""

from __future__ import annotations

from ..errors import SpikefaError
from .statements import constrain

RATE = "online(t - t_block)"  # η of the example being shown (0 where none is learned)


def check(engine) -> None:
    """Refuse what has no online form, in one line naming the field."""
    rule, o = engine.rule, engine.circuit.optimizer
    if rule.transports_weights:
        raise SpikefaError(
            f"brian.learning: online has no form of rule {rule.name}, whose B copies W's every change "
            "(weight transport); use learning: example"
        )
    if o.momentum:
        raise SpikefaError(
            f"optimizer.momentum: online learning changes synapses on each spike event, with no momentum "
            f"buffer; use momentum: 0 (got {o.momentum})"
        )
    plasticity = rule.code_plasticity()
    if plasticity is not None and plasticity.pre != "error":
        raise SpikefaError(
            f"brian.learning: online: rule {rule.name}'s feedback synapses learn from their source's "
            f"{plasticity.pre}, which they do not carry; online, a feedback synapse sees only the error "
            "events it carries (Plasticity pre: error)"
        )


def seconds(circuit) -> float:
    """T, an example's duration: forward_time + error_time."""
    return circuit.example_steps() * float(circuit.dt)


def error(group, suffix: str = "") -> str:
    """A population's error as its synapses read it: the output's ``delta``, a hidden layer's own."""
    return f"delta{suffix}" if "delta_local" not in group.variables else f"delta_local{suffix}"


def forward_change(circuit, l: int) -> str:
    """W_l's change on each presynaptic spike, then its sign constraint."""
    scale = 1.0 / (float(circuit.namespace["max_rate"]) * seconds(circuit))
    lines = [f"w = w - {RATE} * {scale!r} * {error(circuit.groups[l + 1], '_post')}"]
    return "\n".join([*lines, *constrain("w", circuit.engine.forward_structure.pathway(l).sign)])


def feedback_variables(circuit) -> str:
    """A learning feedback synapse's trace of the error events it carried (Kolen–Pollack online)."""
    plasticity = circuit.engine.rule.code_plasticity()
    return "dq/dt = -q / tau_err : 1 (event-driven)\n" if plasticity and plasticity.post == "rate" else ""


def feedback_changes(circuit, l: int, carries: tuple[str, ...]) -> dict[str, str]:
    """B_l's change, where the rule learns B (event name → statements, ``spike``: its target's spikes).

    ``post: rate`` (Kolen–Pollack): the synapse keeps q, a trace of the signed error events it carried
    (each ± (1 − e^(−dt/tau_err)) / (error_rate · dt), ≈ 1 / (error_rate · tau_err): E[q] = δ_pre a few
    ms late, read after the step's events), and changes on each spike of its
    target by w ← w − η / (max_rate · T) · q — sampled at the target's spikes as W's change is at its
    source's (the same neurons' spikes), so that the two agree within an example too, not only in its
    mean. ``post: error``: on each event carried, w ← w ∓ η / (error_rate · T) · the target's error."""
    e = circuit.engine
    plasticity = e.rule.code_plasticity()
    if plasticity is None:
        return {}
    lr = RATE if plasticity.lr is None else f"{plasticity.lr!r} * int({RATE} > 0)"
    sign = constrain("w", e.structure.pathway(l).sign)
    if plasticity.post == "rate":
        # read after this step's events: a jump of (1 − e^(−dt/τ)) / (error_rate · dt) makes E[q] = δ_pre exactly
        jump = "(1 - exp(-dt / tau_err)) / (error_rate * dt)"
        out = {event: f"q {'+' if event == 'err_pos' else '-'}= {jump}" for event in carries}
        scale = 1.0 / (float(circuit.namespace["max_rate"]) * seconds(circuit))
        return out | {"spike": "\n".join([f"w = w - {lr} * {scale!r} * q", *sign])}
    scale = 1.0 / (float(circuit.namespace["error_rate"]) * seconds(circuit))
    post = error(circuit.groups[l], "_post")
    return {
        event: "\n".join([f"w = w {'-' if event == 'err_pos' else '+'} {lr} * {scale!r} * {post}", *sign])
        for event in carries
    }


def bias_change(circuit, group) -> str:
    """A layer's bias, every step: db/dt = −η · bias_scale · δ / T."""
    step = float(circuit.dt) / seconds(circuit)
    return f"b = b - bias_scale * {RATE} * {step!r} * {error(group)}"


def decay(circuit, feedback: bool) -> str | None:
    """Once per example, every synapse of a pathway with decay: w ← (1 − λ) w (None: no decay)."""
    e = circuit.engine
    plasticity = e.rule.code_plasticity()
    if feedback:
        if plasticity is None:
            return None
        if plasticity.decay is not None:
            return f"w = (1 - {plasticity.decay!r} * int({RATE} > 0)) * w" if plasticity.decay else None
    if not e.circuit.optimizer.weight_decay:
        return None
    return f"w = (1 - decay_per_lr * {RATE}) * w"


def output_error(circuit) -> str:
    """The output's error units' comparison, every step while an example is learned: δ = r − y, y the
    teacher's trace. The teacher is a neuron like the output, driven by the label: its drive relaxes to
    target_rate ÷ max_rate (the label) or 0 with the circuit's latency, L · (tau_syn + tau_m) (its
    input reaches the output through L layers, each a synaptic and a membrane filter), and its trace
    follows as r does. Both start at rest with the example: an output that answers at the target rate,
    with the circuit's delay, has no error, from the start."""
    lag = circuit.L * (float(circuit.namespace["tau_syn"]) + float(circuit.namespace["tau_m"]))
    label = "teachers(t - t_block, i) * target_rate / max_rate"
    return "\n".join(
        [
            f"taught += ({label} - taught) * (1 - exp(-dt / ({lag!r} * second)))",
            "teacher += (taught - teacher) * (1 - exp(-dt / tau_trace))",
            f"delta = int({RATE} > 0) * (r - teacher)",
        ]
    )
