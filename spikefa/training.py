"""Running a circuit: phases, learning-rate schedule, recording, checkpoints, resume, divergence.

Randomness: one ``SeedSequence(seed)`` spawns three generators — data (teacher networks and their
inputs), initial weights, and training (shuffling, mirror noise); a ``noise_pretrain`` phase draws
its fixed noise set from (seed, phase index). The training generator's state is checkpointed, so a
resumed run continues the same random stream and ends with the same numbers as an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from . import spec
from . import threads as threads_
from .errors import DivergenceError, MissingExtra, SpikefaError
from .failures import classify, interrupted, write_log
from .metrics import accuracy, nse
from .model import Model, build
from .plots import plot_run
from .runs import CHECKPOINT, FIGURE, Run, RunFolder, join, load_run, warn
from .yamlfile import cut

PROBE_SIZE = 256  # training examples on which update angles against backprop are measured
EXPLODED = 100.0  # a loss this many times the untrained network's has diverged (lr=1e4 on digits: 277 times)


@dataclass
class Position:
    """Where a run is: enough to resume it exactly."""

    phase: int = 0
    epoch: int = 0  # epochs completed in the current phase
    step: int = 0  # learning steps (batches) so far, all phases
    examples: int = 0  # examples (data or noise) presented so far
    learn_step: int = 0  # steps taken in learn phases (drives the lr schedule)
    mirror_steps: int = 0  # mirror steps so far (mirror phases and those interleaved with learning)
    loss_sum: float = 0.0  # running sums since the last metrics row
    correct: int = 0
    seen: int = 0
    seconds: float = 0.0  # wall time spent reaching this position (work redone after a resume not counted)


class Trainer:
    def __init__(self, model: Model, folder: RunFolder, progress: bool = True):
        circuit, data = model.circuit, model.data
        self.circuit, self.data, self.folder, self.progress = circuit, data, folder, progress
        self.engine = model.engine
        self.learner = model.learner  # what computes activity and errors while learning
        # weight mirror: mirror steps after every learning batch, on whichever engine learns
        self.interleaved_mirror = circuit.rule.mirror.steps_per_batch if self.engine.rule.has_mirror_phase else 0
        self.rng = model.generators.train
        # recordings while learning and mirroring (brian.monitor.when), fed by the circuit's schedule
        self.recorders = {}
        m = circuit.brian.monitor
        if circuit.engine == "brian2" and m.layers:
            from .brian.recording import Recorder

            groups = {g.name: g for g in (self.learner.population(p) for p in m.layers)}
            dt = float(self.learner.dt)
            self.recorders = {w: Recorder(groups, m.variables, m.every, m.window, dt) for w in m.when if w != "test"}
        self.pos = Position()
        self.started, self.seconds_before, self.examples_before = time.perf_counter(), 0.0, 0
        probe = slice(0, min(PROBE_SIZE, len(data.x_train)))
        self.probe = (data.x_train[probe], data.y_train[probe])
        self.batches_per_epoch = batch_count(len(data.x_train), circuit.optimizer)
        self.learn_steps = sum(p.epochs for p in circuit.phases if p.kind == "learn") * self.batches_per_epoch

    # --- learning rate ------------------------------------------------------------------------
    def lr(self, kind: str) -> float:
        o = self.circuit.optimizer
        if o.schedule == "constant" or kind != "learn" or self.learn_steps == 0:
            return o.lr
        return o.lr * 0.5 * (1.0 + math.cos(math.pi * self.pos.learn_step / self.learn_steps))

    # --- recording ----------------------------------------------------------------------------
    def record(self, kind: str, test: bool = True) -> dict:
        """Append a metrics row. ``test``: measure the test set (a mirror phase's rows skip it unless
        ``record.mirror_test``: in a spiking circuit it is a full simulated test pass)."""
        e, d, p = self.engine, self.data, self.pos
        row = {
            "phase": p.phase,
            "kind": kind,
            "epoch": p.epoch,
            "step": p.step,
            "examples": p.examples,
            "lr": self.lr(kind) if kind != "mirror" else 0.0,
            "train_loss": p.loss_sum / p.seen if p.seen else float("nan"),
        }
        if e.rule.has_mirror_phase:  # how much noise B has learned from: steps, and simulated time
            row["mirror_steps"] = p.mirror_steps
            if self.circuit.engine == "brian2":
                row["mirror_seconds"] = p.mirror_steps * self.learner.mirror_seconds_per_step()
        out = self.learner.predict(d.x_test) if test else None
        nan = float("nan")
        if d.classification:
            row["train_acc"] = p.correct / p.seen if p.seen else nan
            row["test_loss"] = e.loss(out, d.y_test) if test else nan
            row["test_acc"] = accuracy(out, d.y_test) if test else nan
            row.update(e.local_accuracies(d.x_test, d.y_test))
        else:
            row["test_loss"] = e.loss(out, d.y_test) if test else nan
            row["test_nse"] = nse(out, d.y_test) if test else nan
        with np.errstate(all="ignore"):  # a diverging run's overflow: check_divergence says it in one line
            row.update(e.feedback_angles())
            row.update(e.feedback_distances())
            row.update(e.update_angles(*self.probe))
            row.update(e.norms())
        p.loss_sum, p.correct, p.seen = 0.0, 0, 0
        self.folder.append(row)
        self.check_divergence(row, kind)
        return row

    def check_divergence(self, row: dict, kind: str) -> None:
        """:class:`DivergenceError` if a weight norm or (in a Brian2 circuit) a neuron's state variable is
        no longer finite, or a loss is infinite or :data:`EXPLODED` times the first row's test loss."""
        where = f"at step {self.pos.step} (phase {self.pos.phase}, {kind})"
        bad = [k for k, v in row.items() if k.startswith("norm_") and not math.isfinite(v)]
        if bad:
            raise DivergenceError(f"{', '.join(bad[:4])} became non-finite {where}; lower optimizer.lr")
        state = self.learner.nonfinite()  # a Brian2 circuit's neurons
        if state:
            raise DivergenceError(
                f"{', '.join(state)} became non-finite {where}; check the population's equations and "
                "brian.dt, or lower optimizer.lr"
            )
        start = self.folder.rows[0]["test_loss"]
        for key in ("train_loss", "test_loss"):
            if math.isinf(row[key]) or (math.isfinite(start) and start > 0 and row[key] > EXPLODED * start):
                raise DivergenceError(
                    f"{key} exploded to {row[key]:.4g} {where}, from {start:.4g} at the start; lower optimizer.lr"
                )

    def seconds(self) -> float:
        """Wall time spent on this run: this process's and that of the runs it resumed, to their checkpoints."""
        return self.seconds_before + time.perf_counter() - self.started

    @contextmanager
    def recording(self, when: str, offset: int) -> Iterator[None]:
        """Feed the ``when`` recorder (if asked for) while the block runs; ``offset``: the run's index of
        the block's first example (or mirror noise sample)."""
        rec = self.recorders.get(when)
        if rec is None:
            yield
            return
        rec.offset, self.learner.recorder = offset, rec
        try:
            yield
        finally:
            self.learner.recorder = None

    def checkpoint(self) -> None:
        p = self.pos
        for when, rec in self.recorders.items():  # what was recorded since the last checkpoint
            arrays = rec.arrays(when)
            if len(arrays[f"{when}_t"]):
                self.folder.save_monitor_part(arrays, (p.examples, p.mirror_steps))
        self.pos.seconds = self.seconds()
        state = dict(vars(self.pos), rng=self.rng.bit_generator.state)
        self.folder.save_checkpoint(self.engine.params.arrays(), state)

    def resume(self) -> bool:
        saved = self.folder.load_checkpoint()
        if saved is None:
            return False
        arrays, state = saved
        try:
            self.engine.params.load_arrays(arrays)
            self.rng.bit_generator.state = state.pop("rng")
            self.pos = Position(**state)
        except (ValueError, TypeError, KeyError) as err:
            raise SpikefaError(
                f"{self.folder.path / CHECKPOINT}: does not fit this circuit ({cut(str(err), 100)}); "
                "start the run again with --overwrite"
            ) from None
        self.seconds_before, self.examples_before = self.pos.seconds, self.pos.examples
        for part in self.folder.monitor_parts(after=(self.pos.examples, self.pos.mirror_steps)):
            part.unlink()  # recorded after the checkpoint the run resumes from: recorded again
        return True

    # --- phases -------------------------------------------------------------------------------
    def noise_set(self, phase: spec.Phase) -> tuple[np.ndarray, np.ndarray]:
        """The noise phase's training set (Cheon et al. 2024): inputs N(0, std²), uniformly random labels.
        Drawn once per phase from (seed, phase index), so a resumed run sees the same set."""
        d = self.data
        rng = np.random.default_rng([self.circuit.seed, self.pos.phase])
        x = (rng.standard_normal((phase.samples_per_epoch, d.n_in)) * phase.noise_std).astype(d.x_train.dtype)
        y = np.zeros((phase.samples_per_epoch, d.n_out), d.y_train.dtype)
        y[np.arange(len(y)), rng.integers(0, d.n_out, len(y))] = 1.0
        return x, y

    def batches(self, x: np.ndarray, y: np.ndarray):
        """The (x, y) batches of one epoch: in a fresh random order (``optimizer.shuffle``) or the data's
        own, the last partial batch left out with ``optimizer.drop_last``."""
        o = self.circuit.optimizer
        order = self.rng.permutation(len(x)) if o.shuffle else np.arange(len(x))
        for start in range(0, batch_count(len(x), o) * o.batch_size, o.batch_size):
            idx = order[start : start + o.batch_size]
            yield x[idx], y[idx]

    def run_epoch(self, phase: spec.Phase, data: tuple[np.ndarray, np.ndarray], bar) -> None:
        p, every = self.pos, self.circuit.record.every
        for x, y in self.batches(*data):
            with self.recording("learning", p.examples):
                loss, out = self.learner.train_batch(x, y, self.lr(phase.kind), self.rng)
            if self.interleaved_mirror:
                with self.recording("mirror", p.mirror_steps * self.circuit.rule.mirror.batch_size):
                    self.learner.mirror(self.interleaved_mirror, self.rng)
                p.mirror_steps += self.interleaved_mirror
            if not math.isfinite(loss):
                raise DivergenceError(
                    f"the loss became {loss} at step {p.step} (phase {p.phase}, {phase.kind}, "
                    f"epoch {p.epoch + 1}); lower optimizer.lr"
                )
            p.step += 1
            p.examples += len(x)
            p.learn_step += phase.kind == "learn"
            p.loss_sum += loss * len(x)
            p.seen += len(x)
            if self.data.classification:
                p.correct += int(np.sum(out.argmax(1) == y.argmax(1)))
            if every and p.step % every == 0:
                self.record(phase.kind)
            bar.update(1)

    def run_mirror(self, phase: spec.Phase, bar) -> None:
        """A whole mirror phase (checkpointed at its end): ``steps`` mirror steps, a row every ``record.every``."""
        every = self.circuit.record.every or phase.steps
        done = 0
        while done < phase.steps:
            n = min(every, phase.steps - done)
            with self.recording("mirror", self.pos.mirror_steps * self.circuit.rule.mirror.batch_size):
                self.learner.mirror(n, self.rng)
            done += n
            self.pos.mirror_steps += n
            bar.update(n)
            self.record("mirror", test=self.circuit.record.mirror_test)

    def bar(self, **kwargs) -> tqdm:
        """A progress bar (shown on a terminal, never with ``progress=False``) that vanishes when done."""
        return tqdm(disable=None if self.progress else True, leave=False, **kwargs)

    def run(self) -> dict:
        c, p = self.circuit, self.pos
        if not self.folder.rows:
            self.record(c.phases[0].kind)
        while p.phase < len(c.phases):
            phase = c.phases[p.phase]
            label = f"{p.phase + 1}/{len(c.phases)} {phase.kind}"
            if phase.kind == "mirror":
                with self.bar(total=phase.steps, desc=label, unit="step") as bar:
                    self.run_mirror(phase, bar)
            else:
                per_epoch = (
                    self.batches_per_epoch
                    if phase.kind == "learn"
                    else batch_count(phase.samples_per_epoch, c.optimizer)
                )
                with self.bar(
                    total=phase.epochs * per_epoch, initial=p.epoch * per_epoch, desc=label, unit="batch"
                ) as bar:
                    data = (self.data.x_train, self.data.y_train) if phase.kind == "learn" else self.noise_set(phase)
                    while p.epoch < phase.epochs:
                        self.run_epoch(phase, data, bar)
                        p.epoch += 1
                        if not c.record.every:
                            row = self.record(phase.kind)
                            bar.set_postfix_str(_short(row))
                        if p.epoch % c.record.checkpoint_every == 0 and p.epoch < phase.epochs:
                            self.checkpoint()
            p.phase, p.epoch = p.phase + 1, 0
            self.checkpoint()
        return self.folder.rows[-1]


def batch_count(n: int, optimizer: spec.Optimizer) -> int:
    """Batches in an epoch of n examples (the last partial one left out with ``drop_last``)."""
    return n // optimizer.batch_size if optimizer.drop_last else math.ceil(n / optimizer.batch_size)


def _short(row: dict) -> str:
    key = "test_acc" if "test_acc" in row else "test_nse"
    return f"{key} {row[key]:.4f}"


def run_circuit(
    circuit: spec.Circuit,
    out: str | Path,
    *,
    data_dir: str | None = None,
    progress: bool = True,
    overwrite: bool = False,
    source: str = "circuit",
    threads: int | None = None,
    figure: bool = True,
) -> RunFolder:
    """Build ``circuit`` and train it into the run folder ``out`` (:func:`build`, then :func:`train`)."""
    threads_.choose(threads)  # a bad thread count is bad input too: refused before anything is built
    return train(build(circuit, data_dir=data_dir, source=source), out, progress, overwrite, threads, figure)


def train(
    model: Model,
    out: str | Path,
    progress: bool = True,
    overwrite: bool = False,
    threads: int | None = None,
    figure: bool = True,
) -> RunFolder:
    """Train a built model into the run folder ``out`` (resuming it if it holds a checkpoint of the same
    circuit), draw its figure (``figure=False``: not; ``spikefa plot`` draws it later), and return the
    folder. Bad input (a circuit too large for the available memory included) is refused by :func:`build`,
    before anything is written; :class:`DivergenceError` (metrics so far kept) if the run diverges. The
    folder is locked while the run writes it (:class:`~spikefa.runs.FolderLock`). ``threads``: BLAS
    threads (:func:`spikefa.threads.choose`)."""
    n_threads = threads_.choose(threads)
    if model.trained:
        raise SpikefaError(f"{model.source}: this model has been trained already; build it again for a new run")
    folder = RunFolder.open(out, model.circuit, overwrite)
    try:
        if folder.finished():
            folder.reused = True
            if figure and not (folder.path / FIGURE).is_file():  # killed after the summary, before the figure
                plot_run(folder.path)
            return folder
        model.trained = True
        with threads_.limited(n_threads):
            _train(model, folder, progress, n_threads)
    finally:
        folder.close()
    if figure:
        plot_run(folder.path)
    return folder


def run(
    model: Model, out: str | Path, *, progress: bool = True, overwrite: bool = False, threads: int | None = None
) -> Run:
    """Train a model from :func:`spikefa.build` into the run folder ``out``, as ``spikefa run`` does
    (checkpoints, resume, metrics, figure), and return the finished run (:func:`spikefa.load_run`)."""
    return load_run(train(model, out, progress, overwrite, threads).path)


def _train(model: Model, folder: RunFolder, progress: bool, threads: int) -> None:
    """Train into an open run folder, from its checkpoint if it has one, and write its results."""
    circuit, data = model.circuit, model.data
    trainer = Trainer(model, folder, progress)
    resumed = trainer.resume()
    base = {
        "circuit": circuit.name,
        "rule": circuit.rule.name,
        "engine": circuit.engine,
        "task": circuit.task.name,
        "seed": circuit.seed,
        "threads": threads,
    }
    if circuit.engine == "brian2" and circuit.brian.target != "numpy":
        from .brian.compiler import opt_level

        if (level := opt_level()) is not None:  # compiled at SPIKEFA_OPT_LEVEL, not Brian2's -O3
            base["opt_level"] = level
    folder.write_summary(dict(base, status="running", resumed=resumed, seconds=trainer.seconds()))
    try:
        final = trainer.run()
    except DivergenceError as err:
        plot_run(folder.path)
        folder.write_summary(dict(base, status="diverged", error=str(err), seconds=trainer.seconds()))
        raise
    except BaseException as err:
        if interrupted(err):
            with contextlib.suppress(OSError):
                folder.write_summary(dict(base, status="interrupted", seconds=trainer.seconds()))
            if not isinstance(err, KeyboardInterrupt):
                raise KeyboardInterrupt from err
            raise
        failure = classify(err)
        with contextlib.suppress(OSError):  # a full disk: the summary the run had stays
            folder.write_summary(dict(base, status="failed", error=failure.line, seconds=trainer.seconds()))
        if failure.log:
            err.spikefa_log = write_log(err, folder.path)
        raise
    params = trainer.engine.params
    folder.save_weights(params.arrays(groups=("W", "b", "B", "links")))
    monitor = circuit.brian.monitor
    if circuit.engine == "brian2" and monitor.layers:
        recorded = join(folder.load_monitor_parts())
        if "test" in monitor.when:
            n = monitor.examples
            recorded |= trainer.learner.record(data.x_test[:n], data.y_test[:n], monitor.layers, monitor.variables)
        folder.save_monitors(recorded)
        for part in folder.monitor_parts():
            part.unlink()
        from .nwb import export

        try:
            export(folder.path)  # monitors.nwb beside monitors.npz
        except MissingExtra as err:
            warn(f"{folder.path}: monitors.npz written, not monitors.nwb: {err}")
    folder.write_summary(
        dict(
            base,
            status="complete",
            resumed=resumed,
            seconds=round(trainer.seconds(), 3),
            examples=trainer.pos.examples,
            # what this process did, apart from what the runs it resumed had done
            this_process={
                "seconds": round(time.perf_counter() - trainer.started, 3),
                "examples": trainer.pos.examples - trainer.examples_before,
            },
            final={k: v for k, v in final.items() if k not in ("phase", "kind")},
        )
    )
