"""Exact integration remembered on disk: the same abstract code Brian2 derives, read back without SymPy,
and keyed by everything the solution reads."""

import numpy as np
import pytest
from brian2 import Network, NeuronGroup, StateMonitor, StateUpdateMethod, ms, prefs

from spikefa.brian import integration

EQS = """
dv/dt = (-v + u) / tau_m : 1 (unless refractory)
du/dt = (-u + b) / tau_syn : 1
dr/dt = -r / tau_trace : 1
b : 1
"""


def state_update(method, eqs=EQS, **namespace):
    """The abstract code a group with ``eqs`` integrates with, after one step (numpy target)."""
    ns = {"tau_m": 10 * ms, "tau_syn": 5 * ms, "tau_trace": 20 * ms} | namespace
    group = NeuronGroup(2, eqs, threshold="v > 1", reset="v = 0", refractory=1 * ms, method=method, namespace=ns)
    group.b = 1.5
    target, prefs.codegen.target = prefs.codegen.target, "numpy"
    try:
        Network(group).run(0.2 * ms)
    finally:
        prefs.codegen.target = target
    return group.state_updater.abstract_code, group.v[:].copy()


def test_cached_exact_integration_is_brians_and_is_read_back_without_solving(tmp_path, monkeypatch):
    monkeypatch.setenv("SPIKEFA_CACHE", str(tmp_path))
    brian, v_brian = state_update("exact")
    first, v_first = state_update(integration.method("exact"))
    assert first == brian and list(v_first) == list(v_brian)
    assert len(list((tmp_path / "integration").iterdir())) == 1

    def unsolvable(*args, **kwargs):
        raise AssertionError("solved again")

    monkeypatch.setitem(StateUpdateMethod.stateupdaters, "exact", unsolvable)
    again, _ = state_update(integration.method("exact"))
    assert again == brian


def test_one_solution_serves_every_value_of_the_constants_and_the_key_reads_the_equations(tmp_path, monkeypatch):
    """Brian2 solves with the constants' names: another tau_m reads the same entry without solving (and
    integrates as Brian2 does at that value); other equations are another entry."""
    monkeypatch.setenv("SPIKEFA_CACHE", str(tmp_path))
    state_update(integration.method("exact"))
    brian, v_brian = state_update("exact", tau_m=12 * ms)
    solve = StateUpdateMethod.stateupdaters["exact"]

    def unsolvable(*args, **kwargs):
        raise AssertionError("solved again")

    monkeypatch.setitem(StateUpdateMethod.stateupdaters, "exact", unsolvable)
    again, v_again = state_update(integration.method("exact"), tau_m=12 * ms)
    assert again == brian and list(v_again) == list(v_brian)
    assert len(list((tmp_path / "integration").iterdir())) == 1
    monkeypatch.setitem(StateUpdateMethod.stateupdaters, "exact", solve)
    state_update(integration.method("exact"), EQS.replace("-r / tau_trace", "-2 * r / tau_trace"))
    assert len(list((tmp_path / "integration").iterdir())) == 2


@pytest.mark.parametrize("name", ["euler", "exponential_euler"])
def test_other_methods_are_brians_own(name):
    assert integration.method(name) == name


def trajectory(method, tau_m, threshold="v > 100"):
    """v of one neuron of :data:`EQS`, driven by b = 1.5 from rest, every 0.1 ms for 10 ms (numpy)."""
    ns = {"tau_m": tau_m, "tau_syn": 5 * ms, "tau_trace": 5 * ms}
    group = NeuronGroup(1, EQS, threshold=threshold, reset="v = 0", refractory=1 * ms, method=method, namespace=ns)
    group.b = 1.5
    monitor = StateMonitor(group, "v", record=0)
    target, prefs.codegen.target = prefs.codegen.target, "numpy"
    try:
        Network(group, monitor).run(10 * ms)
    finally:
        prefs.codegen.target = target
    return monitor.t / ms, monitor.v[0]


def test_equal_time_constants_are_integrated_exactly(tmp_path, monkeypatch):
    """tau_m = tau_syn: Brian2's symbolic solution divides by their difference (NaN, or a
    ZeroDivisionError compiled); spikefa solves it at the values: v = b (1 − e^(−t/τ) − (t/τ) e^(−t/τ))
    from rest, and with spikes and refractoriness the limit of the unequal case."""
    monkeypatch.setenv("SPIKEFA_CACHE", str(tmp_path))
    t, v = trajectory(integration.method("exact"), 5 * ms)
    s = t / 5
    assert np.allclose(v, 1.5 * (1 - np.exp(-s) - s * np.exp(-s)), rtol=1e-12, atol=1e-14)
    with np.errstate(invalid="ignore"):
        _, v_brian = trajectory("exact", 5 * ms)
    assert np.isnan(v_brian[1:]).all()  # what Brian2's own solution gives

    _, spiking = trajectory(integration.method("exact"), 5 * ms, threshold="v > 0.3")
    _, near = trajectory("exact", 5.0001 * ms, threshold="v > 0.3")
    assert (spiking == 0).sum() > 10 and np.allclose(spiking, near, rtol=1e-4, atol=1e-6)
    # the symbolic solution (kept for other values) and the one found at these values
    assert sorted(p.name.endswith("-at-values.txt") for p in (tmp_path / "integration").iterdir()) == [False, True]


def test_coupled_variables_are_solved_apart_to_brians_own_code(tmp_path, monkeypatch):
    """A LIF population's system is block-diagonal in its sets of coupled variables (here v, u and ubar;
    r): solved block by block, Brian2's own code for the whole system, text for text."""
    monkeypatch.setenv("SPIKEFA_CACHE", str(tmp_path))
    eqs = EQS + "dubar/dt = (u - ubar) / tau_trace : 1\n"
    brian, v_brian = state_update("exact", eqs)
    parts, v_parts = state_update(integration.method("exact"), eqs)
    assert parts == brian and list(v_parts) == list(v_brian)
    solved = sorted(line.split(" = ")[0] for line in brian.splitlines() if line.startswith("_"))
    assert solved == ["_r", "_u", "_ubar", "_v"]


def test_the_sets_of_coupled_variables_follow_reads_both_ways():
    from brian2 import Equations

    eqs = Equations("da/dt = -a / tau : 1\ndb/dt = (a - b) / tau : 1\ndc/dt = (c - d) / tau : 1\ndd/dt = -d / tau : 1")
    assert sorted(map(sorted, integration.coupled(eqs.get_substituted_expressions()))) == [["a", "b"], ["c", "d"]]
