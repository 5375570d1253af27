"""Brian2 circuits: each layer a ``NeuronGroup``, each forward projection W and each feedback
projection B a separate ``Synapses`` group. The rules and kernels are those of the reference engine;
only the way activity and errors are computed differs (see :mod:`.circuit`)."""

import logging


def _not_cache_size(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith("Cache size for target")


# Brian2 reports at import, on the console, when its compiled-code cache passes 1 GB: two lines before
# spikefa's one-line messages, on every run of a user who compiles much. The docs' Brian2 guide says
# where the caches are and how to clear them.
logging.getLogger("brian2.brian2").addFilter(_not_cache_size)  # the logger of package brian2 itself

from brian2 import prefs  # noqa: E402

from .circuit import Circuit, release_sigint  # noqa: E402
from .lif import LifCircuit  # noqa: E402
from .rate import RateCircuit  # noqa: E402

release_sigint()  # Ctrl-C raises KeyboardInterrupt during a Brian2 run too, as with the reference engine
# Every Brian2 object here belongs to its circuit's Network; objects outside any network are those of a
# circuit given up before its first run (Ctrl-C while Brian2 compiles, bad input), and would each print
# Brian2's "never included in a network" warning after spikefa's one-line message.
prefs.logging.warn_for_unused_objects = False

__all__ = ["Circuit", "LifCircuit", "RateCircuit"]
