"""The declared-plasticity helpers: constants with Brian2 units, the variables a synapse resets."""

import pytest
from brian2 import Hz, ms

from spikefa import SpikefaError
from spikefa.brian import declared
from spikefa.spec import SynapseCode


def test_constants_are_numbers_or_quantities_and_names_the_code_reads_are_refused():
    code = SynapseCode(each_example="w = w", constants=(("tau", "30 ms"), ("k", "2"), ("nu", "4 Hz"), ("c", "1e-3")))
    got = declared.constants(code, "forward.plasticity")
    assert got == {"tau": 30 * ms, "k": 2.0, "nu": 4 * Hz, "c": 1e-3}
    with pytest.raises(SpikefaError, match=r"^forward.plasticity.constants.eta: a name the code reads already"):
        declared.constants(SynapseCode(constants=(("eta", "1"),)), "forward.plasticity")


def test_the_variables_a_synapse_declares_go_back_to_zero_in_their_units():
    code = SynapseCode(
        variables="dq/dt = -q / tau : 1 (clock-driven)\ng : siemens\nh = 2 * g : siemens  # a subexpression"
    )
    assert declared.variable_names(code) == ["q", "g"]
    assert declared.reset(code) == "q = q * 0\ng = g * 0"
