"""Errors through every route of a circuit, at rate level: the effective feedback each hidden layer gets.

A hidden layer's error compartment may be reached by its feedback pathway B_l from the layer above
(layer by layer), from the output (direct), from an extra population that relays an error, and by any
``brian.pathways`` pathway ``into: error`` — an interneuron pool, a skip, a second route. :func:`route`
carries the output error δ_L down every route as the circuit does at rate level: a route adds
``stream(e_source) @ Mᵀ`` to its target's compartment c (M its weights; ``stream`` is the identity for
a pathway that carries both signs of its source's error, max(e, 0) for one that carries the positive
stream, max(−e, 0) for the negative one, each event adding w); a hidden layer sends δ_l = c_l ⊙ f'(a_l),
an extra population its ``error`` expression of its compartment ``err``, evaluated with NumPy; a
layer's error units with a spontaneous rate (``brian.lif.error_baseline`` β) send β + δ. A route
this cannot evaluate (an error expression of other variables, a cycle of error routes) gives nothing.

The *effective feedback* of hidden layer l is the linear map E_l from the output error to c_l that
fits the probe examples best (least squares): exactly the chain of feedback matrices and mean slopes
where every route is linear, and the best linear description where one is not (a rectified stream, a
saturating relay). :func:`effective_angles` compares it with backprop's own map, W_lᵀ … through the same
slopes, fitted alike, and compares the rule's update of every W with backprop's through the routed
errors — for any topology. What it does not see: an extra population's own dynamics (delays, leaks,
spike noise; the circuit's recorded errors are the measurement for those) and activity added by
``into: drive`` pathways (the activities are the layers' own f(W h + b)).
"""

from __future__ import annotations

import re

import numpy as np

from .activations import evaluate
from .metrics import angle

STREAMS = {
    "both": lambda e: e,
    "positive": lambda e: np.maximum(e, 0.0),
    "negative": lambda e: np.maximum(-e, 0.0),
}


class Unroutable(Exception):
    """An error route this rate-level description cannot evaluate."""


def routes(engine) -> dict[str, list[tuple[str, np.ndarray, str]]]:
    """Population → the error routes into its compartment: (source population, weights (target ×
    source), the stream carried)."""
    into: dict[str, list] = {}
    rule, L = engine.rule, engine.L
    natural = {"layerwise": lambda l: f"layer{l + 1}", "direct": lambda l: f"layer{L}"}[rule.topology]
    for l in range(1, L):
        source = engine.relayed.get(l) or natural(l)
        into.setdefault(f"layer{l}", []).append(
            (source, rule.feedback(l, engine.params), engine.structure.pathway(l).carries)
        )
    for k in engine.circuit.brian.pathways:
        if k.into == "error":
            into.setdefault(k.target, []).append((k.source, engine.params.links[k.name], k.structure.carries))
    return into


def route(engine, A: list, H: list, delta_out: np.ndarray) -> dict[str, np.ndarray]:
    """Every population's error compartment c (rows: examples) when the output's error is ``delta_out``,
    carried down every route (see the module); raises :class:`Unroutable`."""
    baseline = engine.circuit.brian.lif.error_baseline  # the error units' spontaneous rate (0 unless lif)
    into, errors = routes(engine), {f"layer{engine.L}": delta_out + baseline}
    extras = {e.name: e for e in engine.circuit.brian.extra}
    compartments: dict[str, np.ndarray] = {}
    visiting: set[str] = set()

    def compartment(name: str) -> np.ndarray:
        if name not in compartments:
            if name in visiting:
                raise Unroutable(f"the error routes through {name} form a cycle")
            visiting.add(name)
            width = extras[name].size if name in extras else engine.sizes[int(name.removeprefix("layer"))]
            c = np.zeros((len(delta_out), width), delta_out.dtype)
            for source, M, carries in into.get(name, []):
                c += STREAMS[carries](sent(source)) @ M.T
            compartments[name] = c
            visiting.discard(name)
        return compartments[name]

    def sent(name: str) -> np.ndarray:
        if name not in errors:
            c = compartment(name)
            if name in extras:
                errors[name] = evaluate_error(extras[name].error, c)
            else:
                l = int(name.removeprefix("layer"))
                errors[name] = c * engine.df(A[l], H[l]) + baseline
        return errors[name]

    for l in range(1, engine.L):
        compartment(f"layer{l}")
    return compartments


def evaluate_error(expression: str, err: np.ndarray) -> np.ndarray:
    """An extra population's ``error`` expression of its compartment ``err``, evaluated with NumPy."""
    try:
        if re.search(r"\bv\b", expression):  # evaluate knows one variable, v: here it stands for err
            raise NameError("v")
        return evaluate(re.sub(r"\berr\b", "v", expression), err)
    except Exception as e:  # a variable other than err (the membrane, a trace): beyond rate level
        raise Unroutable(f"error expression {expression!r} reads more than err ({e})") from None


def effective_angles(engine, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """On the probe examples: ``angle_E{l}``, the effective feedback into hidden layer l against
    backprop's, and ``angle_dW{l}``, the update of W_l through the routed errors against backprop's."""
    if engine.rule.topology == "none" or engine.driven_elsewhere:
        return {}
    A, H = engine.forward(x)
    bp = engine.deltas(A, H, y, engine.backprop)
    out = {}
    if engine.rule.topology == "local":  # each layer's error is its own classifier's, not the output's
        ours = engine.deltas(A, H, y)
    else:
        try:
            c = route(engine, A, H, bp[engine.L])
        except Unroutable:
            return {}
        ours = [None] * (engine.L + 1)
        ours[engine.L] = bp[engine.L]
        for l in range(engine.L - 1, 0, -1):
            ours[l] = c[f"layer{l}"] * engine.df(A[l], H[l])
            bp_input = engine.error_input(engine.backprop, l, bp, H, y)
            out[f"angle_E{l}"] = angle(fit(bp[engine.L], c[f"layer{l}"]), fit(bp[engine.L], bp_input))
    gW, _ = engine.gradients(H, ours)
    gW_bp, _ = engine.gradients(H, bp)
    out.update({f"angle_dW{l}": angle(gW[l], gW_bp[l]) for l in range(engine.L - 1)})
    return dict(sorted(out.items()))


def fit(delta_out: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The linear map E (c's width × δ's width) with c ≈ δ Eᵀ in the least-squares sense."""
    return np.linalg.lstsq(delta_out, c, rcond=None)[0].T
