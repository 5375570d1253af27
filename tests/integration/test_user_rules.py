"""A user's learning rule, loaded from outside the package (a file or an importable module), runs in
both engines — the Brian2 rate circuit computing what the reference engine does — and on sparse,
sign-constrained pathways."""

import subprocess
import sys

import numpy as np
import pandas as pd

from spikefa import circuit_from_dict, load_run
from spikefa.brian import RateCircuit
from spikefa.cli import main
from spikefa.reference import ReferenceEngine
from tests.conftest import ROOT, tiny_circuit

RULE = '''
from spikefa.rules import Rule


class AntiHebbian(Rule):
    """Feedback synapses: dB = -eta h delta^T - lambda B."""

    topology = "layerwise"
    learns_feedback = True
    parameters = {"lr": 0.05, "decay": 0.001}

    def after_step(self, params, step):
        for l in range(1, len(params.B)):
            params.B[l] *= 1 - self.parameters["decay"]
            params.B[l] -= self.parameters["lr"] * (step.H[l].T @ step.deltas[l + 1])
'''


def circuit_file(folder, rule_name, **fields):
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        "seed: 1",
        "network: {sizes: [64, 30, 10], hidden: tanh}",
        "task: {name: digits, n_train: 600, n_test: 300}",
        f"rule: {{name: '{rule_name}', params: {{lr: 0.05}}}}",
        "optimizer: {lr: 0.05, batch_size: 10}",
        "phases: [{learn: {epochs: 4}}]",
        *(f"{k}: {v}" for k, v in fields.items()),
    ]
    path = folder / "hypothesis.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_rule_in_a_users_file_learns_and_aligns_its_feedback(tmp_path):
    (tmp_path / "lab" / "rules").mkdir(parents=True)
    (tmp_path / "lab" / "rules" / "anti_hebbian.py").write_text(RULE)
    path = circuit_file(tmp_path / "lab" / "circuits", "../rules/anti_hebbian.py:AntiHebbian")
    assert main(["run", str(path), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    run = load_run(tmp_path / "run")
    assert run.circuit.rule.params == {"lr": 0.05, "decay": 0.001}  # the declared defaults, filled in
    assert run.config["rule"]["name"] == f"{tmp_path / 'lab' / 'rules' / 'anti_hebbian.py'}:AntiHebbian"
    m = run.metrics
    assert m["test_acc"].iloc[-1] > 0.85
    assert m["angle_B1"].iloc[0] > 80 and m["angle_B1"].iloc[-1] < 60  # B followed W: it aligned
    # the resolved config names the file absolutely: the folder resumes from anywhere
    assert main(["run", str(tmp_path / "run" / "config.yaml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0


def test_a_rule_in_an_importable_module_runs_from_the_command_line(tmp_path):
    (tmp_path / "mylab").mkdir()
    (tmp_path / "mylab" / "__init__.py").write_text("")
    (tmp_path / "mylab" / "rules.py").write_text(RULE)
    path = circuit_file(tmp_path, "mylab.rules:AntiHebbian", feedback="{connectivity: 0.5, sign: negative}")
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    r = subprocess.run(
        [sys.executable, "-m", "spikefa.cli", "run", str(path), "--out", str(tmp_path / "run"), "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    weights = np.load(tmp_path / "run" / "weights.npz")
    B = weights["B1"]
    assert np.all(B <= 0) and 0.3 < np.mean(B != 0) < 0.55  # sparse, and its sign held
    assert pd.read_csv(tmp_path / "run" / "metrics.csv")["test_acc"].iloc[-1] > 0.6


def test_a_users_rule_in_a_brian2_circuit_computes_what_the_reference_engine_does(tmp_path):
    (tmp_path / "anti_hebbian.py").write_text(RULE)
    raw = tiny_circuit(f"{tmp_path / 'anti_hebbian.py'}:AntiHebbian", (6, 5, 4, 3), optimizer={"lr": 0.1})
    raw["feedback"] = {"connectivity": 0.6}
    circuit = circuit_from_dict(raw)
    reference = ReferenceEngine(circuit, np.random.default_rng(4))
    brian = RateCircuit(ReferenceEngine(circuit, np.random.default_rng(4)), target="numpy")
    x, y = np.random.default_rng(1).standard_normal((4, 6)), np.eye(3)[[0, 2, 1, 1]]
    brian.present(x, y, 0.1, np.random.default_rng(0))
    for k in range(4):
        A, H = reference.forward(x[k : k + 1])
        reference.learn(H, reference.deltas(A, H, y[k : k + 1]), 0.1, np.random.default_rng(0))
    for l in (1, 2):
        syn, B = brian.feedback[l], reference.params.B[l]
        assert np.all(B[~reference.structure.masks[l]] == 0) and len(syn) == reference.structure.masks[l].sum()
        np.testing.assert_allclose(syn.w[:], B[syn.j[:], syn.i[:]], rtol=1e-6, atol=1e-12)
