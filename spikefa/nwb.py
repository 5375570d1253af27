"""A run's recordings and results as a Neurodata Without Borders file (``monitors.nwb``), the format
neurophysiology tools read: spikes in the Units table (one unit per recorded neuron and recording),
recorded state variables as TimeSeries in ``acquisition``, and a ``learning`` processing module with
the metrics table (accuracy, B–Wᵀ angles, … per recording point) and the final weights.

Times: a ``test`` recording's are seconds from its start; a ``learning`` or ``mirror`` recording's
are on the clock that runs only while the circuit learns (or mirrors), so its windows keep their place.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .errors import MissingExtra, SpikefaError
from .plots import recordings
from .runs import NWB, load_run


def export(path: str | Path) -> Path:
    """Write ``monitors.nwb`` beside ``monitors.npz`` in the run folder ``path``; returns its path."""
    try:
        from hdmf.common import DynamicTable, VectorData
        from pynwb import NWBHDF5IO, NWBFile, ProcessingModule, TimeSeries
        from pynwb.file import Subject
        from pynwb.misc import Units
    except ModuleNotFoundError:
        raise MissingExtra("nwb", "writing monitors.nwb") from None

    run = load_run(path)
    m = run.monitors
    if not m:
        raise SpikefaError(f"{run.path}: no monitors.npz to export (set brian.monitor in the circuit)")
    config = run.config
    started = datetime.fromtimestamp((run.path / "config.yaml").stat().st_mtime, tz=UTC)
    nwb = NWBFile(
        session_description=config.get("description") or f"spikefa run {config['name']}",
        identifier=hashlib.sha1(f"{run.path.resolve()}:{started.isoformat()}".encode()).hexdigest(),
        session_start_time=started,
        experiment_description=f"spikefa simulation: rule {config['rule']['name']}, task {config['task']['name']}, "
        f"seed {config['seed']}",
        keywords=["spiking neural network", "synaptic plasticity", "learning without weight transport", "simulation"],
        subject=Subject(
            subject_id=f"{config['name']}-seed{config['seed']}",
            description=f"a simulated circuit, network {'-'.join(map(str, config['network']['sizes']))}",
            age="P0D",  # a simulated circuit begins with its run; no species: it is no organism
            sex="U",
        ),
    )
    dt = float(np.min(np.diff(m["t"]))) if len(m.get("t", ())) > 1 else _dt(config)
    units = []  # (spike times, population, neuron, recording)
    for recording in recordings(m):
        prefix = "" if recording == "test" else f"{recording}_"
        t = m.get(f"{prefix}t")
        for key in sorted(k for k in m if k.startswith(prefix) and k.endswith("_spikes_i")):
            population = key[len(prefix) : -len("_spikes_i")]
            if recording == "test" and population.startswith(("learning_", "mirror_")):
                continue
            i, times = m[key], m[key.replace("_spikes_i", "_spikes_t")]
            n = _size(m, prefix, population, i)
            units += [(np.sort(times[i == neuron]), population, neuron, recording) for neuron in range(n)]
        if t is None:
            continue
        for key in sorted(m):
            rest = key[len(prefix) :]
            if (
                not key.startswith(prefix)
                or m[key].ndim != 2
                or (recording == "test" and key.startswith(("learning_", "mirror_")))
            ):
                continue
            # a test recording is regular: a start and a rate; windows of learning keep their timestamps
            timing = {"starting_time": float(t[0]), "rate": 1.0 / dt} if recording == "test" else {"timestamps": t}
            nwb.add_acquisition(
                TimeSeries(
                    name=f"{recording}_{rest}",
                    data=m[key].T,  # time first
                    **timing,
                    unit="n.a.",
                    description=f"state variable {rest.split('_', 1)[1]} of population {rest.split('_', 1)[0]}, "
                    "every time step, dimensionless (the circuit's units: drive and rates in units of max_rate)",
                )
            )
    if units:  # spiking circuits: a unit per recorded neuron and recording
        nwb.units = Units(name="units", description="recorded neurons' spikes", resolution=dt)
        nwb.add_unit_column("population", "the population the neuron belongs to")
        nwb.add_unit_column("neuron", "the neuron's index in its population")
        nwb.add_unit_column("recording", "test (after training), learning or mirror")
        for times, population, neuron, recording in units:
            nwb.add_unit(spike_times=times, population=population, neuron=neuron, recording=recording)
    learning = ProcessingModule(name="learning", description="metrics over training and the final weights")
    metrics = run.metrics.select_dtypes("number")
    learning.add(
        DynamicTable(
            name="metrics",
            description="metrics.csv: one row per recording point (each column: docs/getting-started.md, Using it)",
            columns=[VectorData(name=c, description=c, data=metrics[c].to_numpy()) for c in metrics.columns],
        )
    )
    for name, w in run.weights.items():
        w = np.atleast_2d(w)
        learning.add(
            DynamicTable(
                name=f"weights_{name}",
                description=f"final {name}, one row per target neuron (row of the matrix)",
                columns=[VectorData(name="weights", description="the row of weights", data=w)],
            )
        )
    nwb.add_processing_module(learning)
    out = run.path / NWB
    with NWBHDF5IO(str(out), "w") as io:
        io.write(nwb)
    return out


def _size(m: dict, prefix: str, population: str, spiking: np.ndarray) -> int:
    """A population's size: from a state variable it recorded, else from its highest spiking neuron."""
    for key, value in m.items():
        if key.startswith(f"{prefix}{population}_") and value.ndim == 2:
            return value.shape[0]
    return int(spiking.max()) + 1 if len(spiking) else 0


def _dt(config: dict) -> float:
    from .spec import seconds

    return seconds(config.get("brian", {}).get("dt", "1 ms"))
