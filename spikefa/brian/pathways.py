"""Pathways: every projection is its own ``Synapses`` group with a weight ``w``, all to all, or (a
sparse feedback pathway) only the synapses its ``connections`` list.

Forward (W_l, layer l → l+1) sums ``w · r_pre`` into the soma's ``I_ff``; feedback (B_l, error
source → layer l) sums ``w · delta_pre`` into the error compartment ``err``. Nothing but B reaches ``err``.

Brian2 orders all-to-all synapses presynaptic-major (k = i·n_post + j), so a synapse group's weight
array reshaped to (n_pre, n_post) is the transposed weight matrix: :func:`matrix_view` returns the
matrix as a *view* of Brian2's own array, and the shared kernels update it in place.
"""

from __future__ import annotations

import numpy as np
from brian2 import Clock, NeuronGroup, Quantity, Synapses, second

Connections = tuple[np.ndarray, np.ndarray] | None  # (target rows, source columns) of B's synapses; None: all


def connect(syn: Synapses, connections: Connections) -> Synapses:
    """All to all, or the synapses listed (B_l[row, col] is the synapse from source col to target row)."""
    if connections is None:
        syn.connect()
    else:
        rows, cols = connections
        syn.connect(i=cols, j=rows)
    return syn


def learning_first(syn: Synapses) -> Synapses:
    """Its plasticity on presynaptic events (``learn``, ``declared_*``) runs before every synapse group's
    effects in the step (order −2; Brian2 runs ``pre`` pathways at −1, by name): a change reads its
    target as the neurons' update left it, never part of the step's input (which group's arrived first
    would otherwise depend on the groups' names)."""
    for pathway in syn._pathways:
        if pathway.prepost == "pre" and (pathway.objname == "learn" or pathway.objname.startswith("declared")):
            pathway.order = -2
    return syn


def forward_pathway(
    pre: NeuronGroup,
    post: NeuronGroup,
    clock: Clock,
    name: str,
    connections: Connections = None,
    variables: str = "",
    learn: str = "",
    per_example: bool = False,
) -> Synapses:
    """W_l for rate populations; ``variables``: further synapse variables (a momentum buffer); ``learn``:
    the weight change the source's ``learn`` events set off (the generated schedule's); ``per_example``:
    ``w · r_pre`` is added into ``I_ff_post`` on the source's ``present`` events (once per example, from
    each input whose rate is not zero) instead of summed every step."""
    model = f"w : 1\n{variables}" if per_example else f"w : 1\nI_ff_post = w * r_pre : 1 (summed)\n{variables}"
    on_pre = {"learn": learn} if learn else {}
    if per_example:
        on_pre["present"] = "I_ff_post += w * r_pre"
    events = {"on_pre": on_pre, "on_event": {k: k for k in on_pre}} if on_pre else {}
    syn = Synapses(pre, post, model, clock=clock, name=name, **events)
    return connect(syn, connections)


def feedback_pathway(
    source: NeuronGroup,
    target: NeuronGroup,
    clock: Clock,
    name: str,
    connections: Connections = None,
    carried: str = "delta",
    variables: str = "",
) -> Synapses:
    """B_l for rate populations: sums w · (the source's ``carried`` variable: its delta, or the delayed
    copy of it a delayed pathway reads) into the target's error compartment."""
    model = f"w : 1\nerr_post = w * {carried}_pre : 1 (summed)\n{variables}"
    syn = Synapses(source, target, model, clock=clock, name=name)
    return connect(syn, connections)


def rate_link(
    pre: NeuronGroup, post: NeuronGroup, clock: Clock, name: str, into: str, connections: Connections = None
) -> Synapses:
    """A circuit file's own pathway between rate populations: ``w · r_pre`` summed into the target's
    drive input ``I_{name}``, or ``w · delta_pre`` into its error input ``err_{name}``."""
    target, carried = (f"I_{name}", "r") if into == "drive" else (f"err_{name}", "delta")
    syn = Synapses(pre, post, f"w : 1\n{target}_post = w * {carried}_pre : 1 (summed)", clock=clock, name=name)
    return connect(syn, connections)


class _Kept:
    """An array interface that holds the object whose memory it shows."""

    def __init__(self, array: np.ndarray, owner: object):
        self.__array_interface__ = array.__array_interface__
        self.owner = owner


def kept(array: np.ndarray, owner: object) -> np.ndarray:
    """``array``, a view of memory that ``owner`` holds without NumPy knowing (Brian2 2.11's dynamic
    arrays: no base), as a view that keeps ``owner`` alive as long as it lives — so that weights read
    from a circuit stay valid after the circuit is gone."""
    return np.asarray(_Kept(array, owner))


def matrix_view(syn: Synapses) -> np.ndarray:
    """The (n_post, n_pre) weight matrix of an all-to-all group, a live view of ``syn.w``."""
    n_pre, n_post = len(syn.source), len(syn.target)
    i, j = syn.variables["_synaptic_pre"].get_value(), syn.variables["_synaptic_post"].get_value()
    if not (
        np.array_equal(i, np.repeat(np.arange(n_pre), n_post)) and np.array_equal(j, np.tile(np.arange(n_post), n_pre))
    ):
        raise RuntimeError(f"{syn.name}: synapses are not in presynaptic-major all-to-all order")
    return kept(syn.variables["w"].get_value(), syn).reshape(n_pre, n_post).T


def spiking_forward_pathway(
    pre: NeuronGroup,
    post: NeuronGroup,
    clock: Clock,
    namespace: dict,
    name: str,
    connections: Connections = None,
    delay: Quantity | None = None,
    variables: str = "",
    learn: str = "",
    tonic: bool = False,
    learn_on: str = "learn",
    declared: dict[str, tuple[str, str]] | None = None,
) -> Synapses:
    """W_l for LIF populations: each presynaptic spike adds w / (max_rate · tau_syn) to the drive u
    (``delay`` after the spike); ``learn``: the weight change the source's ``learn_on`` events set off
    (``learn``: the generated schedule's; ``spike``: online learning, undelayed).
    ``tonic``: each synapse also takes w · ``tonic`` away from its target's drive (its target's
    ``I_tonic``): set to the source's rate ÷ max_rate while the source fires noise in a mirror phase,
    it cancels the mean its spikes bring (a synapse that passes on its input's fluctuations only).
    ``declared``: a declared plasticity's pathways, name → (event, statements) (``declared_pre``: on the
    source's spikes, delayed as ``pre``; ``declared_post``: on the target's)."""
    on_pre, on_event = {"pre": "u_post += w / (max_rate * tau_syn)"}, {"pre": "spike"}
    if learn:
        on_pre["learn"], on_event["learn"] = learn, learn_on
    on_post = {}
    for key, (event, code) in (declared or {}).items():
        (on_post if key == "declared_post" else on_pre)[key], on_event[key] = code, event
    delays = {"pre": delay, "declared_pre": delay, "learn": 0 * second, "declared_post": 0 * second}
    syn = Synapses(
        pre,
        post,
        f"w : 1\n{variables}" + ("I_tonic_post = w * tonic : 1 (summed)\ntonic : 1 (shared)\n" if tonic else ""),
        on_pre=on_pre,
        on_post=on_post or None,
        on_event=on_event,
        delay={k: delays[k] for k in on_event} if delay is not None else None,
        namespace=namespace,
        clock=clock,
        name=name,
    )
    return learning_first(connect(syn, connections))


def spiking_feedback_pathway(
    source: NeuronGroup,
    target: NeuronGroup,
    clock: Clock,
    namespace: dict,
    name: str,
    connections: Connections = None,
    delay: Quantity | None = None,
    variables: str = "",
    mirror: str = "",
    carries: tuple[str, ...] = ("err_pos", "err_neg"),
    learn: dict[str, str] | None = None,
    declared: dict[str, tuple[str, str]] | None = None,
) -> Synapses:
    """B_l for LIF populations: the source's ``err_pos`` events add, its ``err_neg`` events subtract,
    w / (error_rate · tau_err) in the target's error compartment — a paired ± error unit per source
    neuron through one synapse, so E[err] = Σ w · delta_pre at steady state. An event arrives ``delay``
    after it was emitted. ``mirror``: the weight mirror's change on each spike of the source.
    ``carries``: one of the two
    event streams only (Dale's law): each of its events adds w, so the group acts with its weights'
    sign alone — the ON units' (``err_pos``) through one group, the OFF units' through another of the
    opposite sign. ``learn``: online learning's statements, after an event's effect, per event carried
    (``err_pos``, ``err_neg``) and on the target's spikes (``spike``); ``variables`` holds their state.
    ``declared``: a declared plasticity's pathways, name → (event, statements): on an error event it
    carries (delayed as it is), or ``declared_post`` on the target's spikes."""
    paired = len(carries) == 2
    event = {"err_pos": "pos", "err_neg": "neg"}
    on_pre = {
        event[e]: f"err_post {'-=' if paired and e == 'err_neg' else '+='} w / (error_rate * tau_err)"
        + (f"\n{learn[e]}" if learn and e in learn else "")
        for e in carries
    }
    on_event = {event[e]: e for e in carries}
    on_post = {"learn_back": learn["spike"]} if learn and "spike" in learn else {}
    if mirror:
        on_pre["mirror"], on_event["mirror"] = mirror, "spike"
    on_event.update(dict.fromkeys(on_post, "spike"))
    for key, (source_event, code) in (declared or {}).items():
        (on_post if key == "declared_post" else on_pre)[key], on_event[key] = code, source_event
    extra = {name: 0 * second for name in ("mirror", "learn_back", "declared_post") if name in on_event}
    carried = [event[e] for e in carries] + [k for k in on_event if k in ("declared_pos", "declared_neg")]
    delays = dict.fromkeys(carried, delay) | extra
    syn = Synapses(
        source,
        target,
        f"w : 1\n{variables}",
        on_pre=on_pre,
        on_post=on_post or None,
        on_event=on_event,
        delay=delays if delay is not None else None,
        namespace=namespace,
        clock=clock,
        name=name,
    )
    return learning_first(connect(syn, connections))
