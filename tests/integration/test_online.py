"""Online, event-driven learning on spiking circuits (``brian.learning: online``) against the reference
engine's update, in the rate limit, and what it refuses."""

import copy

import numpy as np
import pytest
from brian2 import StateMonitor

from spikefa import SpikefaError, circuit_from_dict
from spikefa.brian import LifCircuit
from spikefa.reference import ReferenceEngine
from tests.conftest import tiny_circuit
from tests.integration.test_generated_code import raw_circuit
from tests.integration.test_generated_lif import LIF_MIRROR, LIF_MIRROR_TIMES

ONLINE = {"engine": "brian2", "brian": {"neurons": "lif", "target": "numpy", "learning": "online"}}


def online_circuit(rule="feedback_alignment", sizes=(6, 8, 3), seed=4, optimizer=None, **brian):
    raw = tiny_circuit(rule, sizes, "relu", "softmax", **copy.deepcopy(ONLINE))
    raw["brian"].update(brian)
    raw["optimizer"].update(optimizer or {})
    engine = ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(seed))
    return LifCircuit(engine)


def test_online_update_is_the_reference_update_in_the_rate_limit():
    """Kolen–Pollack online, one example shown M times in the rate limit (1 s windows, a small η, Poisson
    input, 32 hidden neurons): per example W changes on each presynaptic spike by the postsynaptic
    error, B on each spike of its target by its trace of the error events it carried. Per synapse, the
    mean over the examples of (online change − the reference engine's update from what that example's
    synapses sampled: spike-count rates and time-averaged errors) is spike noise: its norm is within 4
    times its expected size, the norm of the standard errors. (A wrong scale or sign would be some 100
    times that. With Poisson input, W₀'s events are independent of the error they read and its mean is
    exact; W₁ and B₁ also pick up the small covariance of pre- and postsynaptic activity within an
    example. Measured: 0.95, 2.3 and 1.0 times the noise for W₀, W₁, B₁; 1.3 %, 0.5 % and 1.0 % of the
    mean change. The errors are those the synapses read, before each step's synaptic input.)"""
    M, lr, sizes = 24, 1e-3, (24, 32, 3)
    c = online_circuit(
        "kolen_pollack",
        sizes=sizes,
        optimizer={"lr": lr, "batch_size": M},
        forward_time="500 ms",
        error_time="500 ms",
        lif={"input": "poisson"},
    )
    p = c.engine.params
    p.b[0] += 0.8  # hidden neurons above threshold, where the surrogate slope is not 0
    synapses = {"W0": c.forward[0], "W1": c.forward[1], "B1": c.feedback[1]}
    T = c.example_steps() * c.dt
    weights = {k: StateMonitor(s, "w", record=True, dt=T) for k, s in synapses.items()}  # at each example's start
    # the errors as the synapses read them: before the step's synaptic input (pathways.learning_first)
    seen = [
        StateMonitor(g, v, record=True, when="before_synapses")
        for g, v in ((c.groups[1], "delta_local"), (c.groups[2], "delta"))
    ]
    seen += [StateMonitor(g, ["count", "r"], record=True, when="end") for g in c.groups[:2]]
    c.network.add(*weights.values(), *seen)
    start = {k: np.array(getattr(p, k[0])[int(k[1])], copy=True) for k in synapses}
    x = np.tile(np.random.default_rng(1).random(sizes[0]), (M, 1))
    c.train_batch(x, np.tile(np.eye(3)[[0]], (M, 1)), lr, np.random.default_rng(2))

    S, T = c.example_steps(), float(T)
    np.testing.assert_allclose(weights["W0"].t_[: M + 1], np.arange(M + 1) * T)  # the examples' boundaries
    online = {k: np.diff(m.w[:, : M + 1], axis=1) for k, m in weights.items()}  # synapses × examples

    def per_example(a):  # neurons × examples × steps
        return np.asarray(a)[:, : M * S].reshape(len(a), M, S)

    d1, d2 = (per_example(getattr(m, v)).mean(2) for m, v in zip(seen[:2], ("delta_local", "delta")))
    # spike-count rates (÷ max_rate); the input's count runs on across examples, a layer's starts at 0
    ends = [per_example(m.count)[:, :, -1] for m in seen[2:]]
    h0, h1 = np.diff(ends[0], axis=1, prepend=0) / (200.0 * T), ends[1] / (200.0 * T)

    diffs = {k: [] for k in synapses}
    for k in range(M):
        e = ReferenceEngine(c.engine.circuit, np.random.default_rng(0))
        for name, w in start.items():
            getattr(e.params, name[0])[int(name[1])][...] = w

        a0, a1, e1, e2 = (a[:, k][None] for a in (h0, h1, d1, d2))
        e.learn([a0, a1, None], [None, e1, e2], lr, np.random.default_rng(0), [None, None, e2])
        ref = {name: getattr(e.params, name[0])[int(name[1])] - w for name, w in start.items()}
        for name in synapses:
            diffs[name].append(online[name][:, k] - as_synapses(ref[name]))
    for name, d in diffs.items():
        d = np.array(d)  # examples × synapses
        assert np.abs(online[name]).mean() > 1e-5, name  # it learned
        noise = np.sqrt(np.sum(d.var(0, ddof=1) / M))
        assert np.linalg.norm(d.mean(0)) <= 4 * noise, name


def as_synapses(M):
    """A weight matrix (post × pre) as its all-to-all synapses' array (presynaptic-major)."""
    return M.T.ravel()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"rule": {"name": "backprop"}}, "no form of rule backprop"),
        ({"optimizer": {"momentum": 0.9}}, "optimizer.momentum: online learning"),
    ],
)
def test_what_has_no_online_form_is_refused(change, message):
    raw = tiny_circuit("feedback_alignment", (6, 8, 3), "relu", "softmax", **copy.deepcopy(ONLINE))
    for key, value in change.items():
        raw[key].update(value)
    with pytest.raises(SpikefaError, match=message):
        LifCircuit(ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(0)))


@pytest.mark.parametrize(
    "brian, message",
    [
        ({"neurons": "rate", "learning": "online"}, "only for neurons: lif"),
        ({"neurons": "lif", "learning": "online", "plasticity": "kernels"}, "needs plasticity: code"),
    ],
)
def test_online_needs_spikes_and_code(brian, message):
    raw = tiny_circuit("feedback_alignment", (6, 8, 3), "relu", "softmax", engine="brian2", brian=brian)
    with pytest.raises(SpikefaError, match=message):
        circuit_from_dict(raw)


def test_online_changes_are_checked_for_locality():
    """Every online change is among those the locality contract judges: W's reads its postsynaptic
    neuron's error, KP's B its own trace of the events it carried, both on their own events."""
    c = online_circuit("kolen_pollack")
    codes = {}
    for syn, code in c.generated.changes:
        codes[syn.name] = codes.get(syn.name, "") + code
    assert "delta_local_post" in codes["W0"] and "delta_post" in codes["W1"]
    assert "q +=" in codes["B1"] and "w = w -" in codes["B1"]


def mirror_online_circuit() -> LifCircuit:
    """The weight mirror learning online (numpy), with a tonic pool whose inhibitory pathway into the hidden
    error compartments learns on its own events (declared code reading the broadcast η)."""
    raw = raw_circuit("weight_mirror", hidden="relu", mirror=LIF_MIRROR, optimizer={"momentum": 0.0})
    raw["network"]["sizes"] = [6, 8, 3]
    balance = {"from": "tonic", "to": "layer1", "into": "error", "carries": "positive", "sign": "negative"}
    balance["plasticity"] = {"on_pre": "w = w - 0.5 * eta * err_post"}
    raw["brian"] = {
        "neurons": "lif",
        "target": "numpy",
        "learning": "online",
        "lif": dict(LIF_MIRROR_TIMES),
        "extra": {"tonic": {"size": 3, "model": "lif", "error": "0.5"}},
        "pathways": {"T": balance},
    }
    return LifCircuit(ReferenceEngine(circuit_from_dict(raw), np.random.default_rng(4)))


def test_nothing_learns_online_in_a_mirror_segment_and_an_example_starts_from_rest():
    """A mirror segment learns no example: a pathway learning on its own events reads η 0 there (before
    2026-12-04 it read the last block's η). And an online example's first step compares the output with
    its teacher from rest, whatever state the last example or mirror segment left (before, the error units
    and the biases' change ran once before the rest: compiled runs, which start from the project's state,
    then differed from the runtime's after a mirror segment)."""
    x = np.random.default_rng(3).random((4, 6))
    y = np.eye(3)[[0, 1, 2, 0]]
    results = []
    for left in (0.0, 0.7):
        c = mirror_online_circuit()
        c.train_batch(x[:2], y[:2], 0.1, np.random.default_rng(7))
        pool = c.engine.params.links["T"].copy()
        c.mirror(2, np.random.default_rng(8))
        np.testing.assert_array_equal(c.engine.params.links["T"], pool)
        out = c.groups[-1]
        for name in ("r", "teacher", "taught", "delta"):  # what an example or segment may leave behind
            getattr(out, name)[:] = left
        c.train_batch(x[2:], y[2:], 0.1, np.random.default_rng(9))
        results.append(c.engine.params.arrays())
    assert not np.array_equal(results[0]["T"], pool)  # it learns while examples are shown
    for name, a in results[0].items():
        np.testing.assert_array_equal(results[1][name], a, err_msg=name)
