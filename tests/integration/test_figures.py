"""Every paper figure renders on its quick configuration: PNG and PDF written, the PNG a real image."""

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from spikefa.cli import main
from spikefa.figures import FIGURES, Runner, make_figure
from tests.conftest import MNIST, ROOT

NEEDS_MNIST = {"mnist-rules", "noise-pretraining", "local-classifiers"}

pytestmark = pytest.mark.slow  # every figure runs its circuits


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    return Runner(tmp_path_factory.mktemp("runs"), ROOT / "circuits", str(MNIST), quick=True, progress=False)


@pytest.mark.parametrize("name", list(FIGURES))
def test_figure_renders(name, runner, tmp_path):
    if name in NEEDS_MNIST and not (MNIST / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip("MNIST IDX files not found")
    png, pdf, *table = make_figure(name, runner, tmp_path)
    assert png == tmp_path / f"{name}.png" and pdf.suffix == ".pdf"
    if table:  # a figure's numbers, one row per point drawn
        assert pd.read_csv(table[0]).notna().all().all()
    assert pdf.stat().st_size > 5000 and pdf.read_bytes().startswith(b"%PDF")
    image = matplotlib.image.imread(png)
    assert image.shape[1] >= 900 and np.std(image[..., :3]) > 0.05  # 3.4 in at 300 dpi, not blank


def test_a_redrawn_figure_is_the_same_file(runner, tmp_path):
    # no creation date in the PDF: `spikefa figure` leaves a tracked figure unchanged when nothing changed
    first = make_figure("feedback-alignment-linear", runner, tmp_path / "a")
    again = make_figure("feedback-alignment-linear", runner, tmp_path / "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in again]


def test_unknown_figure_is_one_line_exit_2(capsys):
    assert main(["figure", "fig-99"]) == 2
    err = capsys.readouterr().err
    assert "unknown figure 'fig-99'; allowed: feedback-alignment-linear" in err and err.count("\n") == 1
