"""The declared circuit schema (spikefa.schema) against validation (spikefa.spec): the JSON Schema accepts every
bundled circuit and its resolved config, and every declared choice, bound and default is what validation does."""

import copy
import json

import jsonschema
import pytest
import yaml

from spikefa import schema, spec
from spikefa.errors import SpikefaError
from tests.conftest import ROOT, tiny_circuit

VALIDATOR = jsonschema.Draft202012Validator(schema.json_schema())
CIRCUITS = sorted((ROOT / "circuits").rglob("*.yaml"))
LIF = {"engine": "brian2", "network": {"sizes": [5, 4, 3], "hidden": "relu"}, "brian": {"neurons": "lif"}}
# where each block sits in a circuit mapping, and a circuit in which all its fields apply
PLACES = {
    "": ((), {}),
    "network": (("network",), {}),
    "task": (("task",), {}),
    "rule.mirror": (("rule", "mirror"), {"rule": {"name": "weight_mirror"}}),
    "optimizer": (("optimizer",), {}),
    "record": (("record",), {}),
    "feedback": (("feedback",), {}),
    "brian": (("brian",), {"engine": "brian2"}),
    "brian.lif": (("brian", "lif"), LIF),
    "brian.monitor": (("brian", "monitor"), LIF),
}
AMONG = {  # fields that apply only among others: the circuit they are tried in
    "task.data_dir": {"task": {"name": "mnist"}},
    "task.data_seed": {"task": {"name": "mnist1d"}},
    "feedback.carries": LIF,
}
ABSENT = object()
CONTEXT = {  # choices that need other fields to fit (validation's cross-field rules, tested in test_spec.py)
    "dtype": ["float32"],
    "neurons": ["lif"],
    "target": ["cpp_standalone"],
    "learning": ["online"],
    "loss": ["binary_cross_entropy", "mse"],
    "name": ["mnist", "mnist1d", "linear_teacher", "nonlinear_teacher"],
    "when": ["mirror"],
}


def as_json(raw):
    return json.loads(json.dumps(raw))


def circuit_with(block: str, key: str, value=ABSENT):
    """The tiny circuit in which ``block``'s field ``key`` applies, with ``key: value`` in that block (ABSENT:
    without the field)."""
    path, base = PLACES[block]
    raw = tiny_circuit(**copy.deepcopy(AMONG.get(f"{block}.{key}", base)))
    target = raw
    for part in path:
        if not isinstance(target.get(part), dict):
            target[part] = {} if part != "task" else {"name": target[part]}
        target = target[part]
    if value is ABSENT:
        target.pop(key, None)
    else:
        target[key] = value
    return raw


def fields() -> list:
    return [
        pytest.param(block.path, f, id=f"{block.path or 'top'}.{f.key}")
        for block in schema.blocks()
        if block.path in PLACES
        for f in block.fields
    ]


@pytest.mark.parametrize("path", CIRCUITS, ids=lambda p: str(p.relative_to(ROOT / "circuits")))
def test_json_schema_accepts_every_bundled_circuit_and_its_resolved_config(path):
    raw = yaml.safe_load(path.read_text())
    assert not list(VALIDATOR.iter_errors(as_json(raw)))
    assert not list(VALIDATOR.iter_errors(as_json(spec.load_circuit(path).to_dict())))


@pytest.mark.parametrize(
    "change",
    [
        {"optimiser": {"lr": 0.1}},  # an unknown field
        {"optimizer": {"lr": "fast"}},
        {"engine": "nest"},
        {"brian": {"lif": {"tau_m": "10"}}},  # a time without its unit
        {"brian": {"lif": {"tau_m": "10ms"}}},  # nor without the space between them
        {"feedback": {"sign": "excitatory"}},
        {"phases": [{"learn": {"epochs": 2}, "mirror": {"steps": 3}}]},  # one phase per entry
    ],
)
def test_json_schema_refuses_what_validation_refuses(change):
    raw = tiny_circuit(**change)
    assert list(VALIDATOR.iter_errors(as_json(raw)))
    with pytest.raises(SpikefaError):
        spec.circuit_from_dict(raw)


@pytest.mark.parametrize("block, f", fields())
def test_declared_choices_bounds_and_defaults_are_validations(block, f):
    name = f"{block}.{f.key}" if block else f.key
    for choice in f.choices:
        if choice not in CONTEXT.get(f.key, ()) and f.kind != "strings":
            spec.circuit_from_dict(circuit_with(block, f.key, choice))
    if f.choices and f.kind != "strings":
        with pytest.raises(SpikefaError, match=rf"{name}: unknown value 'nope'; allowed: {', '.join(f.choices)}"):
            spec.circuit_from_dict(circuit_with(block, f.key, "nope"))
    step = 1 if f.kind == "integer" else 1e-9
    for bound, outside, closed in ((f.low, -step, not f.low_open), (f.high, step, not f.high_open)):
        if bound is None:
            continue
        with pytest.raises(SpikefaError, match=name):
            spec.circuit_from_dict(circuit_with(block, f.key, bound + outside if closed else bound))
    if f.kind in ("integer", "number", "string", "boolean", "time", "rate") and not f.shown_default:
        if f.default is not schema.REQUIRED:
            given = spec.circuit_from_dict(circuit_with(block, f.key, f.default)).to_dict()
            assert given == spec.circuit_from_dict(circuit_with(block, f.key)).to_dict(), f"{name}: not the default"


def test_reference_page_lists_every_declared_field():
    page = schema.reference_markdown()
    for block in schema.blocks():
        for f in block.fields:
            assert f"| `{f.key}` |" in page
    assert page.count("\n## ") == len(schema.blocks()) + 1


def test_spikefa_schema_writes_the_json_schema(spikefa_cli):
    done = spikefa_cli("schema")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == schema.json_schema()
    assert (ROOT / "circuits" / "circuit.schema.json").read_text() == schema.json_text()  # kept current


@pytest.mark.parametrize(
    "block, cls",
    [
        (schema.MIRROR, spec.Mirror),
        (schema.OPTIMIZER, spec.Optimizer),
        (schema.RECORD, spec.Record),
        (schema.MONITOR, spec.Monitor),
        (schema.LIF, spec.Lif),
        (schema.TASK, spec.Task),
        (schema.INIT, spec.Init),
        (schema.CODE, spec.SynapseCode),
    ],
    ids=lambda x: getattr(x, "path", ""),
)
def test_the_dataclasses_defaults_are_the_declared_ones(block, cls):
    """A Circuit built in Python (spikefa.spec's dataclasses) starts where a circuit file's defaults do."""
    for f in block.fields:
        if hasattr(cls, f.key) and f.default is not schema.REQUIRED and not f.shown_default:
            actual = getattr(cls, f.key)
            if f.default == {}:  # an empty mapping, kept as a mapping or as no pairs (SynapseCode.constants)
                assert actual in ({}, ()), f.key
            else:
                assert actual == (tuple(f.default) if isinstance(f.default, list) else f.default), f.key


def test_an_unknown_phase_lists_the_phases_in_their_order():
    """The phase names are one tuple (schema.PHASES), not the blocks that declare their fields."""
    with pytest.raises(SpikefaError, match=r"unknown phase 'nap'; allowed: noise_pretrain, learn, mirror$"):
        spec.circuit_from_dict(tiny_circuit(phases=[{"nap": {}}]))
