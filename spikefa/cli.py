"""The ``spikefa`` command: run | list | plot | figure | sweep.

One boundary: every exception that reaches :func:`main` becomes one line and an exit code
(:mod:`spikefa.failures`: 0 success, 1 a bug in spikefa, 2 bad input, 3 diverged, 4 the user's own code
failed, 5 the system, 130 interrupted), with the traceback in a log file where one is needed; ``--debug``
shows tracebacks instead. Warnings about run folders print as ``spikefa: warning: …``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import warnings
from pathlib import Path

from . import __version__, schema, spec, threads
from .errors import CodeNotLoaded, DivergenceError, SpikefaError, SpikefaWarning
from .failures import report
from .yamlfile import cut


def cmd_run(args) -> int:
    from .runs import FIGURE, safe_name
    from .training import run_circuit

    path = spec.circuit_path(args.circuit)
    overrides = list(args.set or [])
    if args.engine:
        overrides.append(f"engine={args.engine}")
    circuit = spec.load_circuit(path, overrides)
    out = Path(args.out) if args.out else Path("runs") / safe_name(circuit.name)
    n_threads = threads.choose(args.threads)
    print(
        f"spikefa: {cut(circuit.name)} — {circuit.rule.name} on {circuit.task.name}, "
        f"{cut('-'.join(map(str, circuit.network.sizes)))} {circuit.network.hidden}, engine {circuit.engine}, "
        f"seed {circuit.seed}, {n_threads} thread{'s' if n_threads > 1 else ''} → {out}",
        flush=True,
    )
    try:
        folder = run_circuit(
            circuit,
            out,
            data_dir=args.data_dir,
            progress=not args.quiet,
            overwrite=args.overwrite,
            source=str(path),
            threads=n_threads,
        )
    except DivergenceError as err:
        raise DivergenceError(f"{err}. Metrics recorded so far are in {out}") from err
    if folder.reused:
        print(f"{out} already holds this finished run; showing it (--overwrite runs it again)")
    summary = folder.summary()
    final = summary["final"]
    key = "test_acc" if "test_acc" in final else "test_nse"
    if final.get(key) != final.get(key):  # NaN: the last row measured no test set (a mirror phase's)
        score = "no test measured (mirror phase last)"
    elif key == "test_acc":
        score = f"test accuracy {100 * final['test_acc']:.2f} %; loss {final['test_loss']:.4f}"
    else:
        score = f"test NSE {final['test_nse']:.4g}; loss {final['test_loss']:.4f}"
    angles = ", ".join(
        f"{k.removeprefix('angle_')} {v:.1f}°" for k, v in final.items() if k.startswith("angle_") and v == v
    )
    now = summary.get("this_process")
    if folder.reused or now is None:
        work = f"{summary['examples']} examples in {summary['seconds']:.1f} s"
    elif summary.get("resumed"):
        work = (
            f"{now['examples']} examples in {now['seconds']:.1f} s after resuming "
            f"({summary['examples']} in {summary['seconds']:.1f} s in all)"
        )
    else:
        work = f"{now['examples']} examples in {now['seconds']:.1f} s"
    print(f"{score}; angles: {angles or 'none'}; {work}")
    print(f"run folder: {folder.path}  (figure: {folder.path / FIGURE})")
    return 0


def cmd_list(args) -> int:
    from .rules import REGISTRY

    root = Path(args.dir)
    files = sorted(root.rglob("*.yaml"), key=lambda f: (len(f.relative_to(root).parts), f))  # subfolders last
    names = {f: f.relative_to(root).with_suffix("").as_posix() for f in files}  # what spikefa run takes
    width = max([len(name) for name in REGISTRY] + [len(n) for n in names.values()]) + 2
    print("rules:")
    for name, cls in REGISTRY.items():
        kind = (
            "transports W"
            if cls.transports_weights
            else "learns B"
            if cls.learns_feedback
            else "no B"
            if cls.topology == "none"
            else "fixed B"
        )
        print(f"  {name:{width}s} [{kind}, {cls.topology}] {(cls.__doc__ or '').strip().splitlines()[0]}")
    print(f"circuits ({args.dir}/):" if files else f"no circuit files in {args.dir}/")
    for f in files:
        try:
            c = spec.load_circuit(f, load_code=False)  # listing never runs a user's code
            rule = c.rule.name.rpartition("/")[2]  # a user's rule file: its name, not its whole path
            print(
                f"  {names[f]:{width}s} {rule}, {c.task.name} {cut('-'.join(map(str, c.network.sizes)))}"
                + (f" — {cut(c.description, 120)}" if c.description else "")
            )
        except CodeNotLoaded:
            raw = spec.read_yaml(f).get("rule")
            rule = str(raw.get("name") if isinstance(raw, dict) else raw).rpartition("/")[2]
            print(f"  {names[f]:{width}s} {cut(rule)} (a user's rule: checked when run, not imported to list)")
        except SpikefaError as err:
            print(f"  {names[f]:{width}s} INVALID: {err}")
    return 0


def cmd_plot(args) -> int:
    from .plots import plot_activity, plot_run, recordings
    from .runs import load_run

    print(plot_run(args.run_dir))
    chosen = [args.activity] if args.activity else recordings(load_run(args.run_dir).monitors)
    for recording in chosen:
        print(plot_activity(args.run_dir, recording))
    return 0


def cmd_figure(args) -> int:
    import time

    from .figures import FIGURES, Runner, make_figure

    names = list(FIGURES) if args.all else args.names
    if not names:
        raise SpikefaError(f"figure: name one or more figures or pass --all; allowed: {', '.join(FIGURES)}")
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise SpikefaError(f"figure: unknown figure {unknown[0]!r}; allowed: {', '.join(FIGURES)}")
    runner = Runner(args.runs, data_dir=args.data_dir, quick=args.quick, progress=not args.quiet)
    for name in names:
        start = time.perf_counter()
        paths = make_figure(name, runner, args.out)
        print(f"{name}: {', '.join(map(str, paths))} ({time.perf_counter() - start:.0f} s)", flush=True)
    return 0


def cmd_sweep(args) -> int:
    from .sweeps import parse_grid, run_sweep

    path = spec.circuit_path(args.circuit)
    grid = parse_grid(args.grid or [])
    if args.seeds is not None and args.seeds < 1:
        raise SpikefaError(f"--seeds: must be a positive integer, got {args.seeds}")
    if args.workers is not None and args.workers < 1:
        raise SpikefaError(f"--workers: must be a positive integer, got {args.workers}")
    out = Path(args.out) if args.out else Path("runs") / "sweeps" / path.stem
    table = run_sweep(
        path,
        grid,
        args.seeds or 0,
        out,
        scheduler=args.scheduler,
        workers=args.workers,
        data_dir=args.data_dir,
        progress=not args.quiet,
        threads=threads.choose(args.threads),
    )
    failed = table[table["status"] != "complete"]
    print(f"{len(table)} runs, {len(failed)} failed → {out / 'results.csv'}, {out / 'sweep.png'}")
    for _, row in failed.iterrows():
        print(f"  failed: {row.to_dict()}", file=sys.stderr)
    return 0


def cmd_schema(args) -> int:
    sys.stdout.write(schema.json_text())
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (the usage is one ``--help`` away), exit code 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {cut(message, 240)} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="spikefa", description="Learning without weight transport, in rate and spiking circuits.")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.add_argument("--version", action="version", version=f"spikefa {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run a circuit file into a run folder")
    r.add_argument("circuit", help="circuit file, or a name in circuits/")
    r.add_argument("--engine", choices=schema.ENGINES)
    r.add_argument("--out", help="run folder (default: runs/NAME); a folder of the same circuit is resumed")
    r.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a field, e.g. rule=backprop")
    r.add_argument("--data-dir", help="folder with the MNIST IDX files (else SPIKEFA_DATA, else task.data_dir)")
    r.add_argument("--overwrite", action="store_true", help="replace whatever --out holds")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--threads", type=int, help=f"BLAS threads (default: ${threads.ENV}, else 1)")
    r.set_defaults(func=cmd_run)
    ls = sub.add_parser("list", help="list the rules and the circuit files")
    ls.add_argument("--dir", default="circuits")
    ls.set_defaults(func=cmd_list)
    pl = sub.add_parser("plot", help="draw a run folder's learning curves, and the activity its monitors recorded")
    pl.add_argument("run_dir")
    pl.add_argument(
        "--activity",
        choices=("test", "learning", "mirror"),
        help="only this recording of monitors.npz (default: every one it holds)",
    )
    pl.set_defaults(func=cmd_plot)
    fg = sub.add_parser("figure", help="run the circuits a paper figure needs and draw it (figures/NAME.png, .pdf)")
    fg.add_argument("names", nargs="*", metavar="NAME", help="figure names (spikefa figure --all makes every one)")
    fg.add_argument("--all", action="store_true", help="every figure")
    fg.add_argument("--out", default="figures", help="folder for the figures (default: figures)")
    fg.add_argument("--runs", default="runs/figures", help="folder of the run folders, reused when unchanged")
    fg.add_argument("--quick", action="store_true", help="small configurations (seconds): a preview, not the result")
    fg.add_argument("--data-dir", help="folder with the MNIST IDX files (else SPIKEFA_DATA, else task.data_dir)")
    fg.add_argument("--quiet", action="store_true", help="no progress bars")
    fg.set_defaults(func=cmd_figure)
    sw = sub.add_parser("sweep", help="run a grid of circuit fields × seeds on Dask, one run folder per point")
    sw.add_argument("circuit", help="circuit file, or a name in circuits/ (its sweep: block is used too)")
    sw.add_argument("--grid", action="append", metavar="KEY=V1,V2", help="a swept field and its values")
    sw.add_argument("--seeds", type=int, help="seeds 1 … N per grid point (default: the file's, else 1)")
    sw.add_argument("--out", help="sweep folder (default: runs/sweeps/NAME); re-running it resumes")
    sw.add_argument("--scheduler", help="address of a running Dask scheduler (default: a local cluster)")
    sw.add_argument("--workers", type=int, help="local cluster: worker processes (default: one per core)")
    sw.add_argument("--data-dir", help="folder with the MNIST IDX files (else SPIKEFA_DATA, else task.data_dir)")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")
    sw.add_argument(
        "--threads",
        type=int,
        help=f"BLAS threads per worker (default: ${threads.ENV}, else 1)",
    )
    sw.set_defaults(func=cmd_sweep)
    sc = sub.add_parser("schema", help="print the circuit files' JSON Schema (for editors: the YAML language server)")
    sc.set_defaults(func=cmd_schema)
    return p


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `spikefa list | head` ends quietly
    args = parser().parse_args(argv)
    with warnings.catch_warnings():  # restores the filters and showwarning afterwards
        warnings.simplefilter("always", SpikefaWarning)
        shown = warnings.showwarning

        def show(message, category, *where, **kwargs) -> None:  # spikefa's own warnings as one line
            if issubclass(category, SpikefaWarning):
                print(f"spikefa: warning: {' '.join(str(message).split())}", file=sys.stderr, flush=True)
            else:
                shown(message, category, *where, **kwargs)

        warnings.showwarning = show
        try:
            return args.func(args)
        except BaseException as err:  # the one boundary: a line and an exit code (spikefa.failures)
            if args.debug:
                raise
            return report(err)


if __name__ == "__main__":
    sys.exit(main())
