"""The release: an sdist and a wheel built from it pass ``twine check``, and the installed wheel alone (its own
code and bundled circuit files, outside the repository) runs a circuit by name."""

import os
import subprocess
import sys
import zipfile

from tests.conftest import ROOT


def run(*args, **kwargs):
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done


def test_the_wheel_built_from_the_sdist_passes_twine_and_runs_a_bundled_circuit(tmp_path):
    dist = tmp_path / "dist"
    run("-m", "build", "--no-isolation", "--outdir", str(dist), str(ROOT))  # the sdist, then the wheel from it
    wheel, sdist = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    assert len(wheel) == 1 and len(sdist) == 1
    run("-m", "twine", "check", "--strict", str(wheel[0]), str(sdist[0]))
    names = zipfile.ZipFile(wheel[0]).namelist()
    bundled = {p.relative_to(ROOT).as_posix() for p in (ROOT / "circuits").rglob("*.yaml")}
    assert {f"spikefa/{p}" for p in bundled} <= set(names)
    packages = {p.relative_to(ROOT).as_posix() for p in (ROOT / "spikefa").rglob("__init__.py")}
    assert packages <= set(names), "a package pyproject.toml's list leaves out"

    site = tmp_path / "site"
    run("-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target", str(site), str(wheel[0]))
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = run("-c", "import spikefa; print(spikefa.__file__)", cwd=tmp_path, env=env).stdout
    assert where.startswith(str(site)), where
    run("-m", "spikefa.cli", "--version", cwd=tmp_path, env=env)
    out = tmp_path / "run"
    args = ["-m", "spikefa.cli", "run", "digits_fa", "--set", "phases.0.learn.epochs=1", "--out", str(out), "--quiet"]
    run(*args, cwd=tmp_path, env=env)
    assert (out / "metrics.csv").is_file() and (out / "training.png").is_file()
