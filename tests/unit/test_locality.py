"""The locality contract of spiking plasticity: what a synapse's weight change may read and write."""

import numpy as np
import pytest
from brian2 import NeuronGroup, Synapses, TimedArray, ms, prefs

from spikefa.brian.locality import PRESYNAPTIC, check_local, nonlocal_reads
from spikefa.errors import SpikefaError

SOURCE = """
du/dt = -u / (10*ms) : 1
ubar : 1
delta : 1
v : 1
r : 1
count : 1
I_ff : 1
"""

TARGET = """
dv/dt = -v / (10*ms) : 1
err : 1
delta_local : 1
r : 1
mirroring : 1 (shared)
"""


@pytest.fixture
def syn():
    target = prefs.codegen.target
    prefs.codegen.target = "numpy"
    try:
        pre = NeuronGroup(3, SOURCE, threshold="u > 1", reset="u = 0", refractory=1 * ms, name="src")
        post = NeuronGroup(2, TARGET, name="dst")
        model = "w : 1\nvw : 1\nelig : 1\nlastupdate : second\ndrive = w * u_pre : 1\nscaled = 2 * w : 1"
        yield Synapses(pre, post, model, on_pre="v_post += w", name="plastic")
    finally:
        prefs.codegen.target = target


@pytest.fixture
def namespace():
    return {
        "lr": 0.01,
        "t_block": 0 * ms,
        "rates": TimedArray(np.zeros(4), dt=1 * ms, name="rates"),
        "teachers": TimedArray(np.zeros((4, 3)), dt=1 * ms, name="teachers"),
        "column": 1,
    }


ALLOWED = [
    "w += lr * r_pre * err_post",
    "w = w - lr * delta_local_post * r_pre",
    "vw = vw + rates(t - t_block) * (elig - vw)\nw = clip(w - vw, 0, inf)",
    "elig = elig * exp(-(t - lastupdate) / (5*ms)) + count_pre; lastupdate = t",
    "w += (t - lastspike_pre) / ms * mirroring_post * rand()",
    "w += lr * int(v_post > 0) * v  # the bare name is the postsynaptic v",
    "v_post += w\nerr_post -= scaled",
    "g = r_pre * err_post\nw -= lr * g",
    "w += teachers(t - t_block, column) * i * j / N",
    "",
]


@pytest.mark.parametrize("code", ALLOWED)
def test_local_code_passes(syn, namespace, code):
    assert nonlocal_reads(syn, code, namespace=namespace) == []
    check_local(syn, code, "W0 learn", namespace=namespace)


def test_group_namespace_is_used(syn):
    syn.namespace["eta"] = 0.1
    check_local(syn, "w += eta * r_pre", "W0 learn")


@pytest.mark.parametrize(
    "code, name",
    [
        ("w += lr * u_pre", "u_pre"),
        ("w += lr * ubar_pre", "ubar_pre"),
        ("w += lr * delta_pre * r_pre", "delta_pre"),
        ("w -= lr * v_pre", "v_pre"),
        ("w += I_ff_pre", "I_ff_pre"),
        ("w += drive", "u_pre"),  # through the synapse's own subexpression
        ("w += mystery * r_pre", "mystery"),
        ("w += _summed_I_ff", "_summed_I_ff"),
    ],
)
def test_nonlocal_read_is_refused(syn, namespace, code, name):
    assert nonlocal_reads(syn, code, namespace=namespace) == [name]
    with pytest.raises(SpikefaError) as info:
        check_local(syn, code, "B1 learn", namespace=namespace)
    message = str(info.value)
    assert message.startswith(f"B1 learn: plasticity reads {name!r}, which its synapse cannot see")
    assert f"spikes and traces ({', '.join(PRESYNAPTIC)})" in message
    assert "\n" not in message and len(message) < 300


def test_writing_the_presynaptic_neuron_is_refused(syn, namespace):
    code = "w += r_pre\nr_pre = 0"
    assert nonlocal_reads(syn, code, namespace=namespace) == ["r_pre"]
    with pytest.raises(SpikefaError, match=r"^W0 learn: plasticity writes 'r_pre', which its synapse cannot change"):
        check_local(syn, code, "W0 learn", namespace=namespace)


@pytest.mark.parametrize("code", ["i = 0", "t = 0*ms", "drive = 1", "unknown += 1", "lr += 1"])
def test_writing_anything_but_its_own_or_postsynaptic_variables_is_refused(syn, namespace, code):
    with pytest.raises(SpikefaError, match="plasticity writes"):
        check_local(syn, code, "W0 learn", namespace=namespace)


@pytest.mark.parametrize("call", ["teachers(t, i)", "teachers(t - t_block, j)", "teachers(t, int(rand() * 3))"])
def test_timed_array_indexed_per_neuron_is_refused(syn, namespace, call):
    code = f"w += lr * {call} * r_pre"
    assert nonlocal_reads(syn, code, namespace=namespace) == ["teachers"]
    with pytest.raises(SpikefaError) as info:
        check_local(syn, code, "B0 learn", namespace=namespace)
    message = str(info.value)
    assert message.startswith("B0 learn: plasticity reads 'teachers', a TimedArray indexed per neuron")
    assert "\n" not in message and len(message) < 350


def test_extra_presynaptic_variables_can_be_allowed(syn, namespace):
    code = "w += lr * delta_pre * r_pre"
    assert nonlocal_reads(syn, code, pre=(*PRESYNAPTIC, "delta"), namespace=namespace) == []
    with pytest.raises(SpikefaError, match=r"traces \(r, rm, count, lastspike, delta\)"):
        check_local(syn, "w += u_pre", "B0 learn", pre=(*PRESYNAPTIC, "delta"), namespace=namespace)


def test_every_breach_is_listed(syn, namespace):
    code = "w += u_pre * v_pre * teachers(t, i) + nowhere\nu_pre = 0"
    assert nonlocal_reads(syn, code, namespace=namespace) == ["nowhere", "teachers", "u_pre", "v_pre"]
    with pytest.raises(SpikefaError, match="writes 'u_pre'"):
        check_local(syn, code, "W0 learn", namespace=namespace)
    with pytest.raises(SpikefaError, match=r"reads 'nowhere', 'u_pre', 'v_pre', which"):
        check_local(syn, "w += u_pre * v_pre + nowhere", "W0 learn", namespace=namespace)


def test_code_that_does_not_parse_is_one_line(syn):
    with pytest.raises(SpikefaError, match=r"^W0 learn: plasticity code does not parse") as info:
        check_local(syn, "w += (r_pre", "W0 learn")
    assert "\n" not in str(info.value)
