"""The spikefa command as a user meets it: run folders, summaries, one-line errors, exit codes."""

import numpy as np

from spikefa import load_run, spec


def test_run_writes_a_complete_run_folder(spikefa_cli, tmp_path):
    out = tmp_path / "run"
    r = spikefa_cli("run", "digits_fa", "--set", "phases.0.learn.epochs=3", "--out", out)
    assert r.returncode == 0, r.stderr
    assert "test accuracy" in r.stdout and str(out) in r.stdout
    for name in ("config.yaml", "metrics.csv", "weights.npz", "checkpoint.npz", "summary.json", "training.png"):
        assert (out / name).stat().st_size > 0, name
    run = load_run(out)
    assert run.summary["status"] == "complete"
    assert list(run.metrics["epoch"]) == [0, 1, 2, 3]
    assert run.weights["W0"].shape == (100, 64) and run.weights["B1"].shape == (100, 10)
    assert run.circuit.rule.name == "feedback_alignment" and run.circuit.phases[0].epochs == 3
    assert run.metrics["test_acc"].iloc[-1] > 0.8
    assert {"angle_B1", "angle_dW0", "norm_W0", "norm_B1", "train_loss", "test_loss"} <= set(run.metrics.columns)


def test_version_is_the_installed_packages(spikefa_cli):
    from importlib.metadata import version

    r = spikefa_cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"spikefa {version('spikefa')}"


def test_plot_and_list(spikefa_cli, tmp_path):
    out = tmp_path / "run"
    assert spikefa_cli("run", "digits_backprop", "--set", "phases.0.learn.epochs=1", "--out", out).returncode == 0
    (out / "training.png").unlink()
    r = spikefa_cli("plot", out)
    assert r.returncode == 0 and (out / "training.png").stat().st_size > 10_000
    r = spikefa_cli("list")
    assert r.returncode == 0
    for rule in (*spec.RULES, "digits_fa", "lillicrap_linear", "brian_digits_fa"):
        assert rule in r.stdout


def test_bad_input_is_one_line_exit_2_and_keeps_existing_results(spikefa_cli, tmp_path):
    out = tmp_path / "run"
    assert spikefa_cli("run", "digits_fa", "--set", "phases.0.learn.epochs=1", "--out", out).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("network: {sizes: [64, 10\n")
    cases = [
        (["digits_fa", "--set", "rule=hebbian"], "rule.name: unknown value 'hebbian'; allowed: shallow, backprop"),
        (["digits_fa", "--set", "network.sizes=[60, 100, 10]"], "network.sizes: [60, 100, 10] must start with 64"),
        (["digits_fa", "--set", "optimizer.lr=-1"], "optimizer.lr: must be > 0, got -1.0"),
        ([bad_yaml], "bad.yaml: malformed YAML (line"),
        ([tmp_path / "nothing.yaml"], "nothing.yaml: no such circuit file"),
        (
            ["digits_fa", "--set", "task=mnist", "--set", "network.sizes=[784,10]", "--data-dir", tmp_path],
            "train-images-idx3-ubyte.gz: MNIST file not found",
        ),
        (["digits_fa", "--set", "optimizer.lr=0.1"], "holds a run of a different circuit"),
    ]
    for args, message in cases:
        r = spikefa_cli("run", *args, "--out", out)
        assert r.returncode == 2, (args, r.stderr)
        assert message in r.stderr, (message, r.stderr)
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    r = spikefa_cli("--debug", "run", "digits_fa", "--set", "rule=hebbian", "--out", out)
    assert r.returncode == 1 and "Traceback" in r.stderr


def test_diverging_run_stops_with_exit_3_and_keeps_metrics(spikefa_cli, tmp_path):
    out = tmp_path / "run"
    r = spikefa_cli(
        "run", "lillicrap_linear", "--set", "optimizer.lr=5", "--set", "record.every=5", "--out", out, "--quiet"
    )
    assert r.returncode == 3, r.stderr
    assert "diverged" in r.stderr and "lower optimizer.lr" in r.stderr
    run = load_run(out)
    assert run.summary["status"] == "diverged" and len(run.metrics) >= 2
    assert np.isfinite(run.metrics["test_nse"].iloc[0])
