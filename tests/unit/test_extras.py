"""A lean install: Dask (sweeps) and NWB are optional parts, and their absence is one line naming the extra."""

import importlib
import sys

import pytest

from spikefa import SpikefaError
from spikefa.cli import main


def test_sweeps_without_dask_name_the_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if Dask were not installed
    monkeypatch.delitem(sys.modules, "spikefa.sweeps", raising=False)
    with pytest.raises(SpikefaError, match=r"pip install 'spikefa\[sweeps\]'"):
        importlib.import_module("spikefa.sweeps")
    assert main(["sweep", "digits_fa", "--seeds", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "spikefa[sweeps]" in err


def test_monitors_without_pynwb_name_the_extra(monkeypatch, tmp_path):
    from spikefa import nwb

    monkeypatch.setitem(sys.modules, "pynwb", None)
    with pytest.raises(SpikefaError, match=r"monitors.nwb needs .*pip install 'spikefa\[nwb\]'"):
        nwb.export(tmp_path)
