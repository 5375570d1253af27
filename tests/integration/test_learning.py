"""Small circuits that must learn (each a few seconds)."""

import pytest

from spikefa import load_circuit, load_run, run_circuit
from spikefa.tasks import load_task
from tests.conftest import MNIST, ROOT

CIRCUITS = ROOT / "circuits"


@pytest.mark.parametrize(
    "file, least",
    [
        ("digits_backprop", 0.97),
        ("digits_fa", 0.965),
        ("digits_dfa", 0.95),
        ("digits_sign_symmetry", 0.95),
        ("digits_weight_mirror", 0.95),
        ("digits_kolen_pollack", 0.95),
        ("digits_local_classifiers", 0.95),
    ],
)
def test_every_rule_learns_the_digits(tmp_path, file, least):
    run = load_run(run_circuit(load_circuit(CIRCUITS / f"{file}.yaml"), tmp_path / file, progress=False).path)
    m = run.metrics
    assert m["test_acc"].iloc[-1] >= least
    if "angle_B1" in m and file not in ("digits_backprop", "digits_sign_symmetry"):
        assert m["angle_B1"].iloc[0] > 80  # random feedback starts near orthogonal to Wᵀ ...
        limit = {"digits_weight_mirror": 12, "digits_kolen_pollack": 8}.get(file, 85)
        assert m["angle_B1"].iloc[-1] < limit  # ... and the forward weights (or B) come to align


def test_feedback_alignment_learns_the_linear_teacher(tmp_path):
    run = load_run(run_circuit(load_circuit(CIRCUITS / "lillicrap_linear.yaml"), tmp_path / "fa", progress=False).path)
    m = run.metrics
    assert m["test_nse"].iloc[0] > 0.9 and m["test_nse"].iloc[-1] < 1e-6
    assert m["angle_dW0"].iloc[1:].max() < 90  # Lillicrap Fig. 2: FA's hidden updates within 90° of BP's
    assert m["angle_dW0"].iloc[-5:].mean() < 45


def test_nonlinear_teacher_fa_tracks_backprop(tmp_path):
    fa = load_run(
        run_circuit(load_circuit(CIRCUITS / "lillicrap_nonlinear.yaml"), tmp_path / "fa", progress=False).path
    ).metrics
    bp = load_run(
        run_circuit(
            load_circuit(CIRCUITS / "lillicrap_nonlinear.yaml", ["rule=backprop"]), tmp_path / "bp", progress=False
        ).path
    ).metrics
    assert fa["test_nse"].iloc[-1] < 0.3 * fa["test_nse"].iloc[0]
    assert fa["test_nse"].iloc[-1] < 1.5 * bp["test_nse"].iloc[-1]


def test_noise_pretraining_aligns_forward_weights_to_feedback(tmp_path):
    c = load_circuit(
        CIRCUITS / "digits_fa.yaml",
        ["phases=[{noise_pretrain: {epochs: 10, samples_per_epoch: 4000}}, {learn: {epochs: 5}}]"],
    )
    m = load_run(run_circuit(c, tmp_path / "np", progress=False).path).metrics
    noise = m[m["kind"] == "noise_pretrain"]
    assert noise["angle_B1"].iloc[0] > 80 and noise["angle_B1"].iloc[-1] < 60  # Cheon et al. 2024: W aligns to B
    assert m["test_acc"].iloc[-1] > 0.9


def test_float32_learns_as_well(tmp_path):
    c = load_circuit(CIRCUITS / "digits_fa.yaml", ["dtype=float32", "phases.0.learn.epochs=20"])
    c64 = load_circuit(CIRCUITS / "digits_fa.yaml", ["phases.0.learn.epochs=20"])
    a32 = load_run(run_circuit(c, tmp_path / "f32", progress=False).path).metrics["test_acc"].iloc[-1]
    a64 = load_run(run_circuit(c64, tmp_path / "f64", progress=False).path).metrics["test_acc"].iloc[-1]
    assert abs(a32 - a64) <= 0.01


@pytest.mark.skipif(not MNIST.is_dir(), reason="MNIST files not found (../shared/data/mnist or SPIKEFA_DATA)")
def test_mnist_from_idx_files(tmp_path):
    c = load_circuit(
        CIRCUITS / "mnist_backprop.yaml",
        ["task.n_train=6000", "task.n_test=2000", "phases.0.learn.epochs=2", f"task.data_dir={MNIST}"],
    )
    data = load_task(c.task, None)
    assert data.x_train.shape == (6000, 784) and data.x_test.shape == (2000, 784)
    m = load_run(run_circuit(c, tmp_path / "mnist", progress=False).path).metrics
    assert m["test_acc"].iloc[-1] > 0.85


def test_mnist1d_mlp_learns_beyond_a_linear_readout(tmp_path):
    # published on MNIST-1D: logistic regression 32 %, an MLP 68 % (Greydanus 2020)
    c = load_circuit(
        CIRCUITS / "feedback_fails_mnist1d.yaml",
        ["network.sizes=[40, 100, 100, 10]", "rule=backprop", "phases.0.learn.epochs=20"],
    )
    m = load_run(run_circuit(c, tmp_path / "mnist1d", progress=False).path).metrics
    assert m["test_acc"].iloc[-1] > 0.5


@pytest.mark.skipif(not MNIST.is_dir(), reason="MNIST files not found (../shared/data/mnist or SPIKEFA_DATA)")
def test_tuned_weight_mirror_keeps_its_weights_and_confidence_bounded(tmp_path):
    """At a constant learning rate the tuned weight mirror once ran away (20,000 MNIST digits, 6 epochs:
    test loss 2.3× backprop's, output weights 1.3× as large, training loss rising): its weight decay
    holds it within backprop's reach, and its feedback stays aligned."""
    short = ["task.n_train=20000", "task.n_test=2000", "phases.-1.learn.epochs=6", "optimizer.schedule=constant"]
    final = {}
    for rule in ("backprop", "weight_mirror"):
        c = load_circuit(CIRCUITS / f"mnist_{rule}.yaml", [*short, f"task.data_dir={MNIST}"])
        final[rule] = load_run(run_circuit(c, tmp_path / rule, progress=False).path).metrics.iloc[-1]
    wm, bp = final["weight_mirror"], final["backprop"]
    assert wm["test_loss"] < 1.5 * bp["test_loss"], (wm["test_loss"], bp["test_loss"])
    assert wm["norm_W1"] < 1.15 * bp["norm_W1"] and wm["norm_W0"] < 1.15 * bp["norm_W0"]
    assert wm["angle_B1"] < 6.0 and wm["test_acc"] > bp["test_acc"] - 0.01
