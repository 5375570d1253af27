"""Benchmarks: measured, never asserted; each writes its table as JSON to ``benchmarks/results/``."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = RESULTS.parents[1]


def run_cli(circuit: str, sets: list[str], out: Path, cache: str) -> subprocess.CompletedProcess:
    """``spikefa run CIRCUIT --set ... --out OUT`` in a process of its own, from the repository root,
    with the spikefa cache ``cache``."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "spikefa.cli",
            "run",
            circuit,
            *sum((["--set", s] for s in sets), []),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "SPIKEFA_CACHE": cache},
    )


@contextlib.contextmanager
def competing(n: int):
    """``n`` CPU-bound competitor processes (a Python busy loop each) running while the block runs, as on
    a shared workstation; they have taken their cores when the block starts."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        time.sleep(0.5 if loops else 0)
        yield
    finally:
        for p in loops:
            p.kill()
            p.wait()


def row_parser(doc: str) -> argparse.ArgumentParser:
    """The command line of a benchmark that measures row by row, each in a process of its own, with the
    options they share: ``--data-dir``, ``--out``, ``--busy`` and the hidden ``--one``."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--data-dir", help="MNIST folder (default: $SPIKEFA_DATA, else ../shared/data/mnist)")
    p.add_argument("--out", default=str(RESULTS), help="folder for the JSON (default benchmarks/results)")
    p.add_argument("--busy", type=int, default=0, help="competitor processes running throughout")
    p.add_argument("--one", help=argparse.SUPPRESS)
    return p


def answered_one(args: argparse.Namespace, one) -> bool:
    """Where ``--one`` was given (:func:`in_fresh_process`): measure that one row here and print it."""
    if args.one:
        print(json.dumps(one(*json.loads(args.one))))
    return bool(args.one)


def in_fresh_process(module: str, *args) -> dict:
    """``python -m MODULE --one JSON(args)`` in a process of its own (Brian2's standalone device is global):
    the JSON object its last line prints."""
    done = subprocess.run(
        [sys.executable, "-m", module, "--one", json.dumps(args)], capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise RuntimeError(f"{module} {args}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(results: dict[str, dict], name: str, folder: Path = RESULTS) -> Path:
    """Print each section of ``results`` as a Markdown table and write them all to ``FOLDER/NAME.json``."""
    for section, rows in results.items():
        print(f"\n{section}\n| measure | value |\n|---|---|")
        for k, v in rows.items():
            print(f"| {k} | {v:.3g} |" if isinstance(v, float) else f"| {k} | {v} |")
    out = Path(folder) / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    return out


def write_markdown(text: str, name: str, quick: bool = False) -> Path:
    """Print a Markdown table and write it to ``results/NAME.md`` (``results/quick/`` for ``--quick``
    runs, which never replace the full ones)."""
    print(text)
    out = (RESULTS / "quick" if quick else RESULTS) / f"{name}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"written: {out}")
    return out
