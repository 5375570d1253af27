"""Brian2 circuits: each layer a ``NeuronGroup``, each forward projection W and each feedback
projection B a separate ``Synapses`` group. The rules and kernels are those of the reference engine;
only the way activity and errors are computed differs (see :mod:`.circuit`)."""

from .circuit import Circuit
from .lif import LifCircuit
from .rate import RateCircuit

__all__ = ["Circuit", "LifCircuit", "RateCircuit"]
