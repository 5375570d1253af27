"""The options that make Akrout et al.'s own setup expressible (sigmoid units with binary cross-entropy,
Glorot-normal weights and biases, a bias learning rate, data order, their weight mirror, B_0), each
against an independent computation."""

import numpy as np
import pytest
import yaml

from spikefa import SpikefaError, circuit_from_dict, load_circuit
from spikefa.reference import ReferenceEngine
from spikefa.training import Trainer, batch_count
from tests.conftest import ROOT, tiny_circuit

SIZES = (6, 5, 4)


def engine(name="feedback_alignment", sizes=SIZES, seed=0, **extra):
    circuit = circuit_from_dict(tiny_circuit(name, sizes, "sigmoid", "sigmoid", **extra))
    return ReferenceEngine(circuit, np.random.default_rng(seed))


def authors(**network):
    """The authors' unit and loss choice: sigmoid everywhere, binary cross-entropy per output unit."""
    return {"network": {"loss": "binary_cross_entropy", **network}}


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def test_binary_cross_entropy_is_the_per_unit_loss_and_its_gradient(rng):
    e = engine("backprop", **authors())
    x, y = rng.standard_normal((7, 6)), np.eye(4)[rng.integers(0, 4, 7)]
    p = sigmoid(sigmoid(x @ e.params.W[0].T + e.params.b[0]) @ e.params.W[1].T + e.params.b[1])
    want = np.mean(np.sum(-y * np.log(p) - (1 - y) * np.log(1 - p), axis=1))
    assert e.loss(e.predict(x), y) == pytest.approx(want, rel=1e-12)
    A, H = e.forward(x)
    gW, gb = e.gradients(H, e.deltas(A, H, y))
    eps = 1e-6
    for l in range(2):
        for array, grad in ((e.params.W[l], gW[l]), (e.params.b[l], gb[l])):
            numeric = np.zeros_like(array)
            for idx in np.ndindex(array.shape):
                keep = array[idx]
                array[idx] = keep + eps
                up = e.loss(e.predict(x), y)
                array[idx] = keep - eps
                numeric[idx] = (up - e.loss(e.predict(x), y)) / (2 * eps)
                array[idx] = keep
            np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-9)
    assert np.isfinite(e.loss(np.array([[1.0, 0.0, 0.0, 0.0]]), np.array([[0.0, 1.0, 0.0, 0.0]])))


def test_xavier_normal_weights_and_biases_have_the_glorot_variance_per_layer():
    gain = 2**-0.5  # variance 1 / (fan_in + fan_out): the authors' init
    init = {"dist": "xavier_normal", "scale": gain}
    e = engine(sizes=(400, 300, 200), seed=1, **authors(init=init, bias_init=init))
    for (n_in, n_out), W, b in zip([(400, 300), (300, 200)], e.params.W, e.params.b):
        std = np.sqrt(1 / (n_in + n_out))
        assert W.std() == pytest.approx(std, rel=0.01) and abs(W.mean()) < 0.01 * std
        assert b.std() == pytest.approx(std, rel=0.15) and b.shape == (n_out,)
    plain = engine(sizes=(400, 300, 200), seed=1, **authors(init=init))
    assert all(np.all(b == 0) for b in plain.params.b)  # biases start at zero unless told
    for a, b in zip(plain.params.W + plain.params.B[1:], e.params.W + e.params.B[1:]):
        np.testing.assert_array_equal(a, b)  # drawn after everything else: the weights are the same


def test_biases_learn_at_their_own_rate(rng):
    e = engine(optimizer={"lr": 0.2, "bias_lr": 0.2 / 128, "momentum": 0.0})
    x, y = rng.standard_normal((8, 6)), np.eye(4)[rng.integers(0, 4, 8)]
    A, H = e.forward(x)
    gW, gb = e.gradients(H, e.deltas(A, H, y))
    W, b = [w.copy() for w in e.params.W], [v.copy() for v in e.params.b]
    e.train_batch(x, y, 0.2, rng)
    for l in range(2):
        np.testing.assert_allclose(e.params.W[l], W[l] - 0.2 * gW[l], rtol=1e-12)
        np.testing.assert_allclose(e.params.b[l], b[l] - 0.2 / 128 * gb[l], rtol=1e-12)


def trainer(tmp_path, **optimizer):
    from spikefa.model import build

    raw = tiny_circuit("feedback_alignment", (64, 8, 10), task={"name": "digits", "n_train": 100, "n_test": 20})
    raw["optimizer"].update(batch_size=32, **optimizer)
    model = build(circuit_from_dict(raw))
    return Trainer(model, None, progress=False)


def test_data_order_without_reshuffling_and_without_the_last_partial_batch(tmp_path):
    t = trainer(tmp_path, shuffle=False, drop_last=True)
    state = t.rng.bit_generator.state
    x, y = t.data.x_train, t.data.y_train
    batches = list(t.batches(x, y))
    assert [len(b) for b, _ in batches] == [32, 32, 32] == [32] * t.batches_per_epoch
    np.testing.assert_array_equal(np.concatenate([b for b, _ in batches]), x[:96])  # the file's order
    assert t.rng.bit_generator.state == state  # no draw from the training stream
    shuffled = trainer(tmp_path)
    sizes = [len(b) for b, _ in shuffled.batches(x, y)]
    assert sizes == [32, 32, 32, 4] and shuffled.batches_per_epoch == 4
    assert (
        batch_count(100, circuit_from_dict(tiny_circuit(optimizer={"batch_size": 32, "drop_last": True})).optimizer)
        == 3
    )


def test_uniform_mirror_noise_has_the_asked_moments():
    e = engine(
        "weight_mirror", rule={"name": "weight_mirror", "mirror": {"noise": "uniform", "noise_std": 0.1 / 12**0.5}}
    )
    x = e.rule.noise(np.random.default_rng(0), (20000, 30), np.dtype("float64"))
    assert x.min() >= -0.05 and x.max() <= 0.05  # the authors' 0.1 · (U[0, 1) − 0.5)
    np.testing.assert_allclose(x.mean(0), 0, atol=1e-3)
    np.testing.assert_allclose(np.cov(x.T), (0.1**2 / 12) * np.eye(30), atol=1.5e-4)


def test_mirror_response_through_the_nonlinearity_and_no_decay():
    mirror = {"noise": "uniform", "noise_std": 0.2, "lr": 0.3, "decay": 0.0, "batch_size": 16, "response": "rate"}
    e = engine(
        "weight_mirror",
        rule={"name": "weight_mirror", "mirror": mirror},
        feedback={"input": True},
        **authors(bias_init="xavier_normal"),
    )
    B = [b.copy() for b in e.params.B]
    draws = np.random.default_rng(7)
    e.mirror(1, np.random.default_rng(7))
    half = np.sqrt(3) * 0.2
    for l in (0, 1):  # B_0 first: every layer with a B fires its noise in turn
        x = draws.uniform(-half, half, (16, B[l].shape[0]))
        y = sigmoid(x @ e.params.W[l].T + e.params.b[l])  # the layer above answers with its rate
        np.testing.assert_allclose(e.params.B[l], B[l] + 0.3 * (x.T @ y) / 16, rtol=1e-12)


def test_input_feedback_learns_as_the_others_and_reports_its_angle(rng):
    x, y = rng.standard_normal((16, 6)), np.eye(4)[rng.integers(0, 4, 16)]
    kp = engine("kolen_pollack", optimizer={"weight_decay": 0.05}, feedback={"input": True})
    assert kp.params.B[0].shape == (6, 5)
    start = np.linalg.norm(kp.params.W[0] - kp.params.B[0].T)
    for _ in range(40):
        kp.train_batch(x, y, 0.1, rng)
    np.testing.assert_allclose(np.linalg.norm(kp.params.W[0] - kp.params.B[0].T), 0.95**40 * start, rtol=1e-9)
    assert set(kp.feedback_angles()) == {"angle_B0", "angle_B1"}
    fa = engine(feedback={"input": True})
    B0 = fa.params.B[0].copy()
    fa.train_batch(x, y, 0.1, rng)
    np.testing.assert_array_equal(fa.params.B[0], B0)  # fixed, and nothing reads the error it carries
    plain = engine()
    plain.params.load_arrays({k: v for k, v in fa.params.arrays().items() if k in plain.params.arrays()})
    assert plain.predict(x) == pytest.approx(fa.predict(x))
    wm = engine("weight_mirror", sizes=(20, 30, 10), seed=5, feedback={"input": True})
    assert wm.feedback_angles()["angle_B0"] > 75
    wm.mirror(300, np.random.default_rng(1))
    assert wm.feedback_angles()["angle_B0"] < 5
    assert engine("backprop", feedback={"input": True}).feedback_angles()["angle_B0"] == 0.0


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"network": {"loss": "binary_cross_entropy"}},
            "binary_cross_entropy goes with output: sigmoid; got output 'softmax'",
        ),
        ({"network": {"bias_init": {"dist": "cauchy"}}}, "network.bias_init.dist: unknown value 'cauchy'"),
        ({"network": {"init": "zero"}}, "network.init.dist: unknown value 'zero'"),
        ({"optimizer": {"bias_lr": -1}}, "optimizer.bias_lr: must be >= 0"),
        ({"optimizer": {"shuffle": "no"}}, "optimizer.shuffle: must be"),
        ({"rule": {"name": "weight_mirror", "mirror": {"response": "spikes"}}}, "allowed: drive, rate"),
        ({"rule": {"name": "weight_mirror", "mirror": {"noise": "pink"}}}, "allowed: gaussian, binary, uniform"),
        ({"feedback": {"input": True}, "rule": {"name": "direct_feedback_alignment"}}, "feedback.input: needs a layer"),
        ({"feedback": {"input": True}, "engine": "brian2"}, "feedback.input: needs engine: reference"),
        (
            {"engine": "brian2", "rule": {"name": "weight_mirror", "mirror": {"response": "rate"}}},
            "rule.mirror.response: rate needs engine: reference",
        ),
    ],
)
def test_bad_setup_options_name_the_field(change, message):
    raw = tiny_circuit()
    for key, value in change.items():
        raw[key] = {**raw[key], **value} if isinstance(raw.get(key), dict) and key != "rule" else value
    with pytest.raises(SpikefaError) as err:
        circuit_from_dict(raw, "x.yaml")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_the_authors_setups_say_what_they_are_and_round_trip(tmp_path):
    for rule in ("backprop", "fa", "weight_mirror", "kolen_pollack"):
        c = load_circuit(ROOT / "circuits" / f"akrout_mnist_{rule}.yaml")
        assert c.network.output == "sigmoid" and c.network.loss == "binary_cross_entropy"
        assert c.network.init.dist == c.network.bias_init.dist == "xavier_normal"
        o = c.optimizer
        assert (o.batch_size, o.momentum, o.weight_decay, o.shuffle, o.drop_last) == (128, 0, 0, False, True)
        assert o.bias_lr == pytest.approx(o.lr / 128) and c.input_feedback
        (tmp_path / "c.yaml").write_text(yaml.safe_dump(c.to_dict()))
        assert load_circuit(tmp_path / "c.yaml") == c
    m = load_circuit(ROOT / "circuits" / "akrout_mnist_weight_mirror.yaml").rule.mirror
    assert (m.noise, m.response, m.decay, m.batch_size) == ("uniform", "rate", 0.0, 128)
