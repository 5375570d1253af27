"""spikefa: learning without weight transport, in rate and spiking circuits."""

from .errors import DivergenceError, SpikefaError
from .model import Model, build
from .runs import Run, load_run
from .spec import Circuit, circuit_from_dict, load_circuit
from .training import run, run_circuit

__all__ = [
    "Circuit",
    "DivergenceError",
    "Model",
    "Run",
    "SpikefaError",
    "build",
    "circuit_from_dict",
    "load_circuit",
    "load_run",
    "run",
    "run_circuit",
]
__version__ = "0.1.0"
