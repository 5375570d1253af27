import pytest
import yaml

from spikefa import SpikefaError, circuit_from_dict, load_circuit
from spikefa.spec import apply_overrides
from tests.conftest import ROOT, tiny_circuit


def test_every_circuit_file_is_valid():
    files = sorted((ROOT / "circuits").rglob("*.yaml"))
    assert len(files) >= 8
    for f in files:
        c = load_circuit(f)
        assert c.name == f.stem


def test_resolved_config_round_trips():
    c = load_circuit(ROOT / "circuits" / "digits_fa.yaml")
    again = circuit_from_dict(yaml.safe_load(yaml.safe_dump(c.to_dict())))
    assert again == c


def test_feedback_block_sets_every_pathway_and_a_layer_number_what_differs(tmp_path):
    raw = tiny_circuit("kolen_pollack", (5, 4, 4, 4, 3))
    raw["feedback"] = {"sign": "positive", "init": {"dist": "lognormal", "scale": 0.2}, 2: {"connectivity": 0.25}}
    c = circuit_from_dict(raw)
    assert [p.sign for p in c.feedback] == ["positive"] * 3
    assert [p.connectivity for p in c.feedback] == [1.0, 0.25, 1.0]
    assert c.pathway(3).init.dist == "lognormal" and c.pathway(3).init.sigma == 1.0
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(c.to_dict()))
    assert load_circuit(tmp_path / "c.yaml") == c  # per-layer pathways round-trip through the run folder's file
    assert "feedback" in load_circuit(ROOT / "circuits" / "digits_fa.yaml").to_dict()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"rule": {"name": "hebbian"}}, "rule.name: unknown value 'hebbian'; allowed: shallow, backprop"),
        ({"network": {"sizes": [5, "x", 3]}}, "network.sizes: must be a list of at least 2 positive integers"),
        ({"network": {"sizes": [5]}}, "network.sizes: must be a list of at least 2"),
        ({"optimizer": {"lr": -0.1}}, "optimizer.lr: must be > 0, got -0.1"),
        ({"optimizer": {"momentum": 1.0}}, "optimizer.momentum: must be < 1"),
        ({"optimizer": {"lrate": 0.1}}, "optimizer.lrate: unknown field"),
        ({"network": {"hidden": "softmax"}}, "network.hidden: unknown value 'softmax'; allowed: tanh, sigmoid"),
        ({"network": {"output": "linear", "loss": "cross_entropy"}}, "network.loss: cross_entropy goes with"),
        ({"phases": [{"mirror": {"steps": 10}}]}, "a mirror phase needs a rule with mirror phases (weight_mirror)"),
        ({"phases": [{"sleep": {}}]}, "phases[0]: unknown phase 'sleep'"),
        ({"phases": [{"learn": {"epochs": -1}}]}, "phases[0].learn.epochs: must be >= 0"),
        ({"seed": "one"}, "seed: must be an integer"),
        ({"engine": "nest"}, "engine: unknown value 'nest'"),
        ({"rule": {"name": "backprop", "mirror": {"lr": 1}}}, "rule.mirror: unknown field; allowed: name, params"),
        (
            {"task": {"name": "linear_teacher"}, "phases": [{"noise_pretrain": {"samples_per_epoch": 10}}]},
            "noise_pretrain needs a classification task",
        ),
        ({"brian": {"dt": "1 ms"}}, "brian: only for engine: brian2"),
        ({"engine": "brian2", "brian": {"neurons": "izhikevich"}}, "brian.neurons: unknown value 'izhikevich'"),
        ({"engine": "brian2", "brian": {"tau": "1 ms", "dt": "2 ms"}}, "brian.dt: must be at most tau"),
        ({"engine": "brian2", "brian": {"dt": "1 parsec"}}, "brian.dt: must be a positive time with a unit"),
        ({"engine": "brian2", "brian": {"error_time": "0 ms"}}, "brian.error_time: must be a positive time"),
        ({"engine": "brian2", "dtype": "float32"}, "dtype: float32 is for engine: reference"),
        ({"engine": "brian2", "brian": {"lif": {}}}, "brian.lif: only for neurons: lif"),
        ({"engine": "brian2", "brian": {"neurons": "lif"}}, "lif needs network.hidden: relu"),
        (
            {
                "engine": "brian2",
                "brian": {"neurons": "lif", "lif": {"noise_rate": "fast"}},
                "network": {"hidden": "relu"},
            },
            "brian.lif.noise_rate: must be a positive rate with a unit (Hz, kHz)",
        ),
    ],
)
def test_bad_fields_name_the_field_and_what_is_allowed(change, message):
    raw = tiny_circuit()
    raw.update(change)
    if "network" in change:
        raw["network"] = {**tiny_circuit()["network"], **change["network"]}
    with pytest.raises(SpikefaError) as err:
        circuit_from_dict(raw, "x.yaml")
    text = str(err.value)
    assert text.startswith("x.yaml: ") and message in text and "\n" not in text


def test_malformed_yaml_names_file_and_line(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("network:\n  sizes: [1, 2\nrule: x\n")
    with pytest.raises(SpikefaError, match=r"bad.yaml: malformed YAML \(line \d+, column \d+\)"):
        load_circuit(f)
    with pytest.raises(SpikefaError, match="no such circuit file"):
        load_circuit(tmp_path / "missing.yaml")


def test_overrides_set_nested_fields_and_rule_names():
    raw = tiny_circuit(rule={"name": "weight_mirror", "mirror": {"lr": 0.2}})
    apply_overrides(raw, ["rule=kolen_pollack", "optimizer.lr=0.5", "network.sizes=[5, 6, 3]"])
    assert raw["rule"] == {"name": "kolen_pollack", "mirror": {"lr": 0.2}}
    assert raw["optimizer"]["lr"] == 0.5 and raw["network"]["sizes"] == [5, 6, 3]
    raw = tiny_circuit(phases=[{"learn": {"epochs": 3}}])
    apply_overrides(raw, ["phases.0.learn.epochs=1"])
    assert circuit_from_dict(raw).phases[0].epochs == 1
    with pytest.raises(SpikefaError, match="--set lr: .*KEY=VALUE|--set lr: must be"):
        apply_overrides(raw, ["lr"])
    with pytest.raises(SpikefaError, match="index 4 is out of range"):
        apply_overrides(raw, ["phases.4=learn"])


def test_yaml_reads_scientific_floats_refuses_duplicates_and_alias_bombs_fast():
    import time

    from spikefa.sweeps import parse_grid
    from spikefa.yamlfile import parse

    assert parse("a: [1e-3, 1.0e-3, 1E6, -2.5e+2, .5, 3, 0x10, 1_000]", "f") == {
        "a": [0.001, 0.001, 1e6, -250.0, 0.5, 3, 16, 1000]
    }
    assert parse_grid(["optimizer.lr=1e-3,3E-2"]) == {"optimizer.lr": [0.001, 0.03]}
    assert parse("base: &b {x: 1}\nuse: {<<: *b, y: 2}", "f")["use"] == {"x": 1, "y": 2}  # merge keys still work
    with pytest.raises(
        SpikefaError, match=r"f: malformed YAML \(line 3, column 3\): duplicate key 'lr' \(first on line 2\)"
    ):
        parse("optimizer:\n  lr: 1\n  lr: 2\n", "f")
    start = time.perf_counter()
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n" for p, n in zip("abcdefghijklmnop", "bcdefghijklmnopq")
    )
    with pytest.raises(SpikefaError, match="more than 10000 values"):
        parse(bomb, "f")
    assert time.perf_counter() - start < 1.0
