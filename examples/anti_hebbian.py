"""A user's learning rule, written outside spikefa: anti-Hebbian plasticity of the feedback synapses.

Feedback synapse B_l[i, k] carries source unit k's error δ_k (layer l + 1) into the error compartment
of neuron i (layer l). Here it changes with the product of what it connects — the neuron's own rate
h_i and the error δ_k it carries — with the sign opposite to Hebb's, and decays:

    ΔB_l[i, k] = −η_B h_i δ_k − λ_B B_l[i, k]

Both factors are at the synapse: no weight is transported. Summed over examples, −η_B h_lᵀ δ_{l+1} is
the forward weights' own change transposed, so B follows W (the idea of Kolen–Pollack, Akrout et al.
2019, eqs. 16–17), here with a rate and a decay of its own and no momentum.

Use it from a circuit file, with the file's path relative to the circuit file:

    rule:
      name: ../../examples/anti_hebbian.py:AntiHebbianFeedback
      params: {lr: 0.02, decay: 0.0005}
"""

from spikefa.rules import Plasticity, Rule


class AntiHebbianFeedback(Rule):
    """ΔB_l = −η_B h_lᵀ δ_{l+1} − λ_B B_l: feedback learns from the rates and errors it connects."""

    name = "anti_hebbian_feedback"
    topology = "layerwise"  # B_l carries δ_{l+1} into layer l
    learns_feedback = True
    parameters = {"lr": 0.02, "decay": 0.0005}  # η_B and λ_B per step; rule.params in a circuit file

    def plasticity(self):
        # each feedback synapse: its source's error (pre) times its target's rate (post); declared, not
        # coded, so that every backend builds it (NumPy kernels, Brian2 runtime, Brian2 generated code)
        p = self.parameters
        return Plasticity(pre="error", post="rate", lr=p["lr"], decay=p["decay"], momentum=False)
