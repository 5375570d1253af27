"""Brian2 circuits: each layer a ``NeuronGroup``, each forward projection W and each feedback
projection B a separate ``Synapses`` group. The rules and kernels are those of the reference engine;
only the way activity and errors are computed differs (see :mod:`.circuit`)."""

from brian2 import prefs

from .circuit import Circuit, release_sigint
from .lif import LifCircuit
from .rate import RateCircuit

release_sigint()  # Ctrl-C raises KeyboardInterrupt during a Brian2 run too, as with the reference engine
# Every Brian2 object here belongs to its circuit's Network; objects outside any network are those of a
# circuit given up before its first run (Ctrl-C while Brian2 compiles, bad input), and would each print
# Brian2's "never included in a network" warning after spikefa's one-line message.
prefs.logging.warn_for_unused_objects = False

__all__ = ["Circuit", "LifCircuit", "RateCircuit"]
