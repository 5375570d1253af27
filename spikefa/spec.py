"""Circuit files: a validated, typed description of network + task + rule + phases + seed.

A circuit file is YAML. Each of its mappings is checked against its declared schema
(:mod:`spikefa.schema`, by :mod:`spikefa.validation`) as it is read, and what depends on other fields is
checked here; a bad field raises :class:`SpikefaError` with a one-line message naming the file, the
field and what is allowed. The engines only ever see a :class:`Circuit`, never raw YAML.
``Circuit.to_dict()`` is the resolved config written to a run folder; loading it again gives the same
circuit.
"""

from __future__ import annotations

import contextvars
import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import schema as S
from . import validation, yamlfile
from .errors import SpikefaError
from .schema import (
    INIT_DISTS,
    PHASES,
    RATE_UNITS,
    RULES,
    TASKS,
    TIME_UNITS,
)
from .yamlfile import cut, show

# whether reading a circuit may import a user's rule (circuit_from_dict's load_code)
_LOAD_CODE: contextvars.ContextVar[bool] = contextvars.ContextVar("spikefa_load_code", default=True)
TASK_FIELDS = {
    "digits": ("n_train", "n_test", "validation", "normalize"),
    "mnist": ("data_dir", "n_train", "n_test", "validation", "normalize"),
    "mnist1d": ("data_seed", "n_train", "n_test", "validation"),
    "linear_teacher": ("n_train", "n_test", "validation", "teacher_sizes"),
    "nonlinear_teacher": ("n_train", "n_test", "validation", "teacher_sizes"),
}


@dataclass(frozen=True)
class Init:
    """Weight initialisation: ``xavier`` (uniform, Glorot) or ``dist`` with ``scale``.

    ``xavier``: U(±gain·√(6 / (fan_in + fan_out))); ``xavier_normal``: N(0, gain² · 2 / (fan_in + fan_out))
    (Glorot & Bengio 2010), per layer, with ``scale`` the gain (0 or absent: 1); ``uniform`` draws from
    [-scale, scale]; ``normal`` from N(0, scale²); ``lognormal`` magnitudes scale · exp(sigma · N(0, 1))
    (median ``scale``) with random signs, unless a pathway's ``sign`` fixes them; ``zero`` (biases only:
    ``network.bias_init``) all zeros.
    """

    dist: str = "xavier"
    scale: float = 0.0
    sigma: float = 1.0  # lognormal only


@dataclass(frozen=True)
class SynapseCode:
    """A pathway's plasticity as Brian2 synaptic code (``plasticity`` under ``forward`` or ``feedback``;
    see :mod:`spikefa.brian.declared` for the names it may read and when each block runs).

    ``variables``: the synapse's own state (Brian2 model lines: traces, eligibilities), each back to 0
    at every example's start as the populations are; ``on_pre``: statements on each event the synapse
    receives (a forward synapse's presynaptic spikes, a feedback synapse's error events); ``on_post``:
    on each spike of its target neuron; ``each_example``: once at the end of every example, with what
    the synapse saw of it; ``constants``: names → numbers or Brian2 quantities (``"20 ms"``)."""

    variables: str = ""
    on_pre: str = ""
    on_post: str = ""
    each_example: str = ""
    constants: tuple[tuple[str, str], ...] = ()

    def blocks(self) -> dict[str, str]:
        """The statement blocks that are not empty, by field name."""
        names = ("on_pre", "on_post", "each_example")
        return {name: getattr(self, name) for name in names if getattr(self, name).strip()}


@dataclass(frozen=True)
class Pathway:
    """The structure of a feedback pathway B_l (``feedback`` in a circuit file).

    ``connectivity`` p: each synapse exists with probability p, drawn once from the run's seed (1: all
    to all); a missing synapse is absent in Brian2 and a zero that never changes in the reference
    engine. ``sign``: ``positive`` / ``negative`` pathways start with that sign and no plasticity ever
    takes a weight across zero (it stops at 0). ``init``: how B starts. ``delay``: the time an error
    event takes to cross the pathway (spiking circuits)."""

    connectivity: float = 1.0
    sign: str = "free"
    init: Init = field(default_factory=Init)
    delay: str = "0 ms"
    source: str = ""  # feedback only: an extra population whose error it carries instead (brian.extra)
    # spiking circuits, error pathways: which of its source's error events it carries — ``both`` (a
    # positive error's event adds w, a negative one's subtracts it), or the ``positive`` or ``negative``
    # errors' stream alone, each event adding w (Dale's law: the synapse acts with its weight's sign)
    carries: str = "both"
    plasticity: SynapseCode | None = None  # Brian2 code instead of the rule's change (engine: brian2)


@dataclass(frozen=True)
class Activation:
    """A hidden unit's rate function written as Brian2 expressions of ``v`` (``network.hidden: {rate,
    slope}``): ``rate`` f(v) and its derivative ``slope`` f'(v). Brian2 evaluates them in a rate
    circuit, NumPy in the reference engine (:mod:`spikefa.activations`)."""

    rate: str
    slope: str

    def __str__(self) -> str:
        return f"f(v) = {self.rate}"


@dataclass(frozen=True)
class Network:
    sizes: tuple[int, ...]
    hidden: str | Activation = "tanh"
    output: str = "softmax"
    loss: str = "cross_entropy"
    init: Init = field(default_factory=Init)
    bias_init: Init = Init("zero")  # the biases' initial values (fan: the layer's, as for its weights)


@dataclass(frozen=True)
class Task:
    name: str
    data_dir: str | None = None  # mnist: folder with the four IDX files
    n_train: int | None = None  # None: the task's full training set (teachers: 10000)
    n_test: int | None = None  # None: the task's full test set (teachers: 1000)
    normalize: str = "none"  # none | center (minus the mean training input) | standardize (and ÷ its std)
    # a fraction of the training set held out and evaluated in place of the test set (which is then never
    # read): for choosing hyperparameters; the metrics' test_* columns are then validation numbers
    validation: float = 0.0
    data_seed: int = 42  # mnist1d: the generator's seed (42: the published dataset)
    teacher_sizes: tuple[int, ...] = ()  # teachers: layer sizes of the teacher network


@dataclass(frozen=True)
class Mirror:
    """Weight-mirror plasticity of B (Akrout et al. 2019, eq. 7): ΔB = η_B x yᵀ − λ_B B."""

    noise_std: float = 1.0
    # gaussian: N(0, σ²); binary: ±σ with equal chance — the same mean (0) and covariance (σ² I), so the
    # same E[x yᵀ] = σ² Wᵀ, drawn from random bits at a fraction of the cost; uniform: U(±√3 σ), the
    # authors' code's noise (0.1 · (U[0, 1) − 0.5) is σ = 0.1 / √12)
    noise: str = "gaussian"
    lr: float = 0.05
    decay: float = 0.05
    batch_size: int = 128
    steps_per_batch: int = 1  # mirror steps interleaved after every learning batch
    # what the layer above answers with: its synaptic drive y = W x (drive), or its rate y = f(W x + b)
    # through its own nonlinearity (rate, the authors' code); E[x yᵀ] ∝ Wᵀ either way for small noise
    response: str = "drive"


@dataclass(frozen=True)
class Rule:
    """A rule by name: a built-in one, or a user's ``Rule`` subclass as ``module:Class`` or
    ``path/to/file.py:Class`` (see :mod:`spikefa.rules`), with the ``params`` it declares."""

    name: str
    mirror: Mirror = field(default_factory=Mirror)
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Optimizer:
    """SGD: v ← μ v + g;  W ← (1 − λ_t) W − η_t v  (λ: weight decay per step, as in Akrout eq. 16).

    The decay follows the learning-rate schedule, λ_t = λ η_t / η, so a cosine schedule does not leave
    the decay alone to shrink the weights once the learning rate has gone to zero. Biases learn at
    ``bias_lr`` (None: ``lr``), on the same schedule, with no decay. ``shuffle``: a fresh random order of
    the training set every epoch (false: the file's order, every epoch); ``drop_last``: an epoch ends
    with the last full batch (the remaining examples are not presented)."""

    lr: float = 0.05
    momentum: float = 0.0
    weight_decay: float = 0.0
    batch_size: int = 32
    schedule: str = "constant"
    bias_lr: float | None = None
    shuffle: bool = True
    drop_last: bool = False

    def bias_scale(self) -> float:
        """The biases' learning rate as a multiple of the weights'."""
        return 1.0 if self.bias_lr is None else self.bias_lr / self.lr


@dataclass(frozen=True)
class Phase:
    kind: str
    epochs: int = 1  # learn, noise_pretrain
    steps: int = 0  # mirror
    samples_per_epoch: int = 0  # noise_pretrain
    noise_std: float = 1.0  # noise_pretrain: input noise N(0, std²)


@dataclass(frozen=True)
class Record:
    every: int = 0  # batches between metric rows; 0: one row per epoch
    checkpoint_every: int = 1  # epochs between checkpoints
    mirror_test: bool = False  # mirror-phase rows measure the test set too


@dataclass(frozen=True)
class Monitor:
    """What ``monitors.npz`` records, every time step, of the chosen populations (``layers``: layer
    numbers, 0 the input, or names: ``layer2``, ``classifier1``, an extra population's): any state
    variable they have (``v``, ``r``, ``err``, ``delta_local``, a model's own ``a``, …), and for spiking
    populations ``spikes`` and the population ``rate``. ``when``: ``test`` — the trained circuit shown
    the first ``examples`` test examples, without learning; ``learning`` — while it learns, the
    ``window`` examples starting at every ``every``-th; ``mirror`` — in mirror phases, the ``window``
    noise samples starting at every ``every``-th."""

    layers: tuple[int | str, ...] = ()
    variables: tuple[str, ...] = ("r",)
    examples: int = 10
    when: tuple[str, ...] = ("test",)
    every: int = 1000
    window: int = 1


@dataclass(frozen=True)
class Lif:
    """Leaky integrate-and-fire populations (``neurons: lif``); times and rates with units.

    Synapses inject w / (max_rate · tau_syn) into the synaptic drive u per presynaptic spike, so the mean
    drive is the rate model's a = W h + b with h = rate / max_rate. The membrane follows u with
    ``tau_m``, fires at ``v_threshold``, resets to 0 and is refractory; a neuron's rate (÷ max_rate)
    rises like relu(u) with slope ≈ 1 / (tau_m · v_threshold · max_rate) (1 with the defaults).

    ``input``: how a pixel x ∈ [0, 1] fires — ``regular``, an integrate-and-fire encoder at x · max_rate
    with a random phase per example, or ``poisson``. ``surrogate``: the slope f'(ā) a hidden neuron's
    error is multiplied by — ``lif``, the derivative of the LIF f–I curve (in units of h, 0 below
    threshold, at most 2), or ``relu``, 1 wherever ā > 0."""

    tau_m: str = "10 ms"
    tau_syn: str = "5 ms"
    tau_trace: str = "20 ms"  # rate and drive traces, read by plasticity and the output error
    tau_err: str = "5 ms"  # error (apical) compartment
    refractory: str = "2 ms"
    v_threshold: float = 0.5
    max_rate: str = "200 Hz"  # an input of 1 fires at this rate; the unit of h
    input: str = "regular"
    surrogate: str = "lif"
    v_floor: float | None = -0.5  # the membrane stops there (≤ 0, rest; None: no floor), as at a reversal potential
    error_rate: str = "500 Hz"  # an error of ±1 fires the ± error events at this rate
    # the error units' spontaneous activity β: a layer's ± error events fire at error_rate · [±(β + δ)]₊, so
    # that with β ≥ |δ| a negative error is a pause below the spontaneous rate on the ON stream alone
    error_baseline: float = 0.0
    noise_rate: str = "50 Hz"  # mirror phase: Poisson firing of the noise-driven layers
    # mirror phase: the drive a responding layer is held at (its noise input's mean cancelled, its bias
    # replaced), so that every responding neuron fires in the same regime (> v_threshold: regularly)
    mirror_drive: float = 0.5
    mirror_window: str | None = None  # mirror phase: one noise sample (None: one time step)
    mirror_trace: str = "10 ms"  # mirror phase: the spike traces the feedback synapses learn from
    mirror_mean: str = "100 ms"  # mirror phase: a noise neuron's running mean of its trace (the covariance rule's)
    # mirror phase: a held layer's membrane time constant (None: tau_m), as in a high-conductance state
    mirror_tau_m: str | None = None
    # online learning: the rate the output's error units ask of the label's neuron (the others: 0)
    target_rate: str = "200 Hz"


@dataclass(frozen=True)
class Population:
    """A spiking layer's neuron model (``brian.populations``): ``lif``, ``alif`` (LIF with a spike-frequency
    adaptation current) or the membrane written as Brian2 code — ``equations`` (defining ``v``; the
    synaptic drive ``u`` and the other variables of the contract are the circuit's, see
    :mod:`spikefa.brian.populations`), ``threshold``, ``reset``, ``refractory``, ``method`` — with
    ``params``: name → a number or a quantity with its unit (``"100 ms"``), available to the code."""

    model: str = "lif"  # lif | alif | custom (equations given)
    equations: str = ""
    threshold: str = ""
    reset: str = ""
    refractory: str = ""  # a time; empty: brian.lif.refractory
    method: str = "exact"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Extra:
    """A population that is not a layer (``brian.extra``; spiking circuits), e.g. a relay of error
    neurons: ``size`` neurons of a neuron model, whose error — what its ± error events send on — is
    the Brian2 expression ``error`` of its variables (default: its error compartment, ``err``)."""

    name: str
    size: int
    population: Population = field(default_factory=Population)
    error: str = "err"


@dataclass(frozen=True)
class Link:
    """A pathway between any two populations (``brian.pathways``): the source's spikes into the
    target's synaptic drive (``into: drive``) or its ± error events into the target's error compartment
    (``into: error``), with a pathway's structure (connectivity, sign, init, delay)."""

    name: str
    source: str
    target: str
    into: str
    structure: Pathway = field(default_factory=Pathway)
    # a pathway from a population to itself: whether a neuron also synapses onto itself (an autapse)
    autapses: bool = False


@dataclass(frozen=True)
class Brian:
    """The Brian2 engine's settings; times are strings with units (``"1 ms"``), as Brian2 users write them.

    ``neurons: rate`` with ``dt == tau`` puts every population at its steady state each step, where
    the circuit computes exactly what the reference engine does."""

    neurons: str = "rate"
    tau: str = "1 ms"  # rate neurons
    dt: str = "1 ms"  # lif: default 0.5 ms
    # Per example: the input is on for forward_time, then the output error is set and errors flow back
    # for error_time, then W and B change. Defaults: rate, L and L − 1 steps (the fewest that are exact
    # at dt = tau: a step per layer crossed); lif, 40 + 20 ms.
    forward_time: str = ""
    error_time: str = ""
    target: str = "cython"
    # how the schedule and the weight changes run: ``kernels`` (Python between steps: the reference
    # engine's Numba kernels on Brian2's arrays; runtime targets) or ``code`` (Brian2 code on the
    # populations and synapses, no Python within a block; cpp_standalone's only choice and its default)
    plasticity: str = "kernels"
    # when a spiking circuit's synapses change: ``example`` (once per example, from traces read at its end:
    # the per-example schedule) or ``online`` (on spike events, as they happen: eRBP-style; needs
    # plasticity: code). See spikefa.brian.online.
    learning: str = "example"
    monitor: Monitor = field(default_factory=Monitor)
    lif: Lif = field(default_factory=Lif)
    populations: tuple[Population, ...] = ()  # layers 1 … L (hidden, output); empty: every one lif
    extra: tuple[Extra, ...] = ()  # populations that are not layers
    pathways: tuple[Link, ...] = ()  # pathways between any populations (params.links)

    def population(self, l: int) -> Population:
        """Layer l's neuron model (l ≥ 1)."""
        return self.populations[l - 1] if self.populations else Population()


def seconds(text: str) -> float:
    """``"1.5 ms"`` → 0.0015. Raises ValueError for anything else."""
    number, _, unit = text.strip().partition(" ")
    return float(number) * TIME_UNITS[unit.strip()]


def hertz(text: str) -> float:
    """``"200 Hz"`` → 200.0. Raises ValueError for anything else."""
    number, _, unit = text.strip().partition(" ")
    return float(number) * RATE_UNITS[unit.strip()]


@dataclass(frozen=True)
class Circuit:
    name: str
    network: Network
    task: Task
    rule: Rule
    optimizer: Optimizer = field(default_factory=Optimizer)
    phases: tuple[Phase, ...] = (Phase("learn"),)
    record: Record = field(default_factory=Record)
    seed: int = 0
    engine: str = "reference"
    dtype: str = "float64"
    description: str = ""
    brian: Brian = field(default_factory=Brian)
    feedback: tuple[Pathway, ...] = ()  # per hidden layer 1 … L − 1; empty: every pathway the default
    forward: tuple[Pathway, ...] = ()  # per projection 0 … L − 1 (connectivity, sign, delay)
    # feedback.input: a B_0 into the input layer too (the authors' code keeps one): it learns as the
    # rule's other B do and nothing reads the error it carries; angle_B0 is their first-layer angle
    input_feedback: bool = False

    def pathway(self, l: int) -> Pathway:
        """The structure of the feedback pathway into hidden layer l."""
        return self.feedback[l - 1] if self.feedback else Pathway()

    def to_dict(self) -> dict[str, Any]:
        """The resolved config: plain YAML-able data, loadable by :func:`circuit_from_dict`."""
        d = _plain(dataclasses.asdict(self))
        d["task"] = {k: v for k, v in d["task"].items() if k == "name" or k in TASK_FIELDS[self.task.name]}
        d["network"]["init"] = _init_dict(self.network.init)
        d["network"]["bias_init"] = _init_dict(self.network.bias_init)
        del d["input_feedback"]
        hidden = range(1, len(self.network.sizes) - 1)
        pathways = [_pathway_dict(self.pathway(l)) for l in hidden]
        if not pathways or all(p == pathways[0] for p in pathways):
            d["feedback"] = pathways[0] if pathways else {}
        else:
            d["feedback"] = dict(zip(hidden, pathways))
        if self.input_feedback:
            d["feedback"]["input"] = True
        if not _rule_class(self.rule.name, "rule").has_mirror_phase:
            del d["rule"]["mirror"]
        if not self.rule.params:
            del d["rule"]["params"]
        if self.forward:
            keep = ("connectivity", "sign", "delay")
            d["forward"] = {
                l: {k: getattr(p, k) for k in keep} | ({"plasticity": _code_dict(p.plasticity)} if p.plasticity else {})
                for l, p in enumerate(self.forward)
            }
        else:
            del d["forward"]
        d["phases"] = [{p.kind: _phase_fields(p)} for p in self.phases]
        if self.engine != "brian2":
            del d["brian"]
        else:
            del d["brian"]["lif" if self.brian.neurons == "rate" else "tau"]
            if self.brian.populations:
                d["brian"]["populations"] = {
                    l: _population_dict(p) for l, p in enumerate(self.brian.populations, 1) if p != Population()
                }
            else:
                del d["brian"]["populations"]
            d["brian"]["extra"] = {
                e.name: {"size": e.size, **_population_dict(e.population), "error": e.error} for e in self.brian.extra
            }
            d["brian"]["pathways"] = {
                k.name: {"from": k.source, "to": k.target, "into": k.into, **_pathway_dict(k.structure)}
                for k in self.brian.pathways
            }
            for key in ("extra", "pathways"):
                if not d["brian"][key]:
                    del d["brian"][key]
        return d


def _init_dict(init: Init) -> dict[str, Any] | str:
    if init.dist == "zero":
        return "zero"
    d = {"dist": init.dist, "scale": init.scale}
    return d | {"sigma": init.sigma} if init.dist == "lognormal" else d


def _population_dict(p: Population) -> dict[str, Any]:
    if p.model != "custom":
        return {"model": p.model, "params": p.params}
    return {k: v for k, v in dataclasses.asdict(p).items() if k != "refractory" or v}


def _pathway_dict(p: Pathway) -> dict[str, Any]:
    d = {"connectivity": p.connectivity, "sign": p.sign, "init": _init_dict(p.init), "delay": p.delay}
    if p.source:
        d["source"] = p.source
    if p.carries != "both":
        d["carries"] = p.carries
    if p.plasticity is not None:
        d["plasticity"] = _code_dict(p.plasticity)
    return d


def _code_dict(code: SynapseCode) -> dict[str, Any]:
    d = {k: v for k, v in dataclasses.asdict(code).items() if k != "constants" and v}
    return d | {"constants": dict(code.constants)} if code.constants else d


def _phase_fields(p: Phase) -> dict[str, Any]:
    keys = {"learn": ("epochs",), "mirror": ("steps",), "noise_pretrain": ("epochs", "samples_per_epoch", "noise_std")}[
        p.kind
    ]
    return {k: getattr(p, k) for k in keys}


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


class _Fields:
    """One mapping of a circuit file: checked against its block's schema (:mod:`spikefa.validation`)
    where it is one, then read field by field; what depends on other fields is checked here."""

    def __init__(self, raw: Any, path: str, source: str, block: S.Block | None = None):
        self.path, self.source, self.block = path, source, block
        if block is not None:
            validation.check(block, raw, path, source)
        elif raw is not None and not isinstance(raw, dict):  # a mapping of named or numbered entries
            self.fail(self.path or "circuit", f"must be a mapping, got {show(raw)}")
        self.raw = dict(raw or {})

    def fail(self, name: str, msg: str):
        raise SpikefaError(f"{self.source}: {name}: {msg}")

    def name(self, key: str) -> str:
        return f"{self.path}.{cut(str(key))}" if self.path else cut(str(key))

    def declared(self, field: S.Field, default: Any = dataclasses.MISSING) -> Any:
        """The value of a field declared in :mod:`spikefa.schema` (``default``: where it depends on other
        fields), as its kind reads in Python: a whole number given for an integer as an int, an int given
        for a number as a float, a list as a tuple."""
        if default is dataclasses.MISSING:
            default = field.default  # REQUIRED: the schema has made sure the field is there
        value = self.raw.pop(field.key) if default is S.REQUIRED else self.raw.pop(field.key, default)
        if field.kind == "integer" and isinstance(value, float):
            return int(value)
        if field.kind == "number" and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return tuple(value) if isinstance(value, list) else value

    def read(self, cls: type):
        """A block whose fields are all plain declared ones, read in their declared order, as ``cls``."""
        value = cls(**{field.key: self.declared(field) for field in self.block.fields})
        self.done()
        return value

    def sub(self, key: str, block: S.Block | None = None) -> _Fields:
        return _Fields(self.raw.pop(key, None), self.name(key), self.source, block)

    def done(self):
        if self.raw:
            key = sorted(self.raw, key=str)[0]
            self.fail(self.name(key), "unknown field")


def _allowed(fields: _Fields, allowed: tuple[str, ...]):
    for key in fields.raw:
        if key not in allowed:
            fields.fail(fields.name(key), f"unknown field; allowed: {', '.join(allowed)}")


def _init(parent: _Fields, key: str, default: Init = Init(), zero: bool = False) -> Init:
    """An ``init`` field: a name (``xavier``, ``xavier_normal``; ``zero`` where ``zero`` allows it) or a
    mapping with ``dist``, ``scale`` (the gain of ``xavier``/``xavier_normal``) and, lognormal, ``sigma``."""
    raw = parent.raw.get(key)
    if raw is None:
        return default
    dists = ("xavier", *INIT_DISTS, *(("zero",) if zero else ()))
    if isinstance(raw, str) and raw in ("xavier", "xavier_normal", "zero"):
        parent.raw[key] = {"dist": raw}
    f = parent.sub(key, S.INIT)
    dist = f.declared(S.INIT["dist"])
    if dist not in dists:  # zero: biases only
        f.fail(f.name("dist"), f"unknown value {show(dist)}; allowed: {', '.join(dists)}")
    if dist == "zero":
        _allowed(f, ("dist",))
        f.done()
        return Init("zero")
    _allowed(f, ("dist", "scale", "sigma") if dist == "lognormal" else ("dist", "scale"))
    fan = dist in ("xavier", "xavier_normal")
    if not fan and "scale" not in f.raw:  # xavier's gain may be 0 or absent (1), another scale may not
        f.fail(f.name("scale"), "missing")
    if not fan and f.raw["scale"] == 0:
        f.fail(f.name("scale"), f"must be > 0, got {show(float(f.raw['scale']))}")
    scale = f.declared(S.INIT["scale"])
    sigma = f.declared(S.INIT["sigma"])
    f.done()
    return Init(dist, scale, sigma)


def _named(parent: _Fields, key: str, block: S.Block) -> _Fields:
    """A field written either as ``key: NAME`` or as a mapping with ``name: NAME``."""
    raw = parent.raw.get(key)
    if isinstance(raw, str):
        parent.raw[key] = {"name": raw}
    return parent.sub(key, block)


def _network(f: _Fields) -> Network:
    sizes = f.declared(S.NETWORK["sizes"])
    if isinstance(f.raw.get("hidden"), dict):  # a rate function of the user's, as code
        h = f.raw.pop("hidden")
        hidden = Activation(h["rate"], h["slope"])
        from .activations import check_code

        problem = check_code(hidden.rate, hidden.slope)
        if problem:
            f.fail(f.name("hidden"), cut(problem, 200))
    else:
        hidden = f.declared(S.NETWORK["hidden"])
    output = f.declared(S.NETWORK["output"])
    loss = f.declared(S.NETWORK["loss"], "cross_entropy" if output == "softmax" else "mse")
    if loss == "binary_cross_entropy" and output != "sigmoid":
        f.fail(f.name("loss"), f"binary_cross_entropy goes with output: sigmoid; got output {output!r}")
    if (loss == "cross_entropy") != (output == "softmax"):
        f.fail(
            f.name("loss"),
            "cross_entropy goes with output: softmax, and softmax with cross_entropy; "
            f"got loss {loss!r} with output {output!r}",
        )
    return Network(sizes, hidden, output, loss, _init(f, "init"), _init(f, "bias_init", Init("zero"), zero=True))


def _task(f: _Fields) -> Task:
    name = f.declared(S.TASK["name"])
    allowed = TASK_FIELDS[name]
    _allowed(f, allowed)
    teacher_default = {"linear_teacher": (30, 10), "nonlinear_teacher": (30, 20, 10, 10)}.get(name, ())
    return Task(
        name=name,
        data_dir=f.declared(S.TASK["data_dir"]),
        n_train=f.declared(S.TASK["n_train"]),
        n_test=f.declared(S.TASK["n_test"]),
        normalize=f.declared(S.TASK["normalize"]),
        validation=f.declared(S.TASK["validation"]),
        data_seed=f.declared(S.TASK["data_seed"]),
        teacher_sizes=f.declared(S.TASK["teacher_sizes"], teacher_default) if teacher_default else (),
    )


def _rule_class(name: str, where: str, base: Path | None = None) -> type:
    from .rules import rule_class  # the rules import this module: imported when first needed

    return rule_class(name, where, base, load=_LOAD_CODE.get())


def _rule(f: _Fields, base: Path | None) -> Rule:
    name = f.declared(S.RULE["name"])
    if ":" not in name and name not in RULES:
        f.fail(f.name("name"), f"unknown value {show(name)}; allowed: {', '.join(RULES)}, or module:Class")
    cls = _rule_class(name, f.source + ": " + f.name("name"), base)
    name = cls.spec_name(name, base)
    _allowed(f, ("name", "mirror", "params") if cls.has_mirror_phase else ("name", "params"))
    params = cls.check_params(f.declared(S.RULE["params"]), f.source + ": " + f.name("params"))
    return Rule(name, f.sub("mirror", S.MIRROR).read(Mirror), params)


def _numbered(f: _Fields, indices: range, refusal: str, block: S.Block) -> dict[int, _Fields]:
    """A block's entries keyed by a layer's number (what differs in that layer), taken out of the block
    as fields of their own; a number outside ``indices`` is refused with ``refusal``."""
    for k in [k for k in f.raw if isinstance(k, str) and k.isdigit()]:  # a layer's number as JSON writes it
        f.raw[int(k)] = f.raw.pop(k)
    numbered = {k: f.raw.pop(k) for k in list(f.raw) if isinstance(k, int) and not isinstance(k, bool)}
    for k in sorted(numbered):
        if k not in indices:
            f.fail(f.name(str(k)), refusal)
    return {k: _Fields(v, f.name(str(k)), f.source, block) for k, v in numbered.items()}


def _feedback(
    raw: Any, source: str, network: Network, rule: Rule, brian: Brian, engine: str
) -> tuple[tuple[Pathway, ...], bool]:
    """One Pathway per hidden layer: the block's own fields for all of them, and a layer's number
    (``feedback: {sign: positive, 2: {connectivity: 0.5}}``) for what differs in that layer; and whether
    a B_0 into the input layer exists too (``input: true``)."""
    f = _Fields(raw, "feedback", source, S.FEEDBACK)
    hidden = range(1, len(network.sizes) - 1)
    layers = _numbered(
        f, hidden, f"names no hidden layer; the hidden layers are {', '.join(map(str, hidden)) or 'none'}", S.FEEDBACK
    )
    to_input = f.declared(S.FEEDBACK["input"])
    if to_input and engine != "reference":
        f.fail(f.name("input"), "needs engine: reference (a Brian2 input layer has no error compartment)")
    if to_input and _rule_class(rule.name, "rule").topology != "layerwise":
        f.fail(f.name("input"), f"needs a layer-by-layer rule (B_0 has W_0ᵀ's shape); the rule is {rule.name}")
    common = _pathway(f, Pathway(), rule, brian, engine)
    pathways = [_pathway(layers[l], common, rule, brian, engine) if l in layers else common for l in hidden]
    if raw and not hidden:
        f.fail("feedback", "the network has no hidden layer, so no feedback pathway")
    extras = {e.name for e in brian.extra}
    for l, p in zip(hidden, pathways):
        if p.source in extras and seconds(p.delay) > 0 and brian.neurons == "rate":
            f.fail(f.name(str(l)), "a rate circuit's pathway from an extra population takes no delay")
        if p.source.startswith("layer") and not l < int(p.source.removeprefix("layer")) <= hidden.stop:
            where = f.name(str(l)) + ".source" if l in layers else f.name("source")
            above = ", ".join(f"layer{k}" for k in range(l + 1, hidden.stop + 1))
            f.fail(where, f"hidden layer {l} takes errors from a layer above it ({above}), got {p.source}")
    # a step per pathway crossed, its delay, and a step more through an extra population
    steps = [round(seconds(p.delay) / seconds(brian.dt)) + (p.source in extras) for p in pathways]
    if brian.neurons == "rate" and any(steps):
        # a rate circuit equals the reference engine once errors have crossed
        layerwise = _rule_class(rule.name, "rule").topology == "layerwise"
        need = sum(1 + d for d in steps) if layerwise else max(1 + d for d in steps)
        if round(seconds(brian.error_time) / seconds(brian.dt)) < need:
            f.fail(
                "feedback",
                f"the errors need {need} steps of dt = {brian.dt} to cross their pathways; "
                f"set brian.error_time to at least {need * seconds(brian.dt) * 1e3:g} ms",
            )
    return tuple(pathways), to_input


def _pathway(f: _Fields, base: Pathway, rule: Rule, brian: Brian, engine: str) -> Pathway:
    _allowed(f, ("connectivity", "sign", "init", "delay", "source", "carries", "plasticity"))
    carries = _carries(f, brian, base.carries)
    plasticity = _plasticity(f, base.plasticity, brian, engine)
    if plasticity is not None and plasticity is not base.plasticity:
        cls = _rule_class(rule.name, "rule")
        if cls.learns_feedback or cls.transports_weights or cls.has_mirror_phase or cls.topology == "local":
            f.fail(
                f.name("plasticity"),
                f"rule {rule.name} has feedback of its own making; code plasticity on B needs a rule with fixed "
                "random feedback (feedback_alignment, direct_feedback_alignment)",
            )
    source = f.declared(S.FEEDBACK["source"], base.source)
    if source:
        extras = [e.name for e in brian.extra]
        if source not in extras and not re.fullmatch(r"layer[1-9]\d*", source):
            f.fail(
                f.name("source"),
                f"names no layer above (layerK) and no extra population; brian.extra has {', '.join(extras) or 'none'}",
            )
        if engine != "brian2":
            f.fail(f.name("source"), "needs engine: brian2 (the reference engine's rules fix where errors come from)")
        cls = _rule_class(rule.name, "rule")
        if cls.learns_feedback or cls.transports_weights:
            f.fail(
                f.name("source"),
                f"rule {rule.name} learns or copies B in W's shape; a pathway from another source "
                "needs a rule with fixed feedback (feedback_alignment, direct_feedback_alignment, ...)",
            )
    p = dataclasses.replace(_structure(f, base, brian, engine, source), carries=carries, plasticity=plasticity)
    f.done()
    return p


CODE_BLOCKS = ("variables", "on_pre", "on_post", "each_example", "constants")
# a declared constant: a number, optionally a unit name and a power of it ("20 ms", "1 mV**2")
CONSTANT = re.compile(
    r"(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?:\s*(?P<unit>[A-Za-z]+)(?:\s*\*\*\s*(?P<power>-?\d+))?)?"
)


def _plasticity(parent: _Fields, base: SynapseCode | None, brian: Brian, engine: str) -> SynapseCode | None:
    """A pathway's ``plasticity``: Brian2 code (:class:`SynapseCode`); its statements are checked where
    they are built (Brian2 parses them, with their units, and the locality contract)."""
    if "plasticity" not in parent.raw:
        return base
    f = parent.sub("plasticity", S.CODE)
    if engine != "brian2":
        f.fail(f.path, "Brian2 code runs on Brian2's synapses: it needs engine: brian2")
    text = {key: f.declared(S.CODE[key]) for key in CODE_BLOCKS[:-1]}
    if brian.neurons == "rate":
        for key in ("on_pre", "on_post"):
            if text[key].strip():
                f.fail(f.name(key), "only for neurons: lif (rate neurons fire no spikes); use each_example")
    c = f.sub("constants")
    constants = []
    for name in list(c.raw):
        if not (isinstance(name, str) and name.isidentifier()):
            c.fail(c.name(str(name)), "a constant's name must be an identifier")
        value = c.raw.pop(name)
        value = str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
        if not (isinstance(value, str) and CONSTANT.fullmatch(value.strip())):
            c.fail(c.name(name), f"must be a number, or a number and a Brian2 unit ('20 ms'), got {show(value)}")
        constants.append((name, value.strip()))
    f.done()
    code = SynapseCode(**text, constants=tuple(constants))
    if not code.blocks():
        f.fail(f.path, "declares no statements; give on_pre, on_post or each_example")
    return code


def _carries(f: _Fields, brian: Brian, default: str = "both") -> str:
    """Which of its source's error events a spiking error pathway carries."""
    if "carries" in f.raw and brian.neurons != "lif":
        f.fail(f.name("carries"), "only for neurons: lif (a rate pathway carries its source's signed error)")
    return f.declared(S.FEEDBACK["carries"], default)


def _structure(
    f: _Fields, base: Pathway, brian: Brian, engine: str, source: str = "", within: str = "error_time"
) -> Pathway:
    """A pathway's connectivity, sign, init and delay; a delay must be shorter than ``brian.{within}``."""
    p = Pathway(
        connectivity=f.declared(S.FEEDBACK["connectivity"], base.connectivity),
        sign=f.declared(S.FEEDBACK["sign"], base.sign),
        init=_init(f, "init", base.init),
        delay=_quantity(f, S.FEEDBACK["delay"], base.delay),
        source=source,
    )
    if seconds(p.delay) > 0:
        if engine != "brian2":
            f.fail(f.name("delay"), "needs engine: brian2 (the reference engine computes steady states, without time)")
        if brian.neurons == "rate" and within != "error_time":
            f.fail(f.name("delay"), "rate circuits delay feedback pathways only; neurons: lif delays any pathway")
        steps = seconds(p.delay) / seconds(brian.dt)
        if not math.isclose(steps, round(steps), abs_tol=1e-6):
            f.fail(f.name("delay"), f"must be a whole number of dt = {brian.dt} steps, got {p.delay!r}")
        limit = getattr(brian, within)
        if seconds(p.delay) >= seconds(limit):
            f.fail(
                f.name("delay"),
                f"{p.delay} is not shorter than brian.{within} {limit}: its spikes would come after they are read",
            )
    return p


def _forward(raw: Any, source: str, network: Network, brian: Brian, engine: str) -> tuple[Pathway, ...]:
    """One Pathway per forward projection W_0 … W_{L−1}: the block's fields for all, a projection's
    number for one. W starts as ``network.init`` says; the block gives its structure."""
    f = _Fields(raw, "forward", source, S.FORWARD)
    L = len(network.sizes) - 1
    numbered = _numbered(
        f, range(L), f"names no forward projection; they are 0 … {L - 1} (W_l: layer l → l + 1)", S.FORWARD
    )

    def read(fields: _Fields, base: Pathway) -> Pathway:
        plasticity = _plasticity(fields, base.plasticity, brian, engine)
        p = dataclasses.replace(_structure(fields, base, brian, engine, within="forward_time"), plasticity=plasticity)
        fields.done()
        return p

    common = read(f, Pathway())
    out = tuple(read(numbered[l], common) if l in numbered else common for l in range(L))
    return out if any(p != Pathway() for p in out) else ()


def _phases(raw: Any, source: str, rule: str, mirrors: bool) -> tuple[Phase, ...]:
    if raw is None:
        return (Phase("learn"),)
    if not raw:  # a list (the schema), and not an empty one
        raise SpikefaError(f"{source}: phases: must be a non-empty list of phases ({', '.join(PHASES)})")
    phases = []
    for n, item in enumerate(raw):
        where = f"phases[{n}]"
        if isinstance(item, str):
            item = {item: {}}
        if not isinstance(item, dict) or len(item) != 1:
            raise SpikefaError(
                f"{source}: {where}: must be one of {', '.join(PHASES)} with its fields, "
                f"e.g. '- learn: {{epochs: 10}}'; got {show(item)}"
            )
        ((kind, body),) = item.items()
        if kind not in PHASES:
            raise SpikefaError(f"{source}: {where}: unknown phase {show(kind)}; allowed: {', '.join(PHASES)}")
        f = _Fields(body, f"{where}.{kind}", source, S.PHASE_BLOCKS[kind])
        if kind == "learn":
            phase = Phase(kind, epochs=f.declared(S.LEARN["epochs"]))
        elif kind == "mirror":
            if not mirrors:
                f.fail(where, f"a mirror phase needs a rule with mirror phases (weight_mirror), the rule is {rule!r}")
            phase = Phase(kind, steps=f.declared(S.MIRROR_PHASE["steps"]))
        else:
            phase = Phase(
                kind,
                epochs=f.declared(S.NOISE_PRETRAIN["epochs"]),
                samples_per_epoch=f.declared(S.NOISE_PRETRAIN["samples_per_epoch"]),
                noise_std=f.declared(S.NOISE_PRETRAIN["noise_std"]),
            )
        f.done()
        phases.append(phase)
    return tuple(phases)


def circuit_from_dict(raw: Any, source: str = "circuit", *, load_code: bool = True) -> Circuit:
    """Validate a raw circuit mapping (as read from YAML); ``source`` names it in error messages.
    ``load_code=False`` imports no user's rule (a run folder someone sent, a listing): one this process
    has not imported already is refused with :class:`~spikefa.errors.CodeNotLoaded`."""
    token = _LOAD_CODE.set(load_code)
    try:
        return _circuit(raw, source)
    finally:
        _LOAD_CODE.reset(token)


def _circuit(raw: Any, source: str) -> Circuit:
    top = _Fields(raw, "", source, S.CIRCUIT)
    top.raw.pop("sweep", None)  # a sweep block is for `spikefa sweep` (spikefa.sweeps); a run ignores it
    name = top.declared(S.CIRCUIT["name"], Path(source).stem)
    description = top.declared(S.CIRCUIT["description"])
    seed = top.declared(S.CIRCUIT["seed"])
    engine = top.declared(S.CIRCUIT["engine"])
    dtype = top.declared(S.CIRCUIT["dtype"])
    if engine == "brian2" and dtype != "float64":
        # measured: no faster in Brian2, whose synapse loops are bound by index reads (benchmarks/brian_speed.py)
        top.fail("dtype", f"{dtype} is for engine: reference; Brian2 circuits run in float64")
    if "network" not in top.raw:
        top.fail("network", "missing (a mapping with sizes, hidden, output, loss, init)")
    n = top.sub("network", S.NETWORK)
    network = _network(n)
    n.done()
    if "task" not in top.raw:
        top.fail("task", f"missing; allowed: {', '.join(TASKS)}")
    t = _named(top, "task", S.TASK)
    task = _task(t)
    t.done()
    if "rule" not in top.raw:
        top.fail("rule", f"missing; allowed: {', '.join(RULES)}")
    r = _named(top, "rule", S.RULE)
    rule = _rule(r, Path(source).resolve().parent if Path(source).is_file() else None)
    r.done()
    optimizer = top.sub("optimizer", S.OPTIMIZER).read(Optimizer)
    phases = _phases(top.raw.pop("phases", None), source, rule.name, _rule_class(rule.name, "rule").has_mirror_phase)
    record = top.sub("record", S.RECORD).read(Record)
    declared = [key for key in ("forward", "feedback") if _declares_code(top.raw.get(key))]
    links = top.raw["brian"].get("pathways") if isinstance(top.raw.get("brian"), dict) else None
    if isinstance(links, dict):
        declared += [f"brian.pathways.{k}" for k, v in links.items() if isinstance(v, dict) and "plasticity" in v]
    brian = _brian(top.sub("brian", S.BRIAN), engine, network, declared)
    if brian.neurons == "lif" and brian.lif.error_baseline > 0 and _rule_class(rule.name, "rule").learns_feedback:
        top.fail(
            "brian.lif.error_baseline",
            f"rule {rule.name} changes B from the errors its events carry, which the spontaneous events would "
            "bias; use error_baseline: 0",
        )
    feedback, input_feedback = _feedback(top.raw.pop("feedback", None), source, network, rule, brian, engine)
    if engine == "brian2" and rule.mirror.response != "drive":
        raise SpikefaError(
            f"{source}: rule.mirror.response: {rule.mirror.response} needs engine: reference "
            "(a Brian2 mirror phase reads the drive of the layer above)"
        )
    forward = _forward(top.raw.pop("forward", None), source, network, brian, engine)
    if any(p.plasticity for p in forward):
        if optimizer.momentum:
            top.fail("forward.plasticity", "code plasticity keeps no momentum buffer; use optimizer.momentum: 0")
        if _rule_class(rule.name, "rule").has_mirror_phase:
            top.fail("forward.plasticity", f"rule {rule.name}'s noise phases would set off W's code; use another rule")
    if any(isinstance(layer, int) and layer >= len(network.sizes) for layer in brian.monitor.layers):
        raise SpikefaError(
            f"{source}: brian.monitor.layers: {show(list(brian.monitor.layers))} names a layer the network "
            f"does not have (layers 0 … {len(network.sizes) - 1}, 0 is the input)"
        )
    if (
        "mirror" in brian.monitor.when
        and not any(p.kind == "mirror" for p in phases)
        and not (_rule_class(rule.name, "rule").has_mirror_phase and rule.mirror.steps_per_batch)
    ):
        raise SpikefaError(f"{source}: brian.monitor.when: mirror, but this circuit has no mirror phase")
    top.done()
    if task.name == "nonlinear_teacher" or task.name == "linear_teacher":
        if any(p.kind == "noise_pretrain" for p in phases):
            raise SpikefaError(
                f"{source}: phases: noise_pretrain needs a classification task "
                f"(digits, mnist, mnist1d), the task is {task.name!r}"
            )
    return Circuit(
        name=name,
        description=description,
        seed=seed,
        engine=engine,
        dtype=dtype,
        network=network,
        task=task,
        rule=rule,
        optimizer=optimizer,
        phases=phases,
        record=record,
        brian=brian,
        feedback=feedback,
        forward=forward,
        input_feedback=input_feedback,
    )


def _quantity(f: _Fields, field: S.Field, default: Any = dataclasses.MISSING) -> str:
    """A time or rate field, kept as its text (``"1 ms"``, ``"200 Hz"``): the schema has checked how it
    is written, this that it is finite and positive (or zero, where the declaration allows it)."""
    value = f.declared(field, default)
    try:
        number = (seconds if field.kind == "time" else hertz)(value)
    except (ValueError, KeyError):
        number = math.nan
    if not (math.isfinite(number) and (number > 0 or (number == 0 and field.low == 0))):
        f.fail(f.name(field.key), validation.quantity_message(field, value))
    return value


def _monitor(f: _Fields) -> Monitor:
    layers = f.declared(S.MONITOR["layers"])
    for v in layers:
        if not (isinstance(v, int) and not isinstance(v, bool) and v >= 0) and not (
            isinstance(v, str) and v.isidentifier()
        ):
            f.fail(f.name("layers"), f"must list layer numbers (0 is the input) or population names, got {show(v)}")
    variables = f.declared(S.MONITOR["variables"])
    for v in variables:
        if not (isinstance(v, str) and v.isidentifier()):
            f.fail(f.name("variables"), f"must list state variable names (or spikes, rate), got {show(v)}")
    when = f.declared(S.MONITOR["when"])
    m = Monitor(
        layers,
        variables,
        f.declared(S.MONITOR["examples"]),
        tuple(dict.fromkeys(when)),
        f.declared(S.MONITOR["every"]),
        f.declared(S.MONITOR["window"]),
    )
    f.done()
    if m.window > m.every:
        f.fail(f.name("window"), f"must be at most every ({m.every}), got {m.window}")
    return m


def _declares_code(raw: Any) -> bool:
    """Whether a forward or feedback block declares a ``plasticity`` (its own, or a numbered layer's)."""
    if not isinstance(raw, dict):
        return False
    return "plasticity" in raw or any(isinstance(v, dict) and "plasticity" in v for v in raw.values())


def _brian(f: _Fields, engine: str, network: Network, declared: list[str] = ()) -> Brian:
    if engine != "brian2" and f.raw:
        f.fail("brian", "only for engine: brian2")
    neurons = f.declared(S.BRIAN["neurons"])
    rate = neurons == "rate"
    if not rate and "tau" in f.raw:
        f.fail(f.name("tau"), "only for neurons: rate; LIF time constants go in brian.lif")
    if rate and "lif" in f.raw:
        f.fail(f.name("lif"), "only for neurons: lif")
    if rate and "populations" in f.raw:
        f.fail(f.name("populations"), "only for neurons: lif (rate populations follow network.hidden)")
    if engine == "brian2" and not rate and network.hidden != "relu":
        got = network.hidden
        f.fail(f.name("neurons"), f"lif needs network.hidden: relu (a LIF neuron's rate is rectified), got {got!r}")
    dt = _quantity(f, S.BRIAN["dt"], Brian.dt if rate else "0.5 ms")
    L = len(network.sizes) - 1
    step_ms = seconds(dt) * 1e3
    b = Brian(
        neurons=neurons,
        tau=_quantity(f, S.BRIAN["tau"]) if rate else Brian.tau,
        dt=dt,
        forward_time=_quantity(f, S.BRIAN["forward_time"], f"{L * step_ms:g} ms" if rate else "40 ms"),
        error_time=_quantity(f, S.BRIAN["error_time"], f"{max(L - 1, 1) * step_ms:g} ms" if rate else "20 ms"),
        target=(target := f.declared(S.BRIAN["target"])),
        learning=(learning := f.declared(S.BRIAN["learning"])),
        plasticity=f.declared(
            S.BRIAN["plasticity"],
            "code" if target == "cpp_standalone" or learning == "online" or declared else "kernels",
        ),
        monitor=_monitor(f.sub("monitor", S.MONITOR)),
        lif=Lif() if rate else _lif(f.sub("lif", S.LIF)),
        populations=_populations(f, L) if not rate else (),
        extra=_extras(f, rate),
    )
    b = dataclasses.replace(b, pathways=_links(f, b, engine, L))
    f.done()
    if b.target == "cpp_standalone" and b.plasticity != "code":
        f.fail(f.name("plasticity"), "cpp_standalone runs no Python between steps: it needs plasticity: code")
    if declared and b.plasticity != "code":
        f.fail(f.name("plasticity"), f"{declared[0]}.plasticity is Brian2 code: it needs plasticity: code")
    if b.learning == "online" and rate:
        f.fail(f.name("learning"), "online learning is on spike events: only for neurons: lif")
    if b.learning == "online" and b.plasticity != "code":
        f.fail(
            f.name("plasticity"),
            "learning: online changes synapses on spike events in Brian2 code: it needs plasticity: code",
        )
    if rate and seconds(b.dt) > seconds(b.tau) * (1 + 1e-9):
        f.fail(f.name("dt"), f"must be at most tau for rate neurons (Euler steps), got dt {b.dt!r}, tau {b.tau!r}")
    _check_steps(f, b, L)
    return b


def _entries(f: _Fields, reserved: str, what: str, block: S.Block):
    """A block's named entries, as (name, fields): each name an identifier that ``reserved`` (a regular
    expression, the circuit's own names) does not match; ``what`` says which names those are."""
    for name in list(f.raw):
        where = f.name(str(name))
        if not (isinstance(name, str) and name.isidentifier()) or re.fullmatch(reserved, name):
            f.fail(where, f"must be an identifier other than {what}")
        yield name, _Fields(f.raw.pop(name), where, f.source, block)


def _extras(parent: _Fields, rate: bool) -> tuple[Extra, ...]:
    out = []
    for name, e in _entries(
        parent.sub("extra"), r"(layer|classifier)\d+", "the layers' and classifiers' (layerN, classifierN)", S.EXTRA
    ):
        size = e.declared(S.EXTRA["size"])
        error = e.declared(S.EXTRA["error"])
        if rate:  # a rate population of the network's hidden activation
            for key in e.raw:
                e.fail(
                    e.name(key), "a rate circuit's extra population is a rate population (network.hidden): size, error"
                )
            out.append(Extra(name, size, Population(), error))
        else:
            out.append(Extra(name, size, _population(e), error))
    return tuple(out)


def _links(parent: _Fields, brian: Brian, engine: str, L: int) -> tuple[Link, ...]:
    names = [f"layer{l}" for l in range(L + 1)] + [e.name for e in brian.extra]
    out = []
    entries = _entries(parent.sub("pathways"), r"[WBC]\d+", "the circuit's own pathways' (W0, B1, C1, …)", S.LINK)
    for name, k in entries:
        ends = {}
        for key in ("from", "to"):
            ends[key] = k.declared(S.LINK[key])
            if ends[key] not in names:
                k.fail(k.name(key), f"unknown population {show(ends[key])}; allowed: {', '.join(names)}")
        into = k.declared(S.LINK["into"])
        if into == "error" and ends["from"] == "layer0":
            k.fail(k.name("from"), "layer0 (the input) has no error to send")
        if ends["to"] == "layer0" or (into == "error" and ends["to"] == f"layer{L}"):
            k.fail(
                k.name("to"),
                f"{ends['to']} takes no {into} input (the input fires the data; the output's error is the teacher's)",
            )
        if brian.neurons == "rate" and "delay" in k.raw:
            k.fail(k.name("delay"), "rate circuits delay feedback pathways only; neurons: lif delays any pathway")
        if into == "drive" and "carries" in k.raw:
            k.fail(k.name("carries"), "only for into: error (a drive pathway carries spikes)")
        carries = _carries(k, brian)
        autapses = k.declared(S.LINK["autapses"])
        if autapses and ends["from"] != ends["to"]:
            k.fail(
                k.name("autapses"), f"only for a pathway from a population to itself ({ends['from']} → {ends['to']})"
            )
        plasticity = _plasticity(k, None, brian, engine)
        if plasticity is not None and brian.neurons == "rate":
            k.fail(k.name("plasticity"), "only for neurons: lif (a rate circuit's own pathways are fixed)")
        structure = dataclasses.replace(_structure(k, Pathway(), brian, engine), carries=carries, plasticity=plasticity)
        if brian.neurons == "lif" and into == "error" and structure.sign != "free" and carries == "both":
            k.fail(
                k.name("carries"),
                f"a {structure.sign} error pathway of a spiking circuit carries one stream of its source's error "
                "events, each adding w (Dale's law): carries: positive or negative",
            )
        k.done()
        out.append(Link(name, ends["from"], ends["to"], into, structure, autapses))
    return tuple(out)


def _populations(parent: _Fields, L: int) -> tuple[Population, ...]:
    """Per layer 1 … L: ``hidden`` and ``output`` set groups of layers, a layer's number sets that one."""
    f = parent.sub("populations")
    refusal = f"names no layer with a population; allowed: 1 … {L} (0 is the input)"
    numbered = _numbered(f, range(1, L + 1), refusal, S.POPULATION)
    _allowed(f, ("hidden", "output"))
    groups = {key: _population(_Fields(f.raw.pop(key), f.name(key), f.source, S.POPULATION)) for key in list(f.raw)}
    out = []
    for l in range(1, L + 1):
        if l in numbered:
            out.append(_population(numbered[l]))
        else:
            out.append(groups.get("output" if l == L else "hidden", Population()))
    return tuple(out) if any(p != Population() for p in out) else ()


def _population(f: _Fields) -> Population:
    code = ("equations", "threshold", "reset", "refractory", "method")
    custom = "equations" in f.raw
    written = custom or any(k in f.raw for k in code)
    model = f.declared(S.POPULATION["model"], "custom" if written else "lif")
    if model != "custom":
        _allowed(f, ("model", "params"))
    elif not custom:
        f.fail(f.name("equations"), "missing: a custom model writes its membrane as Brian2 equations defining v")
    else:
        _allowed(f, ("model", "params", *code))
    params = f.declared(S.POPULATION["params"])
    for key, value in params.items():
        if not (isinstance(key, str) and key.isidentifier()):
            f.fail(f.name("params"), f"{show(key)} is not a name Brian2 code can use")
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float, str))
            or (isinstance(value, float) and not math.isfinite(value))
        ):
            f.fail(
                f"{f.name('params')}.{key}", f"must be a finite number or a quantity like '100 ms', got {show(value)}"
            )
    p = Population(
        model=model,
        equations=f.declared(S.POPULATION["equations"]),
        threshold=f.declared(S.POPULATION["threshold"], "v > v_threshold" if custom else ""),
        reset=f.declared(S.POPULATION["reset"], "v = 0" if custom else ""),
        refractory=_quantity(f, S.POPULATION["refractory"]) if "refractory" in f.raw else "",
        method=f.declared(S.POPULATION["method"]),
        params=params,
    )
    f.done()
    return p


def _lif(f: _Fields) -> Lif:
    times = ("tau_m", "tau_syn", "tau_trace", "tau_err", "refractory", "mirror_trace", "mirror_mean")
    rates = ("max_rate", "error_rate", "noise_rate", "target_rate")
    values: dict[str, Any] = {k: _quantity(f, S.LIF[k]) for k in times}
    for key in ("mirror_window", "mirror_tau_m"):
        values[key] = f.raw.pop(key, None) if f.raw.get(key) is None else _quantity(f, S.LIF[key])
    values.update({k: _quantity(f, S.LIF[k]) for k in rates})
    values["v_threshold"] = f.declared(S.LIF["v_threshold"])
    values["input"] = f.declared(S.LIF["input"])
    values["surrogate"] = f.declared(S.LIF["surrogate"])
    values["v_floor"] = f.declared(S.LIF["v_floor"])
    values["mirror_drive"] = f.declared(S.LIF["mirror_drive"])
    values["error_baseline"] = f.declared(S.LIF["error_baseline"])
    f.done()
    return Lif(**values)


def _check_steps(f: _Fields, b: Brian, L: int) -> None:
    """Times must be whole numbers of steps, the pathways need a step per layer, and no rate may fire
    more than once a step."""
    dt = seconds(b.dt)
    lif = b.lif if b.neurons == "lif" else None
    times = {"forward_time": (b.forward_time, L), "error_time": (b.error_time, L - 1 if L > 1 else 1)}
    if lif:
        times.update(refractory=(lif.refractory, 1))
        if lif.mirror_window is not None:
            times.update(mirror_window=(lif.mirror_window, 1))
    for key, (value, least) in times.items():
        where = f.name(key) if key in ("forward_time", "error_time") else f"{f.name('lif')}.{key}"
        steps = seconds(value) / dt
        if not math.isclose(steps, round(steps), abs_tol=1e-6):
            f.fail(where, f"must be a whole number of dt = {b.dt} steps, got {value!r}")
        if round(steps) < least:
            f.fail(where, f"must be at least {least} steps of dt = {b.dt} (one per layer it crosses), got {value!r}")
    for key in ("max_rate", "error_rate", "noise_rate") if lif else ():
        where, value = f"{f.name('lif')}.{key}", getattr(lif, key)
        if hertz(value) * dt > 1:
            f.fail(where, f"{value} fires more than once per dt = {b.dt}; lower it or dt")
    if lif and hertz(lif.error_rate) * dt * (1 + lif.error_baseline) > 1:  # an error of 1 on the baseline
        f.fail(
            f"{f.name('lif')}.error_baseline",
            f"error_rate {lif.error_rate} × (1 + {lif.error_baseline:g}) fires more than once per dt = {b.dt} "
            "(an error of 1 on the baseline); lower either, or dt",
        )


def parse_override(text: str) -> tuple[list[str | int], Any]:
    """``a.b.0.c=value`` → (['a', 'b', 0, 'c'], YAML-parsed value); a negative index counts from the end."""
    if "=" not in text:
        raise SpikefaError(f"--set {cut(text)}: must be KEY=VALUE, e.g. rule=backprop or optimizer.lr=0.1")
    key, value = text.split("=", 1)
    path: list[str | int] = [int(k) if k.removeprefix("-").isdigit() else k for k in key.strip().split(".")]
    if not key.strip() or any(k == "" for k in path):
        raise SpikefaError(f"--set {cut(text)}: the key must be a dotted field name, e.g. optimizer.lr")
    return path, yamlfile.parse_value(value, f"--set {key.strip()}")


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Set dotted fields of a raw circuit mapping. Setting a named block (``rule=NAME``,
    ``task=NAME``) to a plain name changes its ``name`` and keeps its other fields."""
    for text in overrides:
        path, value = parse_override(text)
        node: Any = raw
        for depth, key in enumerate(path[:-1]):
            where = ".".join(map(str, path[: depth + 1]))
            if isinstance(node, list) and isinstance(key, int) and -len(node) <= key < len(node):
                node = node[key]
            elif isinstance(node, list) and isinstance(key, int):
                raise SpikefaError(
                    f"--set {cut(text)}: {cut(where)}: index {key} is out of range (the list has {len(node)} items)"
                )
            elif isinstance(node, dict):
                if isinstance(node.get(key), str) and key in ("rule", "task"):
                    node[key] = {"name": node[key]}
                node = node.setdefault(key, {})
            else:
                raise SpikefaError(f"--set {cut(text)}: {cut(where)} is not a field that holds other fields")
        last = path[-1]
        if isinstance(node, list):
            if not isinstance(last, int) or not -len(node) <= last < len(node):
                raise SpikefaError(f"--set {cut(text)}: index {last} is out of range (the list has {len(node)} items)")
            node[last] = value
        elif not isinstance(node, dict):
            raise SpikefaError(f"--set {cut(text)}: the parent of {cut(str(last))} is not a mapping")
        elif isinstance(node.get(last), dict) and not isinstance(value, dict) and last in ("rule", "task"):
            node[last]["name"] = value
        else:
            node[last] = value
    return raw


def read_yaml(path: str | Path) -> dict:
    """Read a circuit file as raw YAML (:mod:`spikefa.yamlfile`), with one-line errors for a missing,
    oversized, non-UTF-8 or malformed file."""
    raw = yamlfile.read(path)
    if not isinstance(raw, dict):
        raise SpikefaError(f"{path}: must be a YAML mapping of circuit fields, got {show(raw)}")
    return raw


def circuit_path(name: str | Path) -> Path:
    """A circuit file path, or a bare name looked up as ``circuits/NAME.yaml`` (a subfolder's name too:
    ``hypotheses/alif_hidden``), in the working folder, else in spikefa's own circuits (``circuits/`` of a
    source checkout; ``spikefa/circuits`` in an installed wheel)."""
    path = Path(name)
    if path.is_file() or path.suffix:
        return path
    here = Path(__file__).resolve().parent
    for folder in (Path("circuits"), here / "circuits", here.parent / "circuits"):
        if (folder / f"{name}.yaml").is_file():
            return folder / f"{name}.yaml"
    return path  # not a circuit (a folder named so, say, as a run folder is): refused when read


def load_circuit(path: str | Path, overrides: list[str] = (), *, load_code: bool = True) -> Circuit:
    """Read, override (``--set``) and validate a circuit file, or a bundled circuit by name
    (:func:`circuit_path`; ``load_code``: :func:`circuit_from_dict`)."""
    path = circuit_path(path)
    raw = apply_overrides(read_yaml(path), list(overrides))
    raw.setdefault("name", Path(path).stem)
    return circuit_from_dict(raw, str(path), load_code=load_code)
