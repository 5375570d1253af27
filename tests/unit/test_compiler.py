"""SPIKEFA_OPT_LEVEL: the -O Brian2 compiles at and the Cython cache folder of each level (no compiler
needed here; tests/integration/test_brian_equivalence.py compiles at two levels and gets the same numbers)."""

import pytest
from brian2 import prefs

from spikefa import SpikefaError
from spikefa.brian.compiler import ENV, apply_opt_level
from tests.conftest import COMPILER_PREFS as PREFS


def test_a_level_replaces_the_o_flag_and_compiles_into_a_cache_folder_of_its_own(brian_prefs, monkeypatch):
    prefs["codegen.cpp.extra_compile_args_gcc"] = ["-w", "-O3", "-ffast-math", "-march=native"]
    prefs["codegen.runtime.cython.cache_dir"] = "/somewhere/brian_extensions"
    monkeypatch.setenv(ENV, "0")
    assert apply_opt_level() == 0
    assert apply_opt_level() == 0  # each circuit applies it: the same flags and folder again
    assert prefs["codegen.cpp.extra_compile_args_gcc"] == ["-w", "-ffast-math", "-march=native", "-O0"]
    assert prefs["codegen.runtime.cython.cache_dir"] == "/somewhere/brian_extensions-O0"
    monkeypatch.setenv(ENV, "2")
    apply_opt_level()
    assert prefs["codegen.cpp.extra_compile_args_gcc"] == ["-w", "-ffast-math", "-march=native", "-O2"]
    assert prefs["codegen.runtime.cython.cache_dir"] == "/somewhere/brian_extensions-O2"


def test_a_users_own_flags_are_the_ones_changed(brian_prefs, monkeypatch):
    prefs["codegen.cpp.extra_compile_args"] = ["-Ofast", "-g"]
    gcc = list(prefs["codegen.cpp.extra_compile_args_gcc"])
    monkeypatch.setenv(ENV, "1")
    apply_opt_level()
    assert prefs["codegen.cpp.extra_compile_args"] == ["-g", "-O1"]
    assert prefs["codegen.cpp.extra_compile_args_gcc"] == gcc  # not what Brian2 compiles with here


def test_unset_leaves_brians_preferences_alone(brian_prefs, monkeypatch):
    before = {name: prefs[name] for name in PREFS}
    monkeypatch.delenv(ENV, raising=False)
    assert apply_opt_level() is None
    assert {name: prefs[name] for name in PREFS} == before


@pytest.mark.parametrize("value", ["fast", "4", "-O2"])
def test_another_value_is_one_line_naming_the_variable(value, brian_prefs, monkeypatch):
    monkeypatch.setenv(ENV, value)
    allowed = "allowed: 0, 1, 2, 3"
    with pytest.raises(SpikefaError, match=rf"^SPIKEFA_OPT_LEVEL: '{value}' is not an optimisation level; {allowed}"):
        apply_opt_level()
