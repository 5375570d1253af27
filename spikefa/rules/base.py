"""The learning-rule interface shared by both engines.

A rule says three things: the *topology* of its feedback pathway (which error reaches hidden layer
l, through which matrix B_l), how B starts, and how W and B change beyond the common error-driven
update. Shapes follow the papers: W_l is (n_{l+1}, n_l); B_l is the feedback into layer l
(l = 1 … L−1), shaped like W_lᵀ for layer-by-layer feedback and (n_l, n_L) for feedback from the
output error (DFA) or from a local classifier. ``B[0]`` is always ``None``: no error is sent to the
input layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .. import spec
from ..errors import SpikefaError, UserCodeError
from ..kernels import Gradient, sgd_update
from ..weights import Structure
from ..yamlfile import cut, show


@dataclass
class Params:
    """Everything that learns, plus optimiser state; one list entry per forward projection."""

    W: list[np.ndarray]
    b: list[np.ndarray]
    B: list[np.ndarray | None]
    vW: list[np.ndarray] = field(default_factory=list)
    vb: list[np.ndarray] = field(default_factory=list)
    vB: list[np.ndarray | None] = field(default_factory=list)
    B0: list[np.ndarray | None] = field(default_factory=list)  # fixed magnitudes (sign symmetry)
    # a circuit file's own pathways (brian.pathways) by name, (n_target, n_source): no built-in rule
    # changes them; a user's rule may (its after_step), within their structure
    links: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        self.vW = self.vW or [np.zeros_like(w) for w in self.W]
        self.vb = self.vb or [np.zeros_like(b) for b in self.b]
        self.vB = self.vB or [None if b is None else np.zeros_like(b) for b in self.B]
        self.B0 = self.B0 or [None for _ in self.B]

    def arrays(
        self, groups: tuple[str, ...] = ("W", "b", "B", "vW", "vb", "vB", "B0", "links")
    ) -> dict[str, np.ndarray]:
        """Flat name → array mapping for ``.npz`` files (``W0``, ``b0``, ``B1``, ``vW0`` ..., and each of the
        circuit file's own pathways by its name)."""
        out = {}
        for group in groups:
            if group == "links":
                out.update(self.links)
                continue
            for l, a in enumerate(getattr(self, group)):
                if a is not None:
                    out[f"{group}{l}"] = a
        return out

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Copy saved arrays into this object's arrays, in place (same names as :meth:`arrays`);
        ValueError naming the first array that is missing or of another shape or kind."""
        own = self.arrays()
        for name, a in own.items():
            saved = arrays.get(name)
            if saved is None or saved.shape != a.shape or not np.can_cast(saved.dtype, a.dtype, "same_kind"):
                have = "missing" if saved is None else f"{saved.dtype} {saved.shape}"
                raise ValueError(f"{name} is {have}, the circuit's is {a.dtype} {a.shape}")
        for name, a in own.items():
            a[...] = arrays[name]


@dataclass
class Step:
    """One learning step, as :meth:`Rule.after_step` sees it: the activities ``H[l]`` (rows: examples;
    ``H[0]`` the input), the errors ``deltas[l]`` (``deltas[0]`` is None; ``deltas[l]`` of hidden layer l
    is what its error compartment received, times f'(a_l)), the error-driven gradients ``gW[l]`` of the
    W update just made (δ_{l+1}ᵀ h_l: a matrix, or for one example the pair (δ_{l+1}, h_l) of its outer
    product's factors), the learning rate and weight decay of this step, the training generator, and
    ``sent[l]``: layer l's error as the synapses it leaves through see it (a spiking circuit's: the
    count of its ± error events, scaled to δ — what a feedback synapse's source offers it; None: δ_l)."""

    H: list[np.ndarray]
    deltas: list[np.ndarray | None]
    gW: list[Gradient]
    lr: float
    decay: float
    rng: np.random.Generator
    sent: list[np.ndarray | None] | None = None


TOPOLOGIES = ("layerwise", "direct", "local", "none")
QUANTITIES = ("rate", "error")


@dataclass(frozen=True)
class Plasticity:
    """A feedback pathway's weight change as what each of its synapses sees, declared once and built
    per backend — Numba kernels on the reference engine's matrices (:meth:`Rule.after_step`), Brian2
    code on the pathway's own synapses (:mod:`spikefa.brian.generated`):

        v ← μ v + pre · post;    w ← (1 − λ) w − η v

    ``pre`` and ``post`` name what the synapse's source and target neuron contribute: its ``rate`` h or
    its ``error`` δ. A feedback synapse's source is the neuron whose error it carries, its target the
    neuron it carries it to. η and λ are the learning step's own (the optimizer's scheduled rate and
    weight decay) unless ``lr`` / ``decay`` give constants per step; μ is the optimizer's momentum
    unless ``momentum`` is False."""

    pre: str
    post: str
    lr: float | None = None
    decay: float | None = None
    momentum: bool = True

    def __post_init__(self):
        for side in ("pre", "post"):
            if getattr(self, side) not in QUANTITIES:
                raise SpikefaError(
                    f"Plasticity.{side}: must be one of {', '.join(QUANTITIES)}, got {getattr(self, side)!r}"
                )


class Rule:
    """A learning rule: what reaches hidden layer l's error compartment, how B starts, how B changes.

    Subclasses set ``name`` (by default the class's) and ``topology`` (``layerwise``: B_l carries δ_{l+1};
    ``direct``: B_l carries the output error δ_L; ``local``: B_l is layer l's fixed random classifier; ``none``)
    and override the hooks they need: :meth:`init_feedback`, :meth:`feedback` (only rules that transport W), and
    :meth:`after_step`, which may change ``params.B`` in place after every W update — or, instead of after_step,
    declare the feedback synapses' own change (:meth:`plasticity`), which every backend builds, Brian2's
    generated code (``brian.plasticity: code``, ``cpp_standalone``) too. Every rule, a user's too, runs in both
    engines: the Brian2 circuits hand the activities and errors they computed to the same hooks, and a sparse or
    sign-constrained pathway's structure is restored after each hook (a missing synapse stays 0, a sign never
    flips). ``parameters`` declares the rule's own parameters (``rule.params`` in a circuit file) with their
    defaults; ``self.parameters`` holds the run's values."""

    name: ClassVar[str]
    topology: ClassVar[str]  # "layerwise" | "direct" | "local" | "none"
    learns_feedback: ClassVar[bool] = False
    transports_weights: ClassVar[bool] = False
    has_mirror_phase: ClassVar[bool] = False  # a rule with mirror phases (noise-driven B plasticity)
    parameters: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs):
        """A rule class that sets no ``name`` of its own (a user's) is named after itself in messages."""
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__

    def __init__(self, rule: spec.Rule, optimizer: spec.Optimizer, feedback: Structure | None = None):
        self.spec = rule
        self.optimizer = optimizer
        self.structure = feedback or Structure(())
        self.parameters = {**type(self).parameters, **rule.params}

    @classmethod
    def spec_name(cls, name: str, base) -> str:
        """The rule's name as a resolved config writes it (a user rule's file as an absolute path)."""
        target, _, attr = name.rpartition(":")
        if target.endswith(".py"):
            return f"{((base or Path.cwd()) / target).resolve()}:{attr}"
        return name

    @classmethod
    def check_params(cls, raw: dict, where: str) -> dict[str, Any]:
        """``rule.params`` checked against :attr:`parameters`: known names, the default's type."""
        out = dict(cls.parameters)
        for key, value in raw.items():
            if key not in cls.parameters:
                allowed = ", ".join(map(str, cls.parameters)) or "none (the rule declares no parameters)"
                raise SpikefaError(f"{where}.{cut(str(key))}: unknown parameter; allowed: {allowed}")
            default = cls.parameters[key]
            if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if type(value) is not type(default) or (isinstance(value, float) and not np.isfinite(value)):
                raise SpikefaError(
                    f"{where}.{key}: must be {type(default).__name__} like its default {default!r}, got {show(value)}"
                )
            out[key] = value
        return out

    def feedback_shape(self, sizes: tuple[int, ...], l: int) -> tuple[int, int]:
        """Shape of B_l: rows index layer l's units, columns the error source's units."""
        source = self.structure.pathway(l).source  # a population it carries the error of instead
        if source:
            return sizes[l], self.structure.sizes[source]
        return sizes[l], sizes[l + 1] if self.topology == "layerwise" else sizes[-1]

    def init_feedback(
        self, sizes: tuple[int, ...], W: list[np.ndarray], rng: np.random.Generator, dtype: np.dtype
    ) -> tuple[list, list]:
        """(B, B0): the initial feedback matrices (drawn as each pathway's ``feedback`` block says) and
        any fixed data the rule keeps about them."""
        B: list[np.ndarray | None] = [None]
        for l in range(1, len(sizes) - 1):
            B.append(self.structure.draw(l, self.feedback_shape(sizes, l), rng, dtype))
        return B, [None] * len(B)

    def feedback(self, l: int, params: Params) -> np.ndarray:
        """The matrix that carries the error into hidden layer l."""
        return params.B[l]

    def plasticity(self) -> Plasticity | None:
        """How the feedback synapses change with every learning step, as each synapse sees it (None:
        they do not, or :meth:`after_step` says how)."""
        return None

    def code_plasticity(self) -> Plasticity | None:
        """The feedback synapses' change as Brian2's generated code builds it: :meth:`plasticity`, unless
        the rule says otherwise (backprop, whose B cannot read W there)."""
        return self.plasticity()

    def code_feedback(self) -> str | None:
        """For a rule that reads W (weight transport), B's weight in generated code as a Brian2 expression
        of ``wt``, the synapse's copy of W's weight (it starts each block as Wᵀ and takes W's update,
        :meth:`code_plasticity`), and ``b0``, the rule's fixed B₀; None: B is that copy (backprop)."""
        return None

    def source(self, l: int, layers: int) -> int:
        """The layer whose error B_l carries (``layers``: the number of forward projections, L)."""
        return l + 1 if self.topology == "layerwise" else layers

    def after_step(self, params: Params, step: Step) -> None:
        """Called after every W update, with what drove it (:class:`Step`); may change ``params.B`` in
        place. Here: the declared :meth:`plasticity`, if any, on every B (B_0 too, where the circuit keeps
        one). (The weight mirror's interleaved mirror steps are the trainer's: they run on the engine's
        own activity, simulated or not.)"""
        rule = self.plasticity()
        if rule is None:
            return
        L = len(params.W)
        for l, B in enumerate(params.B):
            if B is None:
                continue
            post, pre = quantity(step, rule.post, l), quantity(step, rule.pre, self.source(l, L), sent=True)
            g = (post[0], pre[0]) if len(post) == 1 else post.T @ pre
            lr = step.lr if rule.lr is None else rule.lr
            decay = step.decay if rule.decay is None else rule.decay
            momentum = self.optimizer.momentum if rule.momentum else 0.0
            sgd_update(B, g, params.vB[l], lr, momentum, decay)


def quantity(step: Step, name: str, l: int, sent: bool = False) -> np.ndarray:
    """Layer l's ``rate`` (H[l]) or ``error`` (δ_l) in a learning step; with ``sent``, its error as it
    leaves it (``step.sent``, where the circuit provides it)."""
    if name == "rate":
        return step.H[l]
    if sent and step.sent is not None and step.sent[l] is not None:
        return step.sent[l]
    return step.deltas[l]


def check_hooks(rule: Rule, sizes: tuple[int, ...], made: Any, dtype: np.dtype) -> tuple[list, list]:
    """A rule's hooks checked once, when its engine is built: :meth:`~Rule.plasticity` and
    :meth:`~Rule.code_plasticity` give a :class:`Plasticity` or None, :meth:`~Rule.code_feedback` a string or
    None, and ``made`` (what :meth:`~Rule.init_feedback` returned) is a pair (B, B0) of lists with a matrix
    of B_l's shape (or None) per layer; returns (B, B0), the matrices as arrays of ``dtype``.
    :class:`UserCodeError` naming the rule and the hook otherwise."""
    who = f"rule {type(rule).__name__}"
    for hook, allowed in (("plasticity", Plasticity), ("code_plasticity", Plasticity), ("code_feedback", str)):
        got = getattr(rule, hook)()
        if got is not None and not isinstance(got, allowed):
            raise UserCodeError(f"{who}: {hook}() returned {cut(repr(got))}; it must return {allowed.__name__} or None")
    L = len(sizes) - 1
    if not (isinstance(made, (tuple, list)) and len(made) == 2 and all(isinstance(m, list) for m in made)):
        raise UserCodeError(f"{who}: init_feedback() returned {cut(repr(made))}; it must return (B, B0), two lists")
    B, B0 = made
    if len(B) != L or len(B0) != L:
        raise UserCodeError(f"{who}: init_feedback() returned lists of {len(B)} and {len(B0)}; it must give {L} each")
    for l in range(L):
        if B[l] is None:
            continue
        shape = (sizes[0], sizes[1]) if l == 0 else rule.feedback_shape(sizes, l)
        a = B[l] if isinstance(B[l], np.ndarray) else None
        if a is None or a.shape != shape or not np.issubdtype(a.dtype, np.number) or not np.all(np.isfinite(a)):
            got = "not an array" if a is None else f"{a.dtype} {a.shape}" + ("" if a.shape != shape else ", not finite")
            raise UserCodeError(
                f"{who}: init_feedback() returned B[{l}] {got}; it must be a finite array of shape {shape}"
            )
        B[l] = a.astype(dtype, copy=False)
    return B, B0
