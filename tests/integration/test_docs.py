"""The documentation site builds with warnings as errors, executing the tutorial notebook on the digits."""

import subprocess
import sys

from tests.conftest import ROOT


def test_docs_build_without_warnings_and_run_the_tutorial(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(ROOT / "docs"),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    html = tmp_path / "html"
    for page in ("index", "getting-started", "tutorial", "reference/circuit-file", "reference/api", "guide/spiking"):
        assert (html / f"{page}.html").is_file(), page
    tutorial = (html / "tutorial.html").read_text()
    assert "test accuracy" in tutorial and "<img" in tutorial  # the notebook ran: its numbers and its figure
    assert "feedback.sign: unknown value" in tutorial
    assert "brian.lif" in (html / "reference" / "circuit-file.html").read_text()
