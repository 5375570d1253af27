"""Hypothesis sweeps: a grid of circuit fields × seeds, each point its own run folder under one sweep
folder, run on Dask — a local cluster of processes by default, or any Dask scheduler (dask-jobqueue
on SLURM/PBS, Kubernetes) by address.

A point that raises or diverges is recorded as failed with its error and the others go on; a worker
that dies is retried; a point already finished is not run again, and one that was killed resumes from
its last checkpoint (the run folder's own machinery), so re-running a killed sweep finishes it.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from . import spec
from .errors import DivergenceError, MissingExtra, SpikefaError
from .failures import classify
from .runs import LOCK, FolderLock, atomic_write, safe_name
from .yamlfile import parse_value

try:
    from distributed import WorkerPlugin
except ModuleNotFoundError:
    raise MissingExtra("sweeps", "spikefa sweep (Dask)") from None

RESULTS = "results.csv"
FIGURE = "sweep.png"


@dataclass(frozen=True)
class Point:
    name: str  # the run folder's name, e.g. "optimizer.lr=0.01,rule=backprop,seed=2"
    values: dict[str, Any]  # swept field → value, and the seed
    circuit: spec.Circuit


def parse_grid(items: list[str]) -> dict[str, list]:
    """``["optimizer.lr=0.01,0.03", "rule=backprop,feedback_alignment"]`` → {key: [values]} (YAML values)."""
    grid: dict[str, list] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SpikefaError(f"--grid {item}: must be KEY=V1,V2,..., e.g. optimizer.lr=0.01,0.03")
        values = [parse_value(v, f"--grid {key}") for v in text.split(",") if v.strip()]
        if not values:
            raise SpikefaError(f"--grid {key}: the value list is empty; give at least one value")
        grid[key] = values
    return grid


def sweep_block(raw: dict, source: str) -> tuple[dict[str, list], int]:
    """The circuit file's own ``sweep: {grid: {KEY: [values]}, seeds: N}`` block (empty if none)."""
    block = raw.get("sweep") or {}
    if not isinstance(block, dict) or set(block) - {"grid", "seeds"}:
        raise SpikefaError(f"{source}: sweep: must be a mapping with grid (KEY: [values]) and seeds")
    grid = block.get("grid") or {}
    if not isinstance(grid, dict) or not all(isinstance(v, list) for v in grid.values()):
        raise SpikefaError(f"{source}: sweep.grid: must map circuit fields to lists of values")
    for key, values in grid.items():
        if not values:
            raise SpikefaError(f"{source}: sweep.grid.{key}: the value list is empty; give at least one value")
    seeds = block.get("seeds", 1)
    if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1:
        raise SpikefaError(f"{source}: sweep.seeds: must be a positive integer, got {seeds!r}")
    return grid, seeds


def expand(raw: dict, grid: dict[str, list], seeds: int, source: str) -> list[Point]:
    """Every grid point × seeds 1 … N as a validated circuit; a key that is not a circuit field or a
    value it cannot take fails here, before anything runs, naming the key."""
    base = {k: v for k, v in raw.items() if k != "sweep"}
    points = []
    for combo in itertools.product(*grid.values()):
        for seed in range(1, seeds + 1):
            values = dict(zip(grid, combo), seed=seed)
            changes = [
                f"{k}={yaml.safe_dump(v, default_flow_style=True).strip().removesuffix('...').strip()}"
                for k, v in values.items()
            ]
            point_raw = spec.apply_overrides(yaml.safe_load(yaml.safe_dump(base)), changes)
            try:
                circuit = spec.circuit_from_dict(point_raw, source)
            except SpikefaError as err:
                raise SpikefaError(f"--grid {', '.join(changes)}: {err}") from None
            # the point's run folder: one name, never a path (a value may hold "/" or "..")
            name = safe_name(",".join(f"{k}={_short(v)}" for k, v in values.items()))
            points.append(Point(name, values, circuit))
    return points


def run_point(config: dict, out: str, data_dir: str | None, threads: int = 1) -> dict:
    """Run one point in a worker process on ``threads`` BLAS threads; never raises for the point's own
    failure."""
    from .training import run_circuit

    try:
        folder = run_circuit(spec.circuit_from_dict(config), out, data_dir=data_dir, progress=False, threads=threads)
        final = folder.summary()["final"]
        return {"status": "complete", **{k: v for k, v in final.items() if isinstance(v, (int, float))}}
    except DivergenceError as err:
        return {"status": "diverged", "error": str(err)}
    except (Exception, SystemExit) as err:  # a failing point is a result, not the end of the sweep
        return {"status": "failed", "error": classify(err).line}


class BrianWorker(WorkerPlugin):
    """A Dask worker plugin: on every worker start (restarted ones too), in the worker's main thread
    (Brian2 installs a signal handler when imported), import Brian2 and give the worker a code cache of
    its own, named by host and worker name, so no two workers of a cluster compile into the same files
    and a worker slot reuses its cache from sweep to sweep."""

    name = "spikefa-brian"

    def setup(self, worker) -> None:
        from brian2 import prefs

        slot = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{os.uname().nodename}-{worker.name}")
        prefs.codegen.runtime.cython.cache_dir = str(Path.home() / ".cython" / "spikefa-workers" / slot)


def connect(scheduler: str | None, workers: int | None):
    """A Dask client: to ``scheduler`` (an address) or to a new local cluster of processes."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="10s"), None
        except (OSError, TimeoutError, ValueError) as err:
            raise SpikefaError(f"--scheduler {scheduler}: cannot reach a Dask scheduler there ({err})") from None
    cluster = LocalCluster(
        n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True, dashboard_address=None
    )
    return Client(cluster), cluster


def run_sweep(
    file: str | Path,
    grid: dict[str, list],
    seeds: int,
    out: str | Path,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    data_dir: str | None = None,
    progress: bool = True,
    threads: int = 1,
) -> pd.DataFrame:
    """Run every point of ``grid`` × ``seeds`` of circuit ``file`` into ``out/POINT`` (each on ``threads``
    BLAS threads); write
    ``out/results.csv`` (one row per point: swept values, status, final metrics) and ``out/sweep.png``."""
    from distributed import as_completed
    from tqdm import tqdm

    source = str(file)
    raw = spec.read_yaml(file)
    own_grid, own_seeds = sweep_block(raw, source)
    grid = {**own_grid, **grid}
    seeds = seeds or own_seeds
    if not grid and seeds == 1:
        raise SpikefaError(f"{source}: nothing to sweep; give --grid KEY=V1,V2 or --seeds N (or a sweep: block)")
    raw.setdefault("name", Path(file).stem)
    points = expand(raw, grid, seeds, source)
    out = Path(out)
    made = [p for p in (out, *out.parents) if not p.exists()]  # deepest first
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SpikefaError(f"--out {out}: cannot create the folder ({err.strerror})") from None
    try:
        lock = FolderLock(out, "spikefa sweep")  # one sweep writes a sweep folder at a time
        try:
            client, cluster = connect(scheduler, workers)
        except BaseException:
            lock.release()
            raise
    except BaseException:  # no lock or no cluster: leave no folder behind either
        for p in made:
            with contextlib.suppress(OSError):
                (p / LOCK).unlink(missing_ok=True)
                p.rmdir()
        raise
    try:
        client.register_plugin(BrianWorker())
        atomic_write(
            out / "sweep.yaml",
            lambda p: p.write_text(yaml.safe_dump({"circuit": source, "grid": grid, "seeds": seeds}, sort_keys=False)),
        )
        futures = {
            client.submit(
                run_point,
                p.circuit.to_dict(),
                str(out / p.name),
                data_dir,
                threads,
                key=f"spikefa-{p.name}",
                retries=2,
                pure=False,
            ): p
            for p in points
        }
        rows = {}
        with tqdm(total=len(points), desc="sweep", unit="run", disable=None if progress else True) as bar:
            for future in as_completed(futures):
                p = futures[future]
                try:
                    result = future.result()
                except Exception as err:  # the worker died more often than the retries allow
                    result = {"status": "failed", "error": f"{type(err).__name__}: {err}"}
                rows[p.name] = {**p.values, **result}
                bar.update(1)
        table = pd.DataFrame([rows[p.name] for p in points])
        atomic_write(out / RESULTS, lambda p: table.to_csv(p, index=False))
        plot_sweep(table, [k for k in grid], out / FIGURE, raw["name"])
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
        lock.release()
    return table


def plot_sweep(table: pd.DataFrame, keys: list[str], path: Path, circuit: str) -> None:
    """Final metric against the first swept field, mean ± s.d. over seeds, one series per combination of
    the other swept fields: joined by lines where the field is a number, side by side where it is not."""
    import matplotlib

    from .figures.common import STYLE, figure

    metric = "test_acc" if "test_acc" in table else "test_nse" if "test_nse" in table else None
    scale, label = (100, "final test accuracy (%)") if metric == "test_acc" else (1, "final test NSE")
    with matplotlib.rc_context(STYLE):
        fig, axes = figure(1, height=2.2)
        ax = axes[0, 0]
        done = table[table["status"] == "complete"] if metric else table.iloc[:0]
        if not keys or done.empty:
            ax.text(0.5, 0.5, "no finished runs" if keys else "seeds only", ha="center", transform=ax.transAxes)
        else:
            x_key, others = keys[0], keys[1:]
            xs = list(dict.fromkeys(table[x_key].tolist()))
            numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in xs)
            groups = list(done.groupby(others)) if others else [((), done)]
            for k, (values, group) in enumerate(groups):
                stats = scale * group.groupby(x_key)[metric].agg(["mean", "std"]).reindex(xs)
                offset = 0.08 * (k - (len(groups) - 1) / 2)  # categories: the series side by side
                pos = np.array(xs, float) if numeric else np.arange(len(xs)) + offset
                name = ", ".join(f"{key}={_short(v)}" for key, v in zip(others, np.atleast_1d(values)))
                ax.errorbar(
                    pos,
                    stats["mean"],
                    yerr=stats["std"].fillna(0),
                    marker="o",
                    ms=3,
                    capsize=2,
                    ls="-" if numeric else "none",
                    label=name or None,
                )
            if numeric and all(v > 0 for v in xs) and max(xs) / min(xs) >= 10:
                ax.set_xscale("log")
            if not numeric:
                ax.set_xticks(np.arange(len(xs)), [_short(v) for v in xs])
            ax.set_xlabel(x_key)
            ax.set_ylabel(f"{label}\nmean ± s.d. over seeds")
            if others:
                ax.legend()
        failed = int((table["status"] != "complete").sum())
        ax.set_title(f"{circuit}: {len(table)} runs" + (f", {failed} failed" if failed else ""))
        fig.savefig(path)


def _short(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) and math.isfinite(v) else str(v)
