"""Bad input as a new user gives it: one line of at most 300 characters naming the file or field,
exit code 2, no traceback, and an existing run folder left byte for byte as it was."""

import os
import re
import subprocess
import sys
import time

import pytest

from spikefa import load_circuit
from spikefa.cli import main
from tests.conftest import ROOT

BASE = (ROOT / "circuits" / "digits_fa.yaml").read_text()
DUPLICATE_LINE = BASE.count("\n") + 1  # the line of a key appended to BASE
BOMB = (
    "".join(
        f"{a}: &{a} [{', '.join([f'*{p}'] * 9) if p else ', '.join('x' * 9)}]\n"
        for p, a in zip(["", *"abcdefgh"], "abcdefghi")
    )
    + "network: {sizes: *i}\n"
)


def files(tmp_path):
    """name → path of the bad circuit files the cases below use."""
    made = {
        "latin1.yaml": BASE.replace("description:", "description: café", 1).encode("latin-1"),
        "binary.yaml": bytes(range(256)) * 4,
        "duplicate.yaml": (BASE + "optimizer:\n  lr: 0.1\n").encode(),
        "nan.yaml": BASE.replace("  lr:", "  lr: .nan #", 1).encode(),
        "inf.yaml": BASE.replace("  lr:", "  lr: -.inf #", 1).encode(),
        "bomb.yaml": BOMB.encode(),
        "huge.yaml": BASE.replace("description:", "description: " + "x" * 1_100_000 + " #", 1).encode(),
        "long_description.yaml": BASE.replace("description:", "description: " + "y" * 5000 + " #", 1).encode(),
        "empty.yaml": b"",
        "tabs.yaml": b"network:\n\tsizes: [64, 10]\n",
        "a_file": b"x",
        "not_a_rule.py": b"class NotARule:\n    pass\n",
        "broken_rule.py": b"import no_such_module_anywhere\n",
    }
    for name, data in made.items():
        (tmp_path / name).write_bytes(data)
    return {name: str(tmp_path / name) for name in made}


CASES = [
    # (args, message): {name} is replaced by the path of files()[name]
    (["{latin1.yaml}"], "latin1.yaml: not UTF-8 text (byte 0xe9 on line 1)"),
    (["{binary.yaml}"], "binary.yaml: not UTF-8 text"),
    (["{empty.yaml}"], "empty.yaml: must be a YAML mapping of circuit fields, got None"),
    (["{tabs.yaml}"], "tabs.yaml: malformed YAML (line 2, column 1)"),
    (
        ["{duplicate.yaml}"],
        f"duplicate.yaml: malformed YAML (line {DUPLICATE_LINE}, column 1): duplicate key 'optimizer' (first on",
    ),
    (["{bomb.yaml}"], "bomb.yaml: more than 10000 values once its anchors and aliases are expanded"),
    (["{huge.yaml}"], "huge.yaml: larger than 1024 KiB"),
    (["{long_description.yaml}"], "description: must be at most 2000 characters, got 5000"),
    (["{nan.yaml}"], "nan.yaml: optimizer.lr: must be a finite number, got nan"),
    (["{inf.yaml}"], "inf.yaml: optimizer.lr: must be a finite number, got -inf"),
    (["digits_fa", "--set", "optimizer.lr=nan"], "optimizer.lr: must be a finite number, got 'nan'"),
    (["digits_fa", "--set", "optimizer.lr=.inf"], "optimizer.lr: must be a finite number, got inf"),
    (["digits_fa", "--set", "network.sizes=[64, 1000000000, 10]"], "network.sizes: this circuit needs about"),
    (
        ["digits_fa", "--set", "task=linear_teacher", "--set", "network.sizes=[30, 10]"]
        + ["--set", "task.n_train=100000000000"],
        "task.n_train / n_test: this circuit needs about",
    ),
    (["digits_fa", "--set", "network.sizes=[" + ", ".join(["64"] * 20000) + "]"], "more than 10000 values"),
    (["digits_fa", "--set", "network.sizes=[64, " + ", ".join(["7"] * 5000) + ", 11]"], "must start with 64 inputs"),
    (["digits_fa", "--set", "x" * 100_000 + "=1"], "unknown field"),
    (["brian_digits_fa", "--set", "brian.dt=1"], "brian.dt: must be a positive time with a unit (s, second, ms, us)"),
    (["brian_digits_fa", "--set", "brian.dt=nan ms"], "brian.dt: must be a positive time with a unit"),
    (["digits_fa", "--out", "/proc/spikefa-run"], "--out /proc/spikefa-run: cannot create the folder"),
    (["digits_fa", "--out", "{a_file}/run"], "a_file/run: cannot create the folder (Not a directory)"),
    (["digits_fa", "--out", "{a_file}"], "a_file: exists and is not a folder"),
    (["digits_fa", "--engine", "nest"], "argument --engine: invalid choice: 'nest'"),
    (["digits_fa", "--threads", "0"], "--threads: must be an integer from 1 to 1024, got 0"),
    (["{a_file}/x.yaml"], "x.yaml: no such circuit file"),
    (["digits_fa", "--set", "phases.5.learn.epochs=1"], "phases.5: index 5 is out of range (the list has 1 items)"),
    # feedback pathways and user rules
    (["digits_fa", "--set", "feedback.connectivity=0"], "feedback.connectivity: must be > 0, got 0.0"),
    (["digits_fa", "--set", "feedback.connectivity=1.5"], "feedback.connectivity: must be <= 1, got 1.5"),
    (
        ["digits_fa", "--set", "feedback.sign=both"],
        "feedback.sign: unknown value 'both'; allowed: free, positive, negative",
    ),
    (["digits_fa", "--set", "feedback.init.dist=cauchy"], "feedback.init.dist: unknown value 'cauchy'"),
    (
        ["digits_fa", "--set", "feedback.init.dist=lognormal", "--set", "feedback.init.scale=1"]
        + ["--set", "feedback.init.sigma=0"],
        "feedback.init.sigma: must be > 0",
    ),
    (["digits_fa", "--set", "feedback.2.sign=positive"], "feedback.2: names no hidden layer; the hidden layers are 1"),
    (
        ["digits_fa", "--set", "feedback.delay=3 ms"],
        "feedback.delay: needs engine: brian2 (the reference engine computes steady states",
    ),
    (["digits_fa", "--set", "feedback.delay=3"], "feedback.delay: must be a non-negative time with a unit"),
    (["digits_fa", "--set", "feedback.strength=3"], "feedback.strength: unknown field; allowed: connectivity, sign"),
    (
        ["brian_digits_lif_fa", "--set", "feedback.delay=20 ms"],
        "feedback.delay: 20 ms is not shorter than brian.error_time 20 ms",
    ),
    (
        ["brian_digits_lif_mirror", "--set", "brian.lif.mirror_trace=5"],
        "brian.lif.mirror_trace: must be a positive time",
    ),
    (["digits_fa", "--set", "rule.feedback_init=xavier"], "rule.feedback_init: moved to the feedback block"),
    (["digits_fa", "--set", "forward.2.connectivity=0.5"], "forward.2: names no forward projection; they are 0 … 1"),
    (["digits_fa", "--set", "forward.init=xavier"], "forward.init: unknown field; allowed: connectivity, sign, delay"),
    (["digits_fa", "--set", "forward.delay=1 ms"], "forward.delay: needs engine: brian2 (the reference engine"),
    (
        ["brian_digits_lif_fa", "--set", "forward.delay=40 ms"],
        "forward.delay: 40 ms is not shorter than brian.forward_time",
    ),
    (["digits_fa", "--set", "rule=no_such_pkg.rules:MyRule"], "rule.name: cannot import 'no_such_pkg.rules'"),
    (["digits_fa", "--set", "rule=spikefa.rules:NoSuchRule"], "'NoSuchRule' in 'spikefa.rules' is not a spikefa.rules"),
    (["digits_fa", "--set", "rule={not_a_rule.py}:NotARule"], "'NotARule' in"),
    (["digits_fa", "--set", "rule={broken_rule.py}:Rule"], "(ModuleNotFoundError: No module named 'no_such_module_"),
    (["digits_fa", "--set", "rule=/no/such/rules.py:Rule"], "rule.name: no such file '/no/such/rules.py'"),
    (["digits_fa", "--set", "rule.params.lr=1"], "rule.params.lr: unknown parameter; allowed: none"),
    # spiking populations' own models
    (["brian_digits_fa", "--set", "brian.populations.hidden.model=alif"], "brian.populations: only for neurons: lif"),
    (["brian_digits_lif_fa", "--set", "brian.populations.hidden.model=izhikevich"], "unknown value 'izhikevich'"),
    (["brian_digits_lif_fa", "--set", "brian.populations.3.model=alif"], "brian.populations.3: names no layer"),
    (["brian_digits_lif_fa", "--set", "brian.populations.1.threshold=v > 1"], "brian.populations.1.equations: missing"),
    (
        ["brian_digits_lif_fa", "--set", "brian.populations.1.equations='dw/dt = -w / tau_m : 1'"],
        "brian.populations.1.equations: must define v",
    ),
    (
        ["brian_digits_lif_fa", "--set", 'brian.populations.1.equations="dv/dt = -v / tau_m : 1\\nr : 1"'],
        "brian.populations.1.equations: defines r, which the circuit provides",
    ),
    (
        ["brian_digits_lif_fa", "--set", "brian.populations.1.equations='dv/dt = (-v + u / tau_m : 1'"],
        "brian.populations.1.equations: not valid Brian2 equations",
    ),
    (
        ["brian_digits_lif_fa", "--set", "brian.populations.1.equations='dv/dt = (-v + u + q) / tau_m : 1'"],
        """brian.populations.1: 'The identifier "q" could not be resolved.'""",
    ),
    (
        ["brian_digits_lif_fa", "--set", "brian.populations.1.equations='dv/dt = (-v + u) / tau_m : volt'"],
        "brian.populations.1: Expression '- v + u' uses inconsistent units",
    ),
    (
        ["brian_digits_lif_fa", "--set", "brian.populations.hidden.model=alif"]
        + ["--set", "brian.populations.hidden.params.tau_a=100 parsecs"],
        "brian.populations.1.params.tau_a: must be a number or a number and one Brian2 unit",
    ),
]


@pytest.fixture
def old_run(tmp_path):
    """A finished run folder that no bad input may touch."""
    out = tmp_path / "old"
    assert main(["run", "digits_fa", "--set", "phases.0.learn.epochs=1", "--out", str(out), "--quiet"]) == 0
    return out


def snapshot(folder):
    return {p.name: (p.read_bytes(), p.stat().st_mode) for p in folder.iterdir()}


def test_every_bad_input_is_one_short_line_exit_2_and_touches_nothing(old_run, tmp_path, capsys):
    paths = files(tmp_path)
    before = snapshot(old_run)
    capsys.readouterr()
    for args, message in CASES:
        args = [re.sub(r"\{([^}]+)\}", lambda m: paths[m.group(1)], a) for a in args]
        if "--out" not in args:
            args += ["--out", str(old_run)]
        start = time.perf_counter()
        try:
            code = main(["run", *args, "--quiet"])
        except SystemExit as exit:  # argparse
            code = exit.code
        seconds = time.perf_counter() - start
        err = capsys.readouterr().err.strip()
        assert code == 2, (args[:3], err)
        assert len(err.splitlines()) == 1 and len(err) <= 300, err[:400]
        assert message in err, (message, err)
        assert "Traceback" not in err and seconds < 5, (args[:3], seconds)
    assert snapshot(old_run) == before
    assert not (tmp_path / "a_file").is_dir()


def test_read_only_out_is_refused(tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o555)
    assert main(["run", "digits_fa", "--out", str(ro / "run"), "--quiet"]) == 2
    assert "cannot create the folder (Permission denied)" in capsys.readouterr().err


def test_numbers_in_scientific_notation_are_numbers(tmp_path):
    f = tmp_path / "sci.yaml"
    f.write_text(BASE.replace("  lr:", "  lr: 1e-3 #", 1).replace("  weight_decay:", "  weight_decay: 5.0E-4 #"))
    c = load_circuit(f, ["rule=weight_mirror", "rule.mirror.lr=1E-2", "rule.mirror.noise_std=2e0"])
    assert c.optimizer.lr == 1e-3 and c.rule.mirror.lr == 0.01 and c.rule.mirror.noise_std == 2.0
    assert load_circuit(f, ["optimizer.lr=1.0e-3"]).optimizer.lr == 0.001
    assert load_circuit(f, ["task.n_train=1E3"]).task.n_train == 1000  # a whole number is an integer


def test_a_circuit_too_large_leaves_no_folder_and_the_folder_stays_usable(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "digits_fa", "--set", "network.sizes=[64, 1000000000, 10]", "--out", str(out)]) == 2
    assert "GB available" in capsys.readouterr().err and not out.exists()
    assert main(["run", "digits_fa", "--set", "phases.0.learn.epochs=1", "--out", str(out), "--quiet"]) == 0


def test_a_large_brian2_cache_adds_no_console_line(tmp_path):
    """Brian2 reports a compiled-code cache over 1 GB at import; a user who compiles much would see two
    lines before every one-line message."""
    cache = tmp_path / ".cython" / "brian_extensions"
    cache.mkdir(parents=True)
    (cache / "large.so").touch()
    os.truncate(cache / "large.so", 1100 * 2**20)  # sparse: its size, not its disk
    env = {k: v for k, v in os.environ.items() if k != "XDG_CACHE_HOME"} | {"HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", "import spikefa.brian"], env=env, capture_output=True, text=True, check=True
    )
    assert done.stderr == ""
