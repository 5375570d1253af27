"""Recordings while a circuit learns and mirrors: windows of every state variable, spikes and
population rates, read without changing a number, saved across checkpoints so a resumed run records
what an uninterrupted one does."""

import numpy as np
import pytest

from spikefa import SpikefaError, build, load_circuit, load_run, run_circuit
from tests.conftest import ROOT, interrupted_and_whole

LIF = ROOT / "circuits" / "brian_digits_lif_fa.yaml"
# numpy: recordings are not about a target, and a circuit with monitors would compile Cython modules of its own
SHORT = [
    "phases.0.learn.epochs=2",
    "task.n_train=50",
    "task.n_test=10",
    "optimizer.batch_size=25",
    "brian.target=numpy",
]
MONITOR = (
    "brian.monitor={layers: [1, 2], variables: [v, delta_local, err, spikes, rate], when: [learning, test], "
    "every: 25, window: 2, examples: 3}"
)


def test_learning_windows_record_every_variable_and_change_no_number(tmp_path):
    plain = load_run(run_circuit(load_circuit(LIF, SHORT), tmp_path / "plain", progress=False).path)
    run = load_run(run_circuit(load_circuit(LIF, [*SHORT, MONITOR]), tmp_path / "rec", progress=False).path)
    assert (tmp_path / "rec" / "metrics.csv").read_bytes() == (tmp_path / "plain" / "metrics.csv").read_bytes()
    np.testing.assert_array_equal(run.weights["W0"], plain.weights["W0"])
    m = run.monitors
    windows = sorted(set(m["learning_index"]))
    assert windows == [0, 1, 25, 26, 50, 51, 75, 76]  # 2 examples of every 25, of 100
    steps = len(m["learning_t"])
    assert steps == len(windows) * 120  # 60 ms per example at dt = 0.5 ms
    assert m["learning_layer1_v"].shape == (100, steps) and m["learning_layer1_delta_local"].shape == (100, steps)
    assert "learning_layer2_delta_local" not in m and m["learning_layer2_err"].shape == (10, steps)
    assert np.ptp(m["learning_layer1_delta_local"]) > 0  # errors reached the hidden layer while it learned
    spikes_t = m["learning_layer1_spikes_t"]
    assert len(spikes_t) > 100 and np.all(np.isin(np.round(spikes_t, 6), np.round(m["learning_t"], 6)))
    rate = m["learning_layer1_rate"]
    assert rate.shape == (steps,) and rate.sum() * 0.0005 * 100 == pytest.approx(len(spikes_t))
    assert m["layer1_v"].shape[0] == 100 and "layer1_rate" in m  # the test recording, as before


def test_a_resumed_run_records_what_an_uninterrupted_one_does(tmp_path, monkeypatch):
    c = load_circuit(LIF, [*SHORT, MONITOR])
    whole, cut = interrupted_and_whole(c, tmp_path, monkeypatch, die_at=2)
    a, b = load_run(whole).monitors, load_run(cut).monitors
    assert sorted(a) == sorted(b)
    for key in a:  # the test recording's times come from Brian2's clock: equal to rounding
        np.testing.assert_allclose(a[key], b[key], rtol=0, atol=1e-12, err_msg=key)
    assert not list(cut.glob("monitors.part.*"))


@pytest.mark.parametrize("plasticity", ["kernels", "code"])
def test_mirror_windows_in_a_rate_circuit(tmp_path, plasticity):
    c = load_circuit(
        ROOT / "circuits" / "brian_digits_weight_mirror.yaml",
        [
            "phases.0.mirror.steps=2",
            "phases.1.learn.epochs=1",
            "task.n_train=100",
            "rule.mirror.steps_per_batch=1",
            "brian.target=numpy",
            "brian.monitor={layers: [layer1, layer2], variables: [r, I_ff], when: [mirror], every: 64, window: 4}",
            f"brian.plasticity={plasticity}",
        ],
    )
    m = load_run(run_circuit(c, tmp_path / "wm", progress=False).path).monitors
    # 2 mirror steps of 128 samples, then 1 interleaved step: samples 0-383, a window of 4 every 64
    assert sorted(set(m["mirror_index"])) == [i + k for i in range(0, 384, 64) for k in range(4)]
    assert m["mirror_layer1_r"].shape == (100, 24) and m["mirror_layer2_I_ff"].shape == (10, 24)
    assert "layer1_r" not in m  # no test recording was asked for


@pytest.mark.parametrize(
    "monitor, message",
    [
        ("{layers: [1], variables: [nope]}", "brian.monitor.variables: 'nope' is a variable of none of them"),
        ("{layers: [relay], variables: [v]}", "brian.monitor.layers: no population 'relay'; the circuit has layer0"),
        ("{layers: [1], variables: [spikes]}", "brian.monitor.variables: spikes needs a spiking population"),
        ("{layers: [1], when: [mirror]}", "brian.monitor.when: mirror, but this circuit has no mirror phase"),
        ("{layers: [1], when: [always]}", "brian.monitor.when: unknown value 'always'; allowed: test, learning"),
        ("{layers: [1], every: 10, window: 20}", "brian.monitor.window: must be at most every (10), got 20"),
    ],
)
def test_bad_monitors_are_refused_before_anything_runs(monitor, message):
    with pytest.raises(SpikefaError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build("brian_digits_fa", overrides=[f"brian.monitor={monitor}"])


def test_spikefa_plot_draws_what_the_monitors_recorded(tmp_path, spikefa_cli):
    c = load_circuit(LIF, [*SHORT, "phases.0.learn.epochs=1", MONITOR])
    out = run_circuit(c, tmp_path / "run", progress=False).path
    r = spikefa_cli("plot", out)
    assert r.returncode == 0, r.stderr
    for name in ("training.png", "activity-test.png", "activity-learning.png"):
        assert (out / name).stat().st_size > 20000, name
    r = spikefa_cli("plot", out, "--activity", "mirror")
    assert r.returncode == 2 and r.stderr.strip().endswith(
        "no 'mirror' recording in monitors.npz; it has test, learning"
    )


def test_recordings_are_exported_to_nwb_that_nwbinspector_accepts(tmp_path):
    pynwb = pytest.importorskip("pynwb")
    nwbinspector = pytest.importorskip("nwbinspector")
    c = load_circuit(LIF, [*SHORT, "phases.0.learn.epochs=1", MONITOR])
    out = run_circuit(c, tmp_path / "run", progress=False).path
    m = load_run(out).monitors
    with pynwb.NWBHDF5IO(str(out / "monitors.nwb"), "r") as io:
        nwb = io.read()
        units = nwb.units.to_dataframe()
        row = units[(units.population == "layer1") & (units.neuron == 3) & (units.recording == "learning")].iloc[0]
        i, t = m["learning_layer1_spikes_i"], m["learning_layer1_spikes_t"]
        np.testing.assert_allclose(row.spike_times, np.sort(t[i == 3]))
        assert len(units[units.recording == "test"]) == 100 + 10  # every neuron of layers 1 and 2
        np.testing.assert_array_equal(nwb.acquisition["learning_layer1_v"].data[:], m["learning_layer1_v"].T)
        np.testing.assert_array_equal(nwb.acquisition["learning_layer1_v"].timestamps[:], m["learning_t"])
        assert nwb.acquisition["test_layer2_err"].rate == pytest.approx(2000)
        metrics = nwb.processing["learning"]["metrics"].to_dataframe()
        np.testing.assert_allclose(metrics["angle_B1"], load_run(out).metrics["angle_B1"])
    issues = list(nwbinspector.inspect_nwbfile(nwbfile_path=str(out / "monitors.nwb")))
    severe = [x for x in issues if x.importance.name in ("CRITICAL", "PYNWB_VALIDATION", "ERROR")]
    assert not severe, severe


def test_a_checkpoint_inside_a_recorded_window_keeps_the_recorder_going():
    """A checkpoint (which takes what was recorded) may fall inside a window: the next step still records."""
    from types import SimpleNamespace

    from spikefa.brian.recording import Recorder

    count = np.zeros(3)

    class Group(SimpleNamespace):  # what the recorder reads of a population: its spike count
        def __len__(self):
            return len(count)

    group = Group(variables={"count": SimpleNamespace(get_value=lambda: count)})
    rec = Recorder({"layer1": group}, ("spikes",), every=10, window=5, dt=1e-3)
    rec.sample(0, 0.0, 0.01)
    count[1] += 1
    rec.spikes()
    rec.arrays("learning")  # a checkpoint between two steps of the window
    rec.sample(1, 0.0, 0.01)
    rec.spikes()
    rec.sample(2, 0.0, 0.01)
    assert len(rec.arrays("learning")["learning_t"]) == 2


def test_generated_code_records_what_the_python_schedule_records(tmp_path):
    """With the schedule and plasticity as Brian2 code (a runtime target), the same windows, spikes and
    test recording as the Python schedule's, number for number."""
    monitors = {}
    for plasticity in ("kernels", "code"):
        c = load_circuit(LIF, [*SHORT, MONITOR, f"brian.plasticity={plasticity}"])
        monitors[plasticity] = load_run(run_circuit(c, tmp_path / plasticity, progress=False).path).monitors
    python, code = monitors["kernels"], monitors["code"]
    assert sorted(code) == sorted(python) and len(python["learning_t"]) == 8 * 120
    for key, value in python.items():
        np.testing.assert_allclose(code[key], value, rtol=1e-9, atol=1e-12, err_msg=key)


def test_generated_code_records_a_spiking_mirror_phase_as_the_python_schedule_does(tmp_path):
    """The spiking weight mirror's noise samples (one 0.5 ms step each; segments of 10 mirror steps, each
    begun by rest), recorded in generated code as on the Python schedule."""
    monitors = {}
    for plasticity in ("kernels", "code"):
        c = load_circuit(
            ROOT / "circuits" / "brian_digits_lif_mirror.yaml",
            [
                "phases=[{mirror: {steps: 12}}]",
                "task.n_test=10",
                "brian.target=numpy",
                f"brian.plasticity={plasticity}",
                "brian.monitor={layers: [1, 2], variables: [v, rm, spikes, rate], when: [mirror], "
                "every: 500, window: 40}",
            ],
        )
        monitors[plasticity] = load_run(run_circuit(c, tmp_path / plasticity, progress=False).path).monitors
    python, code = monitors["kernels"], monitors["code"]
    # 12 steps of 128 samples: samples 0-1535, 40 of every 500, in two segments (10 steps, then 2)
    windows = [i + k for i in range(0, 1536, 500) for k in range(40) if i + k < 1536]
    assert sorted(set(python["mirror_index"])) == windows
    assert len(python["mirror_layer1_spikes_t"]) > 0 and sorted(code) == sorted(python)
    for key, value in python.items():
        np.testing.assert_allclose(code[key], value, rtol=1e-9, atol=1e-12, err_msg=key)
