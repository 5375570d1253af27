"""Weight changes as Brian2 statements, for the generated schedule and the mirror segment."""

from __future__ import annotations


def sgd(g: str, lr: str, decay: str, momentum: float, w: str, v: str, sign: str) -> str:
    """Momentum SGD with decoupled decay as Brian2 statements (the kernels' :func:`~spikefa.kernels.sgd_update`):
    v ← μ v + g, w ← (1 − λ) w − η v (no v when μ = 0), then a constrained sign clipped at 0. Where
    nothing was presented (``learning`` 0) nothing changes, the buffer neither."""
    lines = []
    if momentum:
        lines.append(f"{v} = {v} + learning(t - t_block) * (({momentum!r} - 1) * {v} + {g})")
        g = v
    lines.append(f"{w} = {w} - {lr} * {g}" if decay == "0" else f"{w} = (1 - {decay}) * {w} - {lr} * {g}")
    return "\n".join([*lines, *constrain(w, sign)])


def constrain(w: str, sign: str) -> list[str]:
    """A pathway's sign constraint on ``w`` as Brian2 statements: clipped at 0 (none: no statement)."""
    bounds = {"positive": "0, inf", "negative": "-inf, 0"}
    return [f"{w} = clip({w}, {bounds[sign]})"] if sign in bounds else []
