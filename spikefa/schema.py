"""The circuit file's fields, declared: their kinds, defaults, allowed values, ranges and meaning.

From these declarations come the JSON Schema that editors use to check and complete circuit files
(:func:`json_schema`, ``spikefa schema``; with the YAML language server, a first line
``# yaml-language-server: $schema=circuit.schema.json``), the schema of each mapping that validation
checks with the ``jsonschema`` library (:func:`entry_schema`, :mod:`spikefa.validation`), and the
documentation's circuit-file reference (:func:`reference_markdown`). ``tests/unit/test_schema.py`` tries
every declared choice, bound and default through validation, and every bundled circuit through the JSON
Schema. What a schema cannot say — one field's range depending on another, Brian2 code, layer counts —
is checked in :mod:`spikefa.spec` and, for Brian2 code, where the circuit is built.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ENGINES = ("reference", "brian2")
NEURONS = ("rate", "lif")
BRIAN_TARGETS = ("cython", "numpy", "cpp_standalone")
PLASTICITY = ("kernels", "code")
LEARNING = ("example", "online")
DTYPES = ("float64", "float32")
HIDDEN_ACTIVATIONS = ("tanh", "sigmoid", "relu", "linear")
OUTPUT_ACTIVATIONS = ("linear", "sigmoid", "tanh", "softmax")
LOSSES = ("mse", "cross_entropy", "binary_cross_entropy")
SCHEDULES = ("constant", "cosine")
INIT_DISTS = ("uniform", "normal", "lognormal", "xavier_normal")
SIGNS = ("free", "positive", "negative")
CARRIES = ("both", "positive", "negative")
RULES = (
    "shallow",
    "backprop",
    "feedback_alignment",
    "direct_feedback_alignment",
    "sign_symmetry",
    "weight_mirror",
    "kolen_pollack",
    "local_classifiers",
)
NORMALIZE = ("none", "center", "standardize")
MIRROR_NOISE = ("gaussian", "binary", "uniform")
MIRROR_RESPONSES = ("drive", "rate")
TASKS = ("digits", "mnist", "mnist1d", "linear_teacher", "nonlinear_teacher")
PHASES = ("noise_pretrain", "learn", "mirror")
MONITOR_WHEN = ("test", "learning", "mirror")
POPULATION_MODELS = ("lif", "alif")
LIF_INPUTS = ("regular", "poisson")
LIF_SURROGATES = ("lif", "relu")

TIME_UNITS = {"s": 1.0, "second": 1.0, "ms": 1e-3, "us": 1e-6}
RATE_UNITS = {"Hz": 1.0, "kHz": 1e3}
REQUIRED = object()  # a field with no default
MAX_TEXT = 2000  # characters in a text field (a description is a line or two)


def _quantity_pattern(units: dict) -> str:
    """A number, a space and one of ``units`` (what :func:`spikefa.spec.seconds` and ``hertz`` read)."""
    return r"^\s*[-+]?[0-9.]+([eE][-+]?[0-9]+)?\s+(" + "|".join(units) + r")\s*$"


TIME = _quantity_pattern(TIME_UNITS)
RATE = _quantity_pattern(RATE_UNITS)
IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"


@dataclass(frozen=True)
class Field:
    """One field: ``kind`` is integer, number, string, boolean, time (a string with a unit: ``"1 ms"``),
    rate (``"200 Hz"``), integers (a list), strings (a list), mapping (free keys), code (Brian2 code), or
    block (a mapping of the fields of ``block``); ``forms`` are other accepted forms (JSON Schema)."""

    key: str
    kind: str
    doc: str
    default: Any = REQUIRED
    choices: tuple = ()
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    optional: bool = False  # null is accepted (the default's meaning)
    shown_default: str = ""  # where the default depends on other fields, what it is, in words
    block: Block | None = None
    forms: tuple[dict, ...] = ()
    min_items: int = 0  # integers: the shortest list

    def default_text(self) -> str:
        if self.shown_default:
            return self.shown_default
        if self.default is REQUIRED:
            return "required"
        if self.default is None:
            return "none"
        if self.default == {}:
            return "its fields' defaults" if self.kind == "block" else "{}"
        if isinstance(self.default, bool):
            return str(self.default).lower()
        if isinstance(self.default, (tuple, list)):
            return "[" + ", ".join(map(str, self.default)) + "]"
        return f"{self.default}" if self.default != "" else '""'

    def allowed_text(self) -> str:
        if self.choices:
            return " | ".join(f"`{c}`" for c in self.choices)
        if self.kind in ("time", "rate"):
            return "≥ 0" if self.low == 0 else "> 0"
        bounds = [f"≥ {self.min_items} entries"] if self.min_items else []
        if self.low is not None:
            bounds.append(f"{'>' if self.low_open else '≥'} {self.low:g}")
        if self.high is not None:
            bounds.append(f"{'<' if self.high_open else '≤'} {self.high:g}")
        return ", ".join(bounds)


@dataclass(frozen=True)
class Block:
    """A mapping of fields (``path``: where it sits in a circuit file). ``numbered``: it also takes the same
    block under a layer's number (``feedback: {2: {...}}``); ``named``: its keys are names, each an entry
    of ``fields`` (``brian.extra``)."""

    path: str
    doc: str
    fields: tuple[Field, ...]
    numbered: str = ""
    named: bool = False
    moved: tuple[tuple[str, str], ...] = ()  # (a field that was here, where it went): refused with that note

    def __getitem__(self, key: str) -> Field:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(key)


def _time(key: str, doc: str, default: str, **kw) -> Field:
    return Field(key, "time", doc, default, **kw)


INIT = Block(
    "init",
    "How weights start: a name (`xavier`, `xavier_normal`; `zero` for biases) or a mapping. `xavier`: "
    "U(±gain·√(6 / (fan_in + fan_out))); `xavier_normal`: N(0, gain² · 2 / (fan_in + fan_out)) (Glorot & Bengio "
    "2010); `uniform`: U(±scale); `normal`: N(0, scale²); `lognormal`: magnitudes scale · exp(sigma · N(0, 1)) with "
    "random signs, unless the pathway's `sign` fixes them.",
    (
        Field("dist", "string", "the distribution", REQUIRED, ("xavier", *INIT_DISTS, "zero")),
        Field("scale", "number", "xavier: the gain (0: 1); the others: the scale (> 0)", 0.0, low=0),
        Field("sigma", "number", "lognormal: the spread of log-magnitudes", 1.0, low=0, low_open=True),
    ),
)
INIT_FORMS = ({"type": "string", "enum": ["xavier", "xavier_normal", "zero"]},)

CODE = Block(
    "plasticity",
    "A pathway's weight change as Brian2 synaptic code (`engine: brian2`; see *Plasticity as Brian2 code* and "
    "`spikefa.brian.declared` for the names it may read).",
    (
        Field("variables", "code", "the synapse's own state, as Brian2 model lines (back to 0 each example)", ""),
        Field("on_pre", "code", "statements on each event the synapse receives (`neurons: lif`)", ""),
        Field("on_post", "code", "statements on each spike of its target (`neurons: lif`)", ""),
        Field("each_example", "code", "statements once at the end of every example", ""),
        Field("constants", "mapping", "name → a number or a number and a Brian2 unit (`30 ms`)", {}),
    ),
)

PATHWAY_FIELDS = (
    Field(
        "connectivity",
        "number",
        "each synapse exists with probability p, drawn once from the seed",
        1.0,
        low=0,
        high=1,
        low_open=True,
    ),
    Field("sign", "string", "a sign no plasticity crosses (Dale's principle)", "free", SIGNS),
    Field("init", "block", "how the weights start (see `init`)", shown_default="xavier", block=INIT, forms=INIT_FORMS),
    _time("delay", "Brian2 circuits: the time an event takes to cross (a whole number of dt)", "0 ms", low=0),
    Field(
        "carries",
        "string",
        "spiking error pathways: the source's error events it carries (both signs, or one stream alone)",
        "both",
        CARRIES,
    ),
)
CODE_FIELD = Field("plasticity", "block", "the pathway's change as Brian2 code", shown_default="the rule's", block=CODE)

FEEDBACK = Block(
    "feedback",
    "The feedback pathways B_l: every one, or one by its hidden layer's number (`feedback: {sign: positive, "
    "2: {connectivity: 0.5}}`).",
    (
        *PATHWAY_FIELDS,
        Field(
            "source",
            "string",
            "a population whose error it carries instead of the layer above's (`layer3`, an extra population)",
            "",
        ),
        CODE_FIELD,
        Field("input", "boolean", "reference engine: a B_0 into the input layer too (Akrout et al.'s code)", False),
    ),
    numbered="hidden layer 1 … L − 1",
)
FORWARD = Block(
    "forward",
    "The forward pathways W_l (layer l → l + 1): every one, or one by its number 0 … L − 1.",
    (PATHWAY_FIELDS[0], PATHWAY_FIELDS[1], PATHWAY_FIELDS[3], CODE_FIELD),
    numbered="projection 0 … L − 1",
)

NETWORK = Block(
    "network",
    "The layers and what they compute.",
    (
        Field("sizes", "integers", "layer sizes, input first (any depth)", min_items=2),
        Field(
            "hidden",
            "string",
            "the hidden units' rate function, or your own as Brian2 expressions of v: `{rate: EXPR, slope: EXPR}`",
            "tanh",
            HIDDEN_ACTIVATIONS,
            forms=(
                {
                    "type": "object",
                    "properties": {"rate": {"type": "string"}, "slope": {"type": "string"}},
                    "required": ["rate", "slope"],
                    "additionalProperties": False,
                },
            ),
        ),
        Field("output", "string", "the output units", "softmax", OUTPUT_ACTIVATIONS),
        Field(
            "loss",
            "string",
            "the loss",
            "cross_entropy",
            LOSSES,
            shown_default="cross_entropy with softmax, else mse",
        ),
        Field("init", "block", "how W starts", shown_default="xavier", block=INIT, forms=INIT_FORMS),
        Field("bias_init", "block", "how the biases start", shown_default="zero", block=INIT, forms=INIT_FORMS),
    ),
)

TASK = Block(
    "task",
    "The data: a name, or a mapping with the name and its options.",
    (
        Field("name", "string", "the task", REQUIRED, TASKS),
        Field("data_dir", "string", "mnist: the folder of the four IDX files", None, optional=True),
        Field("n_train", "integer", "training examples (none: the whole set)", None, low=1, optional=True),
        Field("n_test", "integer", "test examples (none: the whole set)", None, low=1, optional=True),
        Field("normalize", "string", "inputs minus the training mean (center), and ÷ its std", "none", NORMALIZE),
        Field(
            "validation",
            "number",
            "a fraction of the training set held out and evaluated in place of the test set",
            0.0,
            low=0.0,
            high=0.9,
        ),
        Field("data_seed", "integer", "mnist1d: the generator's seed (42: the published set)", 42, low=0),
        Field(
            "teacher_sizes",
            "integers",
            "teachers: the teacher network's layer sizes",
            shown_default="30-10 (linear), 30-20-10-10",
            min_items=2,
        ),
    ),
)

MIRROR = Block(
    "rule.mirror",
    "Weight-mirror plasticity of B (Akrout et al. 2019, eq. 7): ΔB = η_B x yᵀ − λ_B B.",
    (
        Field("noise_std", "number", "σ of the noise the mirroring layer fires", 1.0, low=0, low_open=True),
        Field("noise", "string", "the noise: N(0, σ²), ±σ, or U(±√3 σ)", "gaussian", MIRROR_NOISE),
        Field("lr", "number", "η_B", 0.05, low=0, low_open=True),
        Field("decay", "number", "λ_B, per mirror step", 0.05, low=0, high=1, high_open=True),
        Field("batch_size", "integer", "noise samples per mirror step", 128, low=1),
        Field("steps_per_batch", "integer", "mirror steps after every learning batch", 1, low=0),
        Field(
            "response",
            "string",
            "what the layer above answers with: its drive W x, or its rate f(W x + b)",
            "drive",
            MIRROR_RESPONSES,
        ),
    ),
)
RULE = Block(
    "rule",
    "The learning rule: a built-in name, or your own `module:Class` or `file.py:Class`, as a string or a mapping.",
    (
        Field("name", "string", "a built-in rule (" + ", ".join(RULES) + "), or module:Class / file.py:Class"),
        Field("params", "mapping", "the parameters a user's rule declares", {}),
        Field("mirror", "block", "weight_mirror: its mirror plasticity", default={}, block=MIRROR),
    ),
    moved=(("feedback_init", "moved to the feedback block: write feedback: {init: ...}"),),
)

OPTIMIZER = Block(
    "optimizer",
    "SGD: v ← μ v + g;  W ← (1 − λ_t) W − η_t v (λ: weight decay per step, as in Akrout eq. 16).",
    (
        Field(
            "lr",
            "number",
            "η, per example for Brian2 circuits, per batch for the reference engine",
            0.05,
            low=0,
            low_open=True,
        ),
        Field("momentum", "number", "μ", 0.0, low=0, high=1, high_open=True),
        Field(
            "weight_decay",
            "number",
            "λ per step (Kolen–Pollack applies it to B too)",
            0.0,
            low=0,
            high=1,
            high_open=True,
        ),
        Field("batch_size", "integer", "examples per step (Brian2: per block)", 32, low=1),
        Field("schedule", "string", "the learning rate over all learn phases", "constant", SCHEDULES),
        Field("bias_lr", "number", "the biases' learning rate (none: lr)", None, low=0, optional=True),
        Field("shuffle", "boolean", "a fresh random order every epoch", True),
        Field("drop_last", "boolean", "an epoch ends with its last full batch", False),
    ),
)

LEARN = Block("learn", "Learning from the training set.", (Field("epochs", "integer", "epochs", 1, low=0),))
MIRROR_PHASE = Block(
    "mirror", "weight_mirror: B learns from noise, W is still.", (Field("steps", "integer", "mirror steps", low=1),)
)
NOISE_PRETRAIN = Block(
    "noise_pretrain",
    "Noise inputs with random labels, before data (Cheon et al. 2024).",
    (
        Field("epochs", "integer", "epochs over the noise set", 1, low=0),
        Field("samples_per_epoch", "integer", "the noise set's size (drawn once per phase)", low=1),
        Field("noise_std", "number", "the inputs' N(0, std²)", 1.0, low=0, low_open=True),
    ),
)
PHASE_BLOCKS = {"learn": LEARN, "mirror": MIRROR_PHASE, "noise_pretrain": NOISE_PRETRAIN}  # by PHASES' names

RECORD = Block(
    "record",
    "When metrics and checkpoints are written.",
    (
        Field("every", "integer", "batches between metric rows (0: one row per epoch)", 0, low=0),
        Field("checkpoint_every", "integer", "epochs between checkpoints", 1, low=1),
        Field("mirror_test", "boolean", "mirror-phase rows measure the test set too", False),
    ),
)

MONITOR = Block(
    "brian.monitor",
    "What `monitors.npz` (and `monitors.nwb`) records, every time step, of the chosen populations.",
    (
        Field("layers", "list", "layer numbers (0: the input) or population names", ()),
        Field("variables", "strings", "state variables (`v`, `r`, `err`, …), `spikes`, `rate`", ("r",)),
        Field("examples", "integer", "test: the first test examples, after training", 10, low=1),
        Field("when", "strings", "test, learning, mirror", ("test",), MONITOR_WHEN),
        Field("every", "integer", "learning/mirror: a window every this many examples (samples)", 1000, low=1),
        Field("window", "integer", "examples (samples) per window", 1, low=1),
    ),
)

LIF = Block(
    "brian.lif",
    "Leaky integrate-and-fire populations (`neurons: lif`); times and rates with units.",
    (
        _time("tau_m", "membrane time constant", "10 ms"),
        _time("tau_syn", "synaptic drive time constant", "5 ms"),
        _time("tau_trace", "rate and drive traces, read by plasticity and the output error", "20 ms"),
        _time("tau_err", "error (apical) compartment", "5 ms"),
        _time("refractory", "refractory period", "2 ms"),
        Field("v_threshold", "number", "spike threshold", 0.5, low=0.0, low_open=True),
        Field("max_rate", "rate", "an input of 1 fires at this rate; the unit of h", "200 Hz"),
        Field("input", "string", "how a pixel fires", "regular", LIF_INPUTS),
        Field(
            "surrogate",
            "string",
            "the slope a hidden neuron's error is multiplied by",
            "lif",
            LIF_SURROGATES,
        ),
        Field("v_floor", "number", "the membrane stops there (none: no floor)", -0.5, high=0.0, optional=True),
        Field("error_rate", "rate", "an error of ±1 fires the ± error events at this rate", "500 Hz"),
        Field(
            "error_baseline",
            "number",
            "the error units' spontaneous activity: a layer's ± events fire at error_rate · [±(baseline + δ)]₊",
            0.0,
            low=0,
        ),
        Field("noise_rate", "rate", "mirror phase: Poisson firing of the noise-driven layers", "50 Hz"),
        Field("mirror_drive", "number", "mirror phase: the drive a responding layer is held at", 0.5),
        _time("mirror_trace", "mirror phase: the spike traces the feedback synapses learn from", "10 ms"),
        _time("mirror_mean", "mirror phase: the time constant of a noise neuron's running mean of its trace", "100 ms"),
        _time(
            "mirror_tau_m",
            "mirror phase: the membrane time constant of a layer answering noise (none: tau_m)",
            None,
            optional=True,
        ),
        _time("mirror_window", "mirror phase: one noise sample (none: one time step)", None, optional=True),
        Field("target_rate", "rate", "online learning: the rate asked of the label's neuron", "200 Hz"),
    ),
)

POPULATION = Block(
    "brian.populations",
    "A spiking layer's neuron model, by name or as Brian2 code, for `hidden`, `output` or a layer's number.",
    (
        Field(
            "model",
            "string",
            "lif, alif, or custom (equations given)",
            "lif",
            (*POPULATION_MODELS, "custom"),
            shown_default="lif; custom if equations are given",
        ),
        Field("equations", "code", "the membrane: Brian2 equations defining v, driven by u", ""),
        Field("threshold", "code", "custom: the spike condition", "", shown_default="v > v_threshold"),
        Field("reset", "code", "custom: the reset statements", "", shown_default="v = 0"),
        _time("refractory", "the refractory period", "", shown_default="brian.lif.refractory", low=0),
        Field("method", "string", "Brian2's integration method", "exact"),
        Field("params", "mapping", "name → a number or a quantity (`100 ms`), available to the code", {}),
    ),
    numbered="hidden, output, or layer 1 … L",
)
EXTRA = Block(
    "brian.extra",
    "Populations that are not layers, by name (interneuron pools, relays): a neuron model as in "
    "`brian.populations`, a size, and the error it sends on.",
    (
        Field("size", "integer", "neurons", low=1),
        *POPULATION.fields,
        Field("error", "code", "what its ± error events send on, a Brian2 expression of its variables", "err"),
    ),
    named=True,
)
LINK = Block(
    "brian.pathways",
    "Pathways between any two populations, by name: spikes into the target's drive, or ± error events into "
    "its error compartment.",
    (
        Field("from", "string", "the source population (`layer2`, an extra population)"),
        Field("to", "string", "the target population"),
        Field("into", "string", "what it adds to", REQUIRED, ("drive", "error")),
        *(f for f in PATHWAY_FIELDS),
        CODE_FIELD,
        Field(
            "autapses", "boolean", "a pathway from a population to itself: whether a neuron synapses onto itself", False
        ),
    ),
    named=True,
)

BRIAN = Block(
    "brian",
    "The Brian2 engine's settings (`engine: brian2`); times are strings with units.",
    (
        Field("neurons", "string", "rate or spiking (LIF) populations", "rate", NEURONS),
        _time("tau", "rate neurons' time constant", "1 ms"),
        _time("dt", "the time step", "1 ms", shown_default="1 ms (rate), 0.5 ms (lif)"),
        _time(
            "forward_time",
            "per example: the input's time before the output error is set",
            "",
            shown_default="L steps (rate), 40 ms (lif)",
        ),
        _time(
            "error_time",
            "per example: the time errors flow back before W and B change",
            "",
            shown_default="L − 1 steps (rate), 20 ms (lif)",
        ),
        Field("target", "string", "Brian2's code generation target", "cython", BRIAN_TARGETS),
        Field(
            "plasticity",
            "string",
            "kernels (Python between steps) or code (Brian2 code, compiled too)",
            "kernels",
            PLASTICITY,
            shown_default="code with cpp_standalone, online or declared code",
        ),
        Field(
            "learning",
            "string",
            "spiking circuits: once per example, or online on spike events",
            "example",
            LEARNING,
        ),
        Field("monitor", "block", "recordings", default={}, block=MONITOR),
        Field("lif", "block", "LIF settings", default={}, block=LIF),
        Field("populations", "block", "spiking layers' neuron models", shown_default="every one lif", block=POPULATION),
        Field("extra", "block", "populations that are not layers", shown_default="none", block=EXTRA),
        Field("pathways", "block", "pathways between any populations", shown_default="none", block=LINK),
    ),
)

CIRCUIT = Block(
    "",
    "A circuit file: network + task + rule + phases + seed.",
    (
        Field("name", "string", "the run's name", "", shown_default="the file's name"),
        Field("description", "string", "a line or two", ""),
        Field("seed", "integer", "one SeedSequence: data, initial weights, training stream", 0, low=0),
        Field("engine", "string", "the batched NumPy/BLAS engine, or Brian2 circuits", "reference", ENGINES),
        Field("dtype", "string", "reference engine: the arithmetic", "float64", DTYPES),
        Field("network", "block", "the layers", block=NETWORK),
        Field("task", "block", "the data", block=TASK, forms=({"type": "string", "enum": list(TASKS)},)),
        Field("rule", "block", "the learning rule", block=RULE, forms=({"type": "string"},)),
        Field("optimizer", "block", "SGD's settings", default={}, block=OPTIMIZER),
        Field(
            "phases",
            "list",
            "run in order: a list of `learn`, `mirror`, `noise_pretrain` entries",
            shown_default="[learn: {epochs: 1}]",
        ),
        Field("record", "block", "metrics and checkpoints", default={}, block=RECORD),
        Field("feedback", "block", "the feedback pathways", default={}, block=FEEDBACK),
        Field("forward", "block", "the forward pathways", default={}, block=FORWARD),
        Field("brian", "block", "Brian2 circuits", default={}, block=BRIAN),
        Field("sweep", "mapping", "for `spikefa sweep`: `{grid: {FIELD: [values]}, seeds: N}`", default={}),
    ),
)


def blocks() -> list[Block]:
    """Every block, in the reference's order."""
    return [
        CIRCUIT,
        NETWORK,
        INIT,
        TASK,
        RULE,
        MIRROR,
        OPTIMIZER,
        LEARN,
        MIRROR_PHASE,
        NOISE_PRETRAIN,
        RECORD,
        FEEDBACK,
        FORWARD,
        CODE,
        BRIAN,
        LIF,
        MONITOR,
        POPULATION,
        EXTRA,
        LINK,
    ]


def _value_schema(f: Field, shallow: bool = False) -> dict:
    """A field's JSON Schema (``shallow``: a block's fields left to that block's own check)."""
    kind = {
        "integer": {"type": "integer"},
        "number": {"type": "number"},
        "string": {"type": "string"},
        "code": {"type": "string"},
        "boolean": {"type": "boolean"},
        "time": {"type": "string", "pattern": TIME},
        "rate": {"type": "string", "pattern": RATE},
        "integers": {"type": "array", "items": {"type": "integer", "minimum": 1}},
        "strings": {"type": "array", "items": {"type": "string"}},
        "list": {"type": "array"},
        "mapping": {"type": "object"},
    }
    if f.kind == "block" and shallow:
        return {"description": f.doc}
    s = _object(f.block) if f.kind == "block" else dict(kind[f.kind])
    if f.kind in ("string", "code", "time", "rate") and not f.choices:
        s["maxLength"] = MAX_TEXT
    if f.min_items:
        s["minItems"] = f.min_items
    if f.choices and f.kind == "strings":
        s["items"] = {"enum": list(f.choices)}
    elif f.choices:
        s["enum"] = list(f.choices)
    for bound, key, open_ in ((f.low, "minimum", f.low_open), (f.high, "maximum", f.high_open)):
        if bound is not None and f.kind not in ("time", "rate"):  # a quantity's sign: spikefa.spec.seconds
            s["exclusive" + key.title() if open_ else key] = bound
    forms = [s, *f.forms] + ([{"type": "null"}] if f.optional else [])
    out = forms[0] if len(forms) == 1 else {"anyOf": forms}
    return {"description": f.doc, **out}


def entry_schema(b: Block) -> dict:
    """The JSON Schema of one mapping of ``b``'s fields alone: its blocks (and numbered entries) are
    left to their own check, made as :mod:`spikefa.spec` reads them (:mod:`spikefa.validation`)."""
    one = _one(b, shallow=True)
    if b.numbered and b is not POPULATION:  # a population's entries sit in a mapping of their own
        one["patternProperties"] = {"^[0-9]+$": {}}
    return one


def _one(b: Block, shallow: bool = False) -> dict:
    props = {f.key: _value_schema(f, shallow) for f in b.fields}
    required = [f.key for f in b.fields if f.default is REQUIRED and not f.shown_default and f.kind != "block"]
    one = {"type": "object", "properties": props}
    one.update({"required": required} if required else {})
    return one | {"additionalProperties": False}


def _object(b: Block) -> dict:
    one = _one(b) | {"description": b.doc}
    if b.named:
        return {
            "type": "object",
            "description": b.doc,
            "patternProperties": {IDENTIFIER: {**one, "description": ""}},
            "additionalProperties": False,
        }
    if b.numbered:
        entry = {k: v for k, v in one.items() if k != "description"}
        if b is POPULATION:
            one["properties"] = {"hidden": entry, "output": entry}
        one["patternProperties"] = {"^[0-9]+$": entry}
    return one


def json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a circuit file."""
    top = _object(CIRCUIT)
    phase = {
        "type": "object",
        "minProperties": 1,
        "maxProperties": 1,
        "properties": {name: {**_object(b), "description": b.doc} for name, b in PHASE_BLOCKS.items()},
        "additionalProperties": False,
    }
    top["properties"]["phases"] = {"type": "array", "items": phase, "description": CIRCUIT["phases"].doc}
    top["required"] = ["network", "task", "rule"]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "spikefa circuit file", **top}


def json_text() -> str:
    return json.dumps(json_schema(), indent=1, ensure_ascii=False) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def reference_markdown() -> str:
    """The circuit-file reference page (MyST Markdown), generated from the declarations above."""
    lines = [
        "# Circuit-file reference",
        "",
        "Every field of a circuit file, generated from `spikefa.schema` (the declarations validation reads). "
        'Times and rates are strings with a unit (`"1 ms"`, `"200 Hz"`). What depends on other fields '
        "(a loss with its output, a delay in whole steps, Brian2 code's names and units) is checked when the "
        "circuit is read or built, in one line naming the field. `spikefa schema > circuit.schema.json` writes the "
        "JSON Schema for editors (the YAML language server: `# yaml-language-server: $schema=circuit.schema.json` "
        "as a file's first line).",
        "",
    ]
    for b in blocks():
        lines += [f"## `{b.path}`" if b.path else "## Top level", "", b.doc, ""]
        if b.numbered:
            lines += [f"Also per {b.numbered}, by number.", ""]
        if b.named:
            lines += ["Keyed by name (an identifier); each entry takes these fields.", ""]
        lines += ["| field | kind | default | allowed | meaning |", "|---|---|---|---|---|"]
        for f in b.fields:
            kind = f"block: `{f.block.path}`" if f.block else f.kind
            lines.append(
                f"| `{f.key}` | {kind} | {_cell(f.default_text())} | {_cell(f.allowed_text())} | {_cell(f.doc)} |"
            )
        lines.append("")
    lines += [
        "## `phases`",
        "",
        "A list; each entry is one of `learn: {...}`, `mirror: {...}`, `noise_pretrain: {...}`, with the fields of the "
        "blocks of those names above.",
        "",
    ]
    return "\n".join(lines)
