"""spikefa.validation: each mapping of a circuit file is checked by the jsonschema library against the schema
made from spikefa.schema's declarations, and its first error is one line naming the field."""

import pytest

from spikefa import schema, spec, validation
from spikefa.errors import SpikefaError
from tests.conftest import tiny_circuit

LIF = {"engine": "brian2", "network": {"sizes": [5, 4, 3], "hidden": "relu"}, "brian": {"neurons": "lif"}}


def refused(raw: dict) -> str:
    with pytest.raises(SpikefaError) as err:
        spec.circuit_from_dict(raw, "x.yaml")
    text = str(err.value)
    assert text.startswith("x.yaml: ") and "\n" not in text and len(text) <= 300, text
    return text.removeprefix("x.yaml: ")


@pytest.mark.parametrize(
    "change, message",
    [
        ({"task": {"name": "digits", "n_train": "many"}}, "task.n_train: must be an integer, got 'many'"),
        ({"task": {"name": "digits", "n_train": None}}, None),  # optional: null is its default
        ({"task": {"name": "digits", "n_train": 2.0}}, None),  # a whole number is an integer
        ({"optimizer": {"shuffle": "yes"}}, "optimizer.shuffle: must be true or false, got 'yes'"),
        ({"optimizer": {"lr": True}}, "optimizer.lr: must be a number, got True"),
        ({"optimizer": "fast"}, "optimizer: must be a mapping, got 'fast'"),
        ({"network": {"sizes": [5, 0, 3]}}, "network.sizes: must be a list of at least 2 positive integers, got [5, 0"),
        ({"network": {"sizes": 5}}, "network.sizes: must be a list of at least 2 positive integers, got 5"),
        ({"network": {"sizes": [5, 4, 3], "hidden": {"rate": "v"}}}, "network.hidden.slope: missing"),
        ({"network": {"sizes": [5, 4, 3], "hidden": {"rate": 1, "slope": "0"}}}, "network.hidden.rate: must be a str"),
        ({"network": {"sizes": [5, 4, 3], "hidden": "swish"}}, "network.hidden: unknown value 'swish'; allowed: tanh"),
        ({"phases": [{"mirror": {}}], "rule": "weight_mirror"}, "phases[0].mirror.steps: missing"),
        ({"phases": [{"learn": {"epochs": 1, "lr": 2}}]}, "phases[0].learn.lr: unknown field; allowed: epochs"),
        ({"feedback": {"2": {"sign": "up"}}, "network": {"sizes": [5, 4, 4, 3]}}, "feedback.2.sign: unknown value"),
        ({"feedback": {"delay": "-1 ms"}, **LIF}, "feedback.delay: must be a non-negative time with a unit"),
        ({"feedback": {"delay": 3}, **LIF}, "feedback.delay: must be a non-negative time with a unit (s, second, ms"),
        ({"brian": {"neurons": "lif", "lif": {"tau_m": "0 ms"}}}, "brian.lif.tau_m: must be a positive time"),
        ({"brian": {"neurons": "lif", "lif": {"max_rate": "1e999 Hz"}}}, "brian.lif.max_rate: must be a positive rate"),
        ({"brian": {"neurons": "lif", "monitor": {"when": ["sleep"]}}}, "brian.monitor.when: unknown value 'sleep'"),
        ({"brian": {"neurons": "lif", "extra": {"pool": {"size": 0}}}}, "brian.extra.pool.size: must be >= 1, got 0"),
        ({"brian": {"neurons": "lif", "extra": {"pool": {}}}}, "brian.extra.pool.size: missing"),
        ({"forward": {"plasticity": {"on_pre": "w += 1" * 1000}}, **LIF}, "must be at most 2000 characters, got 6000"),
    ],
)
def test_the_librarys_first_error_is_one_line_naming_the_field(change, message):
    raw = tiny_circuit()
    base = LIF if "brian" in change or change.get("engine") else {}
    for key, value in {**base, **change}.items():
        raw[key] = {**raw[key], **value} if key == "network" else value
    if message is None:
        spec.circuit_from_dict(raw)
    else:
        assert message in refused(raw)


def test_an_unknown_field_names_what_the_block_declares_and_the_likely_one():
    text = refused(tiny_circuit(optimizer={"momentun": 0.9}))
    allowed = ", ".join(f.key for f in schema.OPTIMIZER.fields)
    assert text == f"optimizer.momentun: unknown field; allowed: {allowed} (did you mean momentum?)"
    lif = {**LIF, "network": {**tiny_circuit()["network"], **LIF["network"]}}
    text = refused({**tiny_circuit(), **lif, "brian": {"neurons": "lif", "lif": {"tau_mem": "5 ms"}}})
    n = len(schema.LIF.fields)
    assert text.endswith(f"allowed: the {n} fields of brian.lif in the circuit-file reference (did you mean tau_m?)")


def test_a_mapping_is_checked_alone_and_its_blocks_when_they_are_read():
    """A bad field inside a block is reported at that block, whatever the order of the blocks in the file."""
    with pytest.raises(SpikefaError, match=r"^f: optimizer.lr: must be > 0, got -1.0$"):
        validation.check(schema.OPTIMIZER, {"lr": -1}, "optimizer", "f")
    validation.check(schema.CIRCUIT, {"network": {"sizes": "anything"}, "task": 3, "rule": []}, "", "f")
