"""Populations that are not layers, and pathways between any populations (spiking circuits): a relay of
error neurons between the output and a hidden layer carries the error the math says, later."""

import copy
import re

import numpy as np
import pytest

from spikefa import SpikefaError, circuit_from_dict
from spikefa.activations import evaluate
from spikefa.brian import LifCircuit, RateCircuit
from spikefa.brian.lif import surrogate
from spikefa.reference import ReferenceEngine
from tests.conftest import tiny_circuit

RELAY = {
    "extra": {"relay": {"size": 4, "model": "lif", "error": "err"}},
    "pathways": {"R": {"from": "layer2", "to": "relay", "into": "error", "init": {"dist": "normal", "scale": 0.7}}},
}


def relay_circuit(brian=RELAY, feedback=None, sizes=(6, 8, 3)):
    raw = tiny_circuit("feedback_alignment", sizes, "relu", engine="brian2")
    raw["brian"] = {"neurons": "lif", "target": "numpy", **copy.deepcopy(brian)}
    raw["feedback"] = feedback if feedback is not None else {"source": "relay"}
    return LifCircuit(ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(4)))


def test_a_relay_population_carries_the_output_error_to_the_hidden_layer_in_expectation():
    """Averaged over many presentations: the hidden error is B₁ (R δ₂) ⊙ f'(ā₁) (the surrogate), R the
    fixed pathway into the relay's error compartment — the relay passes on what it receives."""
    c = relay_circuit()
    e = c.engine
    e.params.b[0] += 0.8  # hidden neurons above threshold, where the surrogate slope is not 0
    assert e.params.B[1].shape == (8, 4) and c.feedback[1].source is c.extras["relay"]
    assert "err_pos" in c.extras["relay"].events and "err_pos" in c.groups[2].events
    rng = np.random.default_rng(1)
    x, y = np.tile(rng.random(6), (200, 1)), np.tile(np.eye(3)[[1]], (200, 1))
    seen = c.present(x, y, 0.0, np.random.default_rng(2), learn=False, errors=True)
    R = c.links["R"].w[:].reshape(3, 4)  # all to all: presynaptic-major
    np.testing.assert_allclose(R.T, e.params.links["R"])
    err = np.vstack([d[1] for _, _, d in seen]).mean(0)
    slope, fill = surrogate(c.lif, "v"), c.fill(c.ticks["forward_time"] + c.ticks["error_time"])
    expected = np.vstack([(d[2] @ R @ e.params.B[1].T) * evaluate(slope, A[1] * fill) for A, _, d in seen]).mean(0)
    assert np.abs(expected).max() > 0.05
    np.testing.assert_allclose(err, expected, atol=0.25 * np.abs(expected).max())
    # the metrics see the feedback the hidden layer gets: B₁ R against W₁ᵀ
    np.testing.assert_allclose(e.comparable_feedback()[1], e.params.B[1] @ e.params.links["R"])
    assert set(e.update_angles(x[:5], y[:5])) == {"angle_E1", "angle_dW0"}  # through the relay (routes.py)


def test_a_relay_trains_and_its_pathways_can_be_sparse_delayed_and_signed():
    brian = copy.deepcopy(RELAY)
    brian["pathways"]["R"].update(connectivity=0.5, sign="positive", delay="2 ms", carries="positive")
    brian["pathways"]["D"] = {"from": "layer0", "to": "relay", "into": "drive", "connectivity": 0.5}
    c = relay_circuit(brian, {"source": "relay", "connectivity": 0.5})
    R = c.engine.params.links["R"]
    assert len(c.links["R"]) == np.count_nonzero(R) < R.size and np.all(R >= 0)
    assert float(c.links["R"].pos.delay[:]) == pytest.approx(0.002)
    W = c.engine.params.W[0].copy()
    x = np.random.default_rng(1).random((10, 6))
    c.present(x, np.eye(3)[np.arange(10) % 3], 0.05, np.random.default_rng(0))
    assert np.abs(c.engine.params.W[0] - W).max() > 0  # the hidden layer learned from the relayed error


@pytest.mark.parametrize("autapses", [None, False, True])
def test_a_pathway_from_a_population_to_itself_has_no_autapses_unless_asked(autapses):
    brian = copy.deepcopy(RELAY)
    brian["pathways"]["L"] = {"from": "relay", "to": "relay", "into": "drive", "sign": "negative"}
    if autapses is not None:
        brian["pathways"]["L"]["autapses"] = autapses
    c = relay_circuit(brian)
    L, synapses = c.engine.params.links["L"], c.links["L"]
    assert np.all(np.diag(L) != 0) if autapses else np.all(np.diag(L) == 0)
    assert (np.any(synapses.i[:] == synapses.j[:])) == bool(autapses)
    assert len(synapses) == np.count_nonzero(L)


@pytest.mark.parametrize(
    "brian, feedback, message",
    [
        (
            RELAY,
            {"source": "nowhere"},
            "feedback.source: names no layer above (layerK) and no extra population; brian.extra has relay",
        ),
        (
            {**RELAY, "extra": {"layer7": {"size": 2}}},
            {},
            "brian.extra.layer7: must be an identifier other than the layers",
        ),
        (
            {**RELAY, "pathways": {"R": {"from": "layer9", "to": "relay", "into": "error"}}},
            {},
            "brian.pathways.R.from: unknown population 'layer9'",
        ),
        (
            {**RELAY, "pathways": {"R": {"from": "relay", "to": "layer2", "into": "error"}}},
            {},
            "brian.pathways.R.to: layer2 takes no error input",
        ),
        (
            {**RELAY, "pathways": {"R": {"from": "layer2", "to": "relay", "into": "gap"}}},
            {},
            "brian.pathways.R.into: unknown value 'gap'; allowed: drive, error",
        ),
        (
            {**RELAY, "pathways": {"R": {"from": "layer2", "to": "relay", "into": "error", "sign": "positive"}}},
            {},
            "brian.pathways.R.carries: a positive error pathway of a spiking circuit carries one stream",
        ),
        (
            {**RELAY, "pathways": {"R": {"from": "layer0", "to": "relay", "into": "drive", "carries": "positive"}}},
            {},
            "brian.pathways.R.carries: only for into: error",
        ),
        (
            {
                **RELAY,
                "pathways": {
                    **RELAY["pathways"],
                    "L": {"from": "layer0", "to": "relay", "into": "drive", "autapses": True},
                },
            },
            {},
            "brian.pathways.L.autapses: only for a pathway from a population to itself (layer0 → relay)",
        ),
        (
            {
                **RELAY,
                "pathways": {
                    **RELAY["pathways"],
                    "L": {"from": "relay", "to": "relay", "into": "drive", "autapses": "no"},
                },
            },
            {},
            "brian.pathways.L.autapses: must be",
        ),
    ],
)
def test_bad_extra_populations_and_pathways_name_the_field(brian, feedback, message):
    with pytest.raises(SpikefaError, match=re.escape(message)):
        relay_circuit(brian, feedback)


# Dale's law with a balanced interneuron pool: the error units fire spontaneously (error_baseline β), so a
# negative error is a pause on the ON stream, which excitatory B carries alone; a tonic pool's inhibition
# of the hidden error compartments learns, on each of its events, to cancel the baseline's excitation
# (inhibitory plasticity that balances excitation, after Vogels et al. 2011)
BALANCE = {"on_pre": "w = w - k * eta * err_post", "constants": {"k": 0.1}}


def pool_circuit(k: float | None = 0.1, plasticity: dict | None = None) -> LifCircuit:
    """The balanced pool on a tiny circuit; ``k`` None: its inhibition fixed (the Python schedule)."""
    raw = tiny_circuit("feedback_alignment", (6, 8, 3), "relu", engine="brian2")
    raw["optimizer"] = {"lr": 0.1, "batch_size": 20}
    inhibition = {"from": "pool", "to": "layer1", "into": "error", "carries": "positive", "sign": "negative"}
    inhibition |= {"init": {"dist": "lognormal", "scale": 0.01}}
    if k is not None:
        inhibition["plasticity"] = plasticity or {**BALANCE, "constants": {"k": k}}
    raw["brian"] = {
        "neurons": "lif",
        "target": "numpy",
        "lif": {"error_baseline": 1.0},
        "extra": {"pool": {"size": 4, "model": "lif", "error": "0.5"}},
        "pathways": {"I": inhibition},
    }
    raw["feedback"] = {"sign": "positive", "carries": "positive", "init": {"dist": "lognormal", "scale": 0.3}}
    return LifCircuit(ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(4)))


def test_error_units_with_a_baseline_carry_the_error_on_the_on_stream_and_a_negative_error_is_a_pause():
    """error_baseline β = 1: the output's ON units fire at error_rate · (1 + δ) (δ ∈ (−1, 1): never an
    OFF event), so excitatory B brings the hidden compartment B₁(1 + δ₂) in expectation: less than the
    baseline's B₁1 where the error is negative, and never below 0."""
    c = pool_circuit(k=None)
    e = c.engine
    e.params.b[0] += 0.8  # hidden neurons above threshold, where the surrogate slope is not 0
    e.params.links["I"][...] = 0.0  # no inhibition: the hidden compartment sees B alone
    c.sync_weights()
    assert {p.objname for p in c.feedback[1]._pathways} == {"pos"}
    assert (
        "error_baseline" in c.groups[2].events["err_pos"] and "error_baseline" not in c.extras["pool"].events["err_pos"]
    )
    rng = np.random.default_rng(1)
    x = np.tile(rng.random(6), (200, 1))
    slope, fill = surrogate(c.lif, "v"), c.fill(c.ticks["forward_time"] + c.ticks["error_time"])
    for label in (np.zeros(3), np.ones(3)):  # against no label every δ > 0; against all labels every δ < 0
        y = np.tile(label, (200, 1))
        with c.monitoring((2,), ("spikes",)) as events:
            seen = c.present(x, y, 0.0, np.random.default_rng(2), learn=False, errors=True)
        assert len(events["layer2_err_neg_i"]) == 0 and len(events["layer2_err_pos_i"]) > 0
        err = np.vstack([d[1] for _, _, d in seen]).mean(0)
        expected = np.vstack([((1 + d[2]) @ e.params.B[1].T) * evaluate(slope, A[1] * fill) for A, _, d in seen])
        expected = expected.mean(0)
        baseline = np.vstack([e.params.B[1].sum(1) * evaluate(slope, A[1] * fill) for A, _, _ in seen]).mean(0)
        assert np.all(np.vstack([d[1] for _, _, d in seen]) >= 0)  # excitation only
        above = (expected - baseline) * (1 if label.sum() == 0 else -1)  # above the baseline for δ > 0
        assert np.all(above >= 0) and above.max() > 0.05
        np.testing.assert_allclose(err, expected, atol=0.2 * np.abs(expected).max())


@pytest.mark.parametrize("k", [0.1, 0.0])
def test_a_circuit_files_own_pathway_learns_by_its_declared_code_and_balances_the_baseline(k):
    """The pool's inhibitory synapses change on each of their events by −k · η · err_post (a declared
    plasticity on a brian.pathways pathway, generated code): within a few examples they cancel the
    excitation the error units' baseline brings (without plasticity it stays), and keep their sign."""
    c = pool_circuit(k)
    rng = np.random.default_rng(1)
    x, y = rng.random((40, 6)), np.eye(3)[rng.integers(0, 3, 40)]
    I = c.engine.params.links["I"].copy()
    means = []
    for b in range(2):
        with c.monitoring((1,), ("err",)) as out:
            c.train_batch(x[b * 20 : (b + 1) * 20], y[b * 20 : (b + 1) * 20], 0.1, np.random.default_rng(b))
        err = out["layer1_err"]
        steps = c.example_steps()
        means.append(err[:, steps : 21 * steps].reshape(8, 20, steps).mean(2))  # per neuron and example
    first, last = np.abs(means[0][:, 0]).mean(), np.abs(means[1][:, 10:].mean(1)).mean()
    assert first > 0.5  # the baseline's excitation, B₁1 on average, with almost no inhibition
    learned = c.engine.params.links["I"]
    assert np.all(learned <= 0)
    if k:
        assert last < 0.25 * first and np.all(learned < I)  # balanced: inhibition grew everywhere
        np.testing.assert_array_equal(c.links["I"].w[:], learned[c.links["I"].j[:], c.links["I"].i[:]])
    else:
        assert last > 0.8 * first and np.array_equal(learned, I)


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"brian": {"neurons": "rate", "extra": {"pool": {"size": 4}}}, "plasticity": {"each_example": "w = w"}},
            "brian.pathways.I.plasticity: only for neurons: lif",
        ),
        ({"rule": {"name": "kolen_pollack"}}, "brian.lif.error_baseline: rule kolen_pollack changes B"),
        ({"brian": {"lif": {"error_baseline": -1}}}, "brian.lif.error_baseline: must be"),
        (
            {"brian": {"lif": {"error_baseline": 1.0, "error_rate": "1500 Hz"}}},
            "brian.lif.error_baseline: error_rate 1500 Hz × (1 + 1) fires more than once per dt = 0.5 ms",
        ),
    ],
)
def test_a_balanced_pools_bad_fields_are_refused_in_one_line(change, message):
    raw = tiny_circuit("feedback_alignment", (6, 8, 3), "relu", engine="brian2")
    raw["brian"] = {
        "neurons": "lif",
        "target": "numpy",
        "lif": {"error_baseline": 1.0},
        "extra": {"pool": {"size": 4, "model": "lif", "error": "0.5"}},
        "pathways": {"I": {"from": "pool", "to": "layer1", "into": "error", "plasticity": BALANCE}},
    }
    for key, value in change.items():
        if key == "plasticity":
            raw["brian"]["pathways"]["I"]["plasticity"] = value
        elif isinstance(value, dict):
            for k, v in value.items():
                raw[key][k] = v
        else:
            raw[key] = value
    if raw["brian"]["neurons"] == "rate":
        raw["brian"].pop("lif")
    with pytest.raises(SpikefaError) as caught:
        circuit_from_dict(raw)
    text = str(caught.value)
    assert message in text and "\n" not in text, text


def test_a_circuit_files_own_pathway_may_not_read_what_its_synapse_cannot_see():
    with pytest.raises(SpikefaError) as caught:
        pool_circuit(plasticity={"on_pre": "w = w - eta * v_pre"})
    text = str(caught.value)
    assert text.startswith("brian.pathways.I.plasticity: plasticity reads 'v_pre'") and "\n" not in text, text


def test_a_relay_needs_fixed_feedback_and_a_rate_relay_no_neuron_model():
    raw = tiny_circuit("kolen_pollack", (6, 8, 3), "relu", engine="brian2")
    raw["brian"] = {"neurons": "lif", **copy.deepcopy(RELAY)}
    raw["feedback"] = {"source": "relay"}
    with pytest.raises(SpikefaError, match="rule kolen_pollack learns or copies B"):
        circuit_from_dict(raw)
    raw = tiny_circuit("feedback_alignment", (6, 8, 3), engine="brian2")
    raw["brian"] = copy.deepcopy(RELAY)  # its relay names a spiking model
    with pytest.raises(
        SpikefaError, match="brian.extra.relay.model: a rate circuit's extra population is a rate population"
    ):
        circuit_from_dict(raw)


def rate_relay(error_time="2 ms", **pathways):
    raw = tiny_circuit("feedback_alignment", (6, 8, 3), "tanh", engine="brian2")
    raw["brian"] = {
        "neurons": "rate",
        "target": "numpy",
        "error_time": error_time,
        "extra": {"relay": {"size": 4}},
        "pathways": {"R": {"from": "layer2", "to": "relay", "into": "error"}, **pathways},
    }
    raw["feedback"] = {"source": "relay"}
    return RateCircuit(ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(4)))


def test_a_rate_circuits_extra_populations_and_pathways_as_generated_code_are_the_python_schedules():
    """A relay carrying the output error, an inhibitory error route and a sparse drive pathway: the
    generated schedule learns and answers what the Python schedule does, number for number."""
    circuits = []
    for plasticity in ("kernels", "code"):
        raw = tiny_circuit("feedback_alignment", (6, 8, 3), "tanh", engine="brian2")
        raw["optimizer"] = {"lr": 0.1, "batch_size": 4, "momentum": 0.0}
        raw["brian"] = {"neurons": "rate", "plasticity": plasticity, "target": "numpy", "error_time": "2 ms"}
        raw["brian"]["extra"] = {"relay": {"size": 4}}
        raw["brian"]["pathways"] = {
            "R": {"from": "layer2", "to": "relay", "into": "error"},
            "I": {"from": "layer2", "to": "layer1", "into": "error", "sign": "negative"},
            "D": {"from": "layer0", "to": "layer1", "into": "drive", "connectivity": 0.5},
        }
        raw["feedback"] = {"source": "relay"}
        circuits.append(RateCircuit(ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(4))))
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((7, 6)), np.eye(3)[rng.integers(0, 3, 7)]
    outs = [
        np.vstack([c.train_batch(x[:4], y[:4], 0.1, None)[1], c.train_batch(x[4:], y[4:], 0.05, None)[1]])
        for c in circuits
    ]
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-9, atol=1e-12)
    python, code = (c.engine.params for c in circuits)
    for name, a in python.arrays(("W", "b", "B", "links")).items():
        np.testing.assert_allclose(code.arrays()[name], a, rtol=1e-9, atol=1e-12, err_msg=name)
    assert not np.allclose(
        python.W[0], ReferenceEngine(circuits[0].engine.circuit, np.random.default_rng(4)).params.W[0]
    )
    np.testing.assert_allclose(circuits[1].predict(x), circuits[0].predict(x), rtol=1e-9, atol=1e-12)


def test_a_rate_relay_passes_the_output_error_on_exactly():
    """A rate circuit is exact: the hidden error is B₁ (R δ₂) ⊙ f'(a₁), number for number; a second
    error input (an inhibitory route) sums in the same compartment."""
    c = rate_relay()
    e, R = c.engine, c.engine.params.links["R"]
    x, y = np.random.default_rng(1).standard_normal((3, 6)), np.eye(3)[[0, 2, 1]]
    seen = c.present(x, y, 0.0, np.random.default_rng(0), learn=False)
    for k, (A, H, deltas) in enumerate(seen):
        expected = (deltas[2] @ R.T @ e.params.B[1].T) * e.df(A[1], H[1])
        np.testing.assert_allclose(deltas[1], expected, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(A[1], e.forward(x[k : k + 1])[0][1], rtol=1e-9)  # the forward path is the engine's
    both = rate_relay(I={"from": "layer2", "to": "layer1", "into": "error", "sign": "negative"})
    seen = both.present(x, y, 0.0, np.random.default_rng(0), learn=False)
    inhibitory = both.engine.params.links["I"]
    assert np.all(inhibitory <= 0)
    for A, H, deltas in seen:
        compartment = deltas[2] @ R.T @ both.engine.params.B[1].T + deltas[2] @ inhibitory.T
        np.testing.assert_allclose(deltas[1], compartment * both.engine.df(A[1], H[1]), rtol=1e-9, atol=1e-12)


def test_a_rate_drive_pathway_adds_to_the_soma_and_the_schedule_is_checked():
    c = rate_relay(D={"from": "layer0", "to": "layer1", "into": "drive", "connectivity": 0.5})
    D = c.engine.params.links["D"]
    x = np.random.default_rng(1).standard_normal((1, 6))
    A, H, _ = c.present(x, np.eye(3)[[0]], 0.0, np.random.default_rng(0), learn=False)[0]
    p = c.engine.params
    np.testing.assert_allclose(A[1], x @ p.W[0].T + p.b[0] + x @ D.T, rtol=1e-9)
    # test outputs are the circuit's own (the reference engine knows no extra drive), and so are the metrics
    np.testing.assert_allclose(c.predict(x), H[-1], rtol=1e-12)
    assert np.abs(c.predict(x) - c.engine.predict(x)).max() > 1e-3 and c.engine.update_angles(x, H[-1]) == {}
    with pytest.raises(SpikefaError, match="the errors need 2 steps of dt = 1 ms to cross their pathways"):
        rate_relay(error_time="1 ms")


HEBBIAN_RELAY = """
from spikefa.rules.fixed import FixedFeedback


class PlasticRelay(FixedFeedback):
    '''FA, and the pathway R into the relay strengthens with the error it carries: dR = eta |delta_out|.'''

    parameters = {"eta": 0.05}

    def after_step(self, params, step):
        R = params.links["R"]  # (relay, output)
        R += self.parameters["eta"] * abs(step.deltas[-1]).sum(0)  # every synapse from output neuron j
"""


def test_a_users_rule_may_change_a_circuit_files_pathway_within_its_structure(tmp_path):
    (tmp_path / "relay_rule.py").write_text(HEBBIAN_RELAY)
    raw = tiny_circuit(f"{tmp_path / 'relay_rule.py'}:PlasticRelay", (6, 8, 3), "tanh", engine="brian2")
    raw["brian"] = {
        "neurons": "rate",
        "target": "numpy",
        "error_time": "2 ms",
        "extra": {"relay": {"size": 4}},
        "pathways": {"R": {"from": "layer2", "to": "relay", "into": "error", "sign": "positive", "connectivity": 0.5}},
    }
    raw["feedback"] = {"source": "relay"}
    c = RateCircuit(ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(4)))
    R = c.engine.params.links["R"]
    before = R.copy()
    x, y = np.random.default_rng(1).standard_normal((5, 6)), np.eye(3)[[0, 2, 1, 1, 0]]
    c.present(x, y, 0.1, np.random.default_rng(0))
    syn = c.links["R"]
    assert np.abs(R - before).max() > 1e-6 and np.all(R >= 0) and np.all(R[before == 0] == 0)
    np.testing.assert_array_equal(syn.w[:], R[syn.j[:], syn.i[:]])  # the synapses follow, in place
    assert "R" in c.engine.params.arrays()  # so checkpoints and weights.npz carry it


POOL = {
    "extra": {"pool": {"size": 5, "model": "lif", "error": "err"}},
    "pathways": {
        "P": {"from": "layer2", "to": "pool", "into": "error", "carries": "negative", "sign": "positive"},
        "I": {"from": "pool", "to": "layer1", "into": "error", "carries": "positive", "sign": "negative"},
    },
}


def test_an_inhibitory_pool_carries_the_negative_errors_and_every_synapse_keeps_its_sign():
    """Dale's law with interneurons: B (excitatory) carries the output's positive errors only, the pool
    P (excitatory) its negative ones, and the pool's events reach the hidden layer through inhibitory
    synapses I. Each group carries one event stream and adds its own weight per event: B never lowers
    a hidden error compartment, I never raises one, and with only negative output errors (every output
    pushed down) the hidden compartments only fall."""
    c = relay_circuit(POOL, {"sign": "positive", "carries": "positive", "init": {"dist": "lognormal", "scale": 0.3}})
    assert {p.objname for p in c.feedback[1]._pathways} == {"pos"} and not c.off
    assert {p.objname for p in c.links["P"]._pathways} == {"neg"} and {p.objname for p in c.links["I"]._pathways} == {
        "pos"
    }
    assert np.all(c.links["P"].w[:] >= 0) and np.all(c.links["I"].w[:] <= 0) and np.all(c.feedback[1].w[:] >= 0)
    x = np.random.default_rng(1).random((20, 6))
    seen = c.present(x, np.zeros((20, 3)), 0.0, np.random.default_rng(0), learn=False, errors=True)
    assert np.all(np.vstack([d[2] for _, _, d in seen]) >= 0)  # softmax against no label: every δ > 0 …
    err = np.vstack([d[1] for _, _, d in seen])
    assert err.max() > 0 and err.min() >= 0  # … and only B's excitation reached the hidden layer
    seen = c.present(x, np.ones((20, 3)), 0.0, np.random.default_rng(0), learn=False, errors=True)
    assert np.all(np.vstack([d[2] for _, _, d in seen]) <= 0)  # … against all labels, negative
    err = np.vstack([d[1] for _, _, d in seen])
    assert err.min() < 0 and err.max() <= 0  # only the pool's inhibition reached the hidden layer


def test_one_stream_of_error_events_needs_fixed_feedback():
    raw = tiny_circuit("kolen_pollack", (6, 8, 3), "relu", engine="brian2")
    raw["brian"] = {"neurons": "lif", "target": "numpy"}
    raw["feedback"] = {"carries": "positive"}
    with pytest.raises(SpikefaError, match="feedback.carries: positive: B carries one stream"):
        LifCircuit(ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(4)))
    raw = tiny_circuit("feedback_alignment", (6, 8, 3), "tanh", engine="brian2")
    raw["feedback"] = {"carries": "positive"}
    with pytest.raises(SpikefaError, match="feedback.carries: only for neurons: lif"):
        circuit_from_dict(raw)


def test_a_hidden_layer_may_take_its_errors_from_a_layer_further_up():
    """A skip: B₁ carries the output's error past layer 2 (a rate circuit: exact, δ₁ = B₁ δ₃ ⊙ f'(a₁));
    the effective feedback into layer 1 is B₁ on the errors' span."""
    raw = tiny_circuit("feedback_alignment", (6, 8, 5, 3), "tanh", engine="brian2")
    raw["brian"] = {"neurons": "rate", "target": "numpy"}
    raw["feedback"] = {1: {"source": "layer3"}}
    c = RateCircuit(ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(4)))
    e = c.engine
    assert e.params.B[1].shape == (8, 3) and e.params.B[2].shape == (5, 3)
    x, y = np.random.default_rng(1).standard_normal((3, 6)), np.eye(3)[[0, 2, 1]]
    for A, H, deltas in c.present(x, y, 0.0, np.random.default_rng(0), learn=False):
        np.testing.assert_allclose(deltas[1], (deltas[3] @ e.params.B[1].T) * e.df(A[1], H[1]), rtol=1e-9)
        np.testing.assert_allclose(deltas[2], (deltas[3] @ e.params.B[2].T) * e.df(A[2], H[2]), rtol=1e-9)
    assert {"angle_E1", "angle_E2", "angle_dW0", "angle_dW1"} <= set(e.update_angles(x, y))


def test_a_spiking_skip_learns_alike_in_generated_code_and_on_the_python_schedule():
    raw = tiny_circuit("feedback_alignment", (6, 8, 5, 3), "relu", engine="brian2")
    raw["feedback"] = {1: {"source": "layer3", "delay": "2 ms"}}
    x, y = np.random.default_rng(1).random((8, 6)), np.eye(3)[np.arange(8) % 3]
    learned = []
    for plasticity in ("kernels", "code"):
        raw["brian"] = {"neurons": "lif", "target": "numpy", "plasticity": plasticity}
        c = LifCircuit(ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(4)))
        assert (c.feedback[1].source.name, c.feedback[1].target.name) == ("layer3", "layer1")
        W0 = c.engine.params.W[0].copy()
        c.train_batch(x, y, 0.05, np.random.default_rng(0))
        learned.append(c.engine.params.W[0] - W0)
    assert np.abs(learned[0]).max() > 0.01  # layer 1 learned from the output's error, past layer 2
    np.testing.assert_allclose(learned[1], learned[0], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    ("feedback", "engine", "message"),
    [
        (
            {1: {"source": "layer1"}},
            "brian2",
            "feedback.1.source: hidden layer 1 takes errors from a layer above it (layer2, layer3), got layer1",
        ),
        (
            {"source": "layer9"},
            "brian2",
            "feedback.source: hidden layer 1 takes errors from a layer above it (layer2, layer3), got layer9",
        ),
        (
            {1: {"source": "layers"}},
            "brian2",
            "feedback.1.source: names no layer above (layerK) and no extra population",
        ),
        ({1: {"source": "layer3"}}, "reference", "feedback.1.source: needs engine: brian2"),
    ],
)
def test_a_feedback_source_must_be_a_layer_above_or_an_extra_population(feedback, engine, message):
    raw = tiny_circuit("feedback_alignment", (6, 8, 5, 3), "tanh", engine=engine)
    if engine == "brian2":
        raw["brian"] = {"neurons": "rate"}
    raw["feedback"] = feedback
    with pytest.raises(SpikefaError, match=re.escape(message)):
        circuit_from_dict(raw)
