"""Learning rules by name. Each is a small object shared by both engines (see :mod:`.base`)."""

from __future__ import annotations

from .. import spec
from .base import Params, Rule
from .fixed import DirectFeedbackAlignment, FixedFeedback, LocalClassifiers, Shallow
from .learned import KolenPollack, WeightMirror
from .transport import Backprop, SignSymmetry

REGISTRY: dict[str, type[Rule]] = {
    cls.name: cls
    for cls in (
        Shallow,
        Backprop,
        FixedFeedback,
        DirectFeedbackAlignment,
        SignSymmetry,
        WeightMirror,
        KolenPollack,
        LocalClassifiers,
    )
}
assert tuple(sorted(REGISTRY)) == tuple(sorted(spec.RULES))


def make_rule(rule: spec.Rule, optimizer: spec.Optimizer) -> Rule:
    """The rule object named in a circuit's ``rule`` block."""
    return REGISTRY[rule.name](rule, optimizer)


__all__ = ["REGISTRY", "Params", "Rule", "make_rule"]
