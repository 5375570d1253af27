"""Brian2 targets, one run, the same inputs: spikefa's rate and LIF circuits on every target and path,
against the plain Brian2 floor (the same compiled network, no plasticity) and a PyTorch LIF with
feedback alignment at batch 1.

    python -m benchmarks.targets [--examples 1000] [--lif-examples 500] [--widths 100 500 1000 2000 4000]
                                 [--busy N] [--data-dir DIR] [--neurons rate lif]

784-H-10 on the first MNIST training images, FA, one example per learning step. Every measurement runs
in a process of its own (Brian2's standalone device is global), one after another:

- ``cython kernels``: the Python schedule with the shared Numba kernels (the runtime default);
- ``cython code`` and ``cpp_standalone``: the schedule and plasticity as Brian2 code (``plasticity: code``);
- ``cpp_standalone online`` (LIF only): the same, learning online on spike events (``learning: online``:
  every synapse changes on each of its presynaptic spikes instead of once per example);
- ``standalone floor``: the same compiled project with its weight changes switched off (no plasticity);
- ``torch``: a PyTorch LIF network of the same size, time step and schedule, FA per example, batch 1
  (only where ``torch`` is installed).

Each spikefa row: a first block of all the examples (compilation included: its time is ``first_block_s``),
then the timed block, the same examples again; examples/s = examples / timed seconds. Where the time
goes: the timed block under Brian2's profiler — simulation (every code object but the weight changes),
plasticity (the ``*_learn`` objects, or the kernels on the Python path) and the rest (Python: the schedule,
Brian2's network loop, run_args and result files). Ratios are against the standalone floor and the
cython-kernels row measured in the same run. ``--busy N``: the same with N CPU-bound competitor
processes (a Python busy loop each) running throughout, as on a shared workstation. Writes
``benchmarks/results/targets.json`` (``targets_busy.json`` with ``--busy``).
"""

from __future__ import annotations

import functools
import time

import numpy as np

from benchmarks import answered_one, competing, in_fresh_process, report, row_parser
from benchmarks.brian_speed import PlasticityClock, mnist

ROWS = {  # name → (target, plasticity, floor, learning)
    "cython kernels": ("cython", "kernels", False, "example"),
    "cython code": ("cython", "code", False, "example"),
    "cpp_standalone": ("cpp_standalone", "code", False, "example"),
    "cpp_standalone online": ("cpp_standalone", "code", False, "online"),
    "standalone floor": ("cpp_standalone", "code", True, "example"),
}


def one(neurons: str, row: str, hidden: int, n: int, data_dir: str | None) -> dict:
    """One measurement, in this process."""
    x, y = mnist(n, data_dir)
    if row == "torch":
        return torch_lif(x, y, hidden) if neurons == "lif" else {}
    from spikefa import circuit_from_dict
    from spikefa.brian import Circuit
    from spikefa.reference import ReferenceEngine

    target, plasticity, floor, learning = ROWS[row]
    if learning == "online" and neurons != "lif":
        return {}
    c = circuit_from_dict(
        {
            "name": "speed",
            "seed": 0,
            "engine": "brian2",
            "brian": {"neurons": neurons, "target": target, "plasticity": plasticity}
            | ({"learning": learning} if learning == "online" else {}),
            "network": {"sizes": [784, hidden, 10], "hidden": "tanh" if neurons == "rate" else "relu"},
            "task": "mnist",
            "rule": "feedback_alignment",
            "optimizer": {"lr": 0.01, "batch_size": n},
        }
    )
    engine = ReferenceEngine(c, np.random.default_rng(1))
    brian = Circuit.for_engine(engine)
    learn = brian.generated.plastic if hasattr(brian, "generated") else []
    if floor:
        for o in learn:
            o.active = False
    run = brian.network.run
    brian.network.run = functools.partial(run, profile=True)
    clock = PlasticityClock(engine)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    brian.train_batch(x, y, 0.01, rng)
    first = time.perf_counter() - start
    clock.seconds = 0.0
    start = time.perf_counter()
    brian.train_batch(x, y, 0.01, rng)
    total = time.perf_counter() - start
    profile = {name: float(t) for name, t in brian.network.profiling_info if not name.startswith("networkoperation")}
    plastic = {o.name for o in learn} | {f"{o.name}_codeobject" for o in learn}
    plasticity_s = clock.seconds + sum(t for k, t in profile.items() if k.split("_codeobject")[0] in plastic)
    simulation_s = sum(profile.values()) - (plasticity_s - clock.seconds)
    return {
        "examples_per_s": n / total,
        "first_block_s": first,
        "simulation_share": simulation_s / total,
        "plasticity_share": plasticity_s / total,
        "python_share": 1 - (simulation_s + plasticity_s) / total,
    }


def torch_lif(x: np.ndarray, y: np.ndarray, hidden: int) -> dict:
    """A LIF network in PyTorch (CPU, one thread, float32, batch 1) on spikefa's default schedule: 80
    forward steps of 0.5 ms (regular input encoders at x · 200 Hz, LIF hidden and output with synaptic
    drive and rate traces), 40 error steps (the output error sent back through a fixed random B as
    ± error events at 500 Hz · |δ|), then the FA update of W0, W1 from the traces."""
    try:
        import torch
    except ImportError:
        return {}
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    dt, tau_m, tau_syn, tau_tr, tau_err, theta, rate, err_rate, lr = 5e-4, 0.01, 0.005, 0.02, 0.005, 0.5, 200, 500, 0.01
    W0 = (torch.rand(hidden, 784, generator=g) - 0.5) * 2 * (6 / (784 + hidden)) ** 0.5
    W1 = (torch.rand(10, hidden, generator=g) - 0.5) * 2 * (6 / (hidden + 10)) ** 0.5
    B1 = (torch.rand(hidden, 10, generator=g) - 0.5) * 2 * (6 / (hidden + 10)) ** 0.5
    X, Y = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)

    def example(k: int) -> None:
        nonlocal W0, W1
        phase = torch.rand(784, generator=g)
        u1, v1, r1, ub1 = (torch.zeros(hidden) for _ in range(4))
        u2, v2, r2, ub2 = (torch.zeros(10) for _ in range(4))
        r0, err, delta = torch.zeros(784), torch.zeros(hidden), torch.zeros(10)
        for step in range(120):
            phase += X[k] * rate * dt
            s0 = (phase > 1).float()
            phase -= s0
            r0 += s0 / (tau_tr * rate) - r0 * dt / tau_tr
            u1 += W0 @ s0 / (rate * tau_syn) - u1 * dt / tau_syn
            v1 += (u1 - v1) * dt / tau_m
            s1 = (v1 > theta).float()
            v1 *= 1 - s1
            r1 += s1 / (tau_tr * rate) - r1 * dt / tau_tr
            ub1 += (u1 - ub1) * dt / tau_tr
            u2 += W1 @ s1 / (rate * tau_syn) - u2 * dt / tau_syn
            v2 += (u2 - v2) * dt / tau_m
            v2 *= 1 - (v2 > theta).float()
            ub2 += (u2 - ub2) * dt / tau_tr
            if step == 80:
                delta = torch.softmax(ub2 / 0.86, 0) - Y[k]
            if step >= 80:
                fire = (torch.rand(10, generator=g) < err_rate * dt * delta.abs().clamp(0, 1)).float()
                err += B1 @ (fire * delta.sign()) / (err_rate * tau_err) - err * dt / tau_err
        h1 = (ub1 > 0).float()
        W1 -= lr * torch.outer(delta, r1 / 0.95)
        W0 -= lr * torch.outer(err * h1, r0 / 0.95)

    example(0)
    start = time.perf_counter()
    for k in range(len(x)):
        example(k)
    return {"examples_per_s": len(x) / (time.perf_counter() - start), "torch": torch.__version__}


measured = functools.partial(in_fresh_process, "benchmarks.targets")  # one row, in a process of its own


def main(argv: list[str] | None = None) -> dict:
    p = row_parser(__doc__)
    p.add_argument("--examples", type=int, default=1000, help="rate circuit")
    p.add_argument("--lif-examples", type=int, default=500)
    p.add_argument("--widths", type=int, nargs="*", default=[100, 500, 1000, 2000, 4000], help="none: no scan")
    p.add_argument("--neurons", nargs="+", default=["rate", "lif"], choices=["rate", "lif"], help="circuits to measure")
    args = p.parse_args(argv)
    if answered_one(args, one):
        return {}
    with competing(args.busy):
        results = measure_all(args)
    report(results, "targets_busy" if args.busy else "targets", args.out)
    return results


def measure_all(args) -> dict:
    results = {}
    for neurons, n in (("rate", args.examples), ("lif", args.lif_examples)):
        if neurons not in args.neurons:
            continue
        rows = {row: measured(neurons, row, 500, n, args.data_dir) for row in [*ROWS, "torch"]}
        rows = {k: v for k, v in rows.items() if v}
        floor, kernels = rows["standalone floor"]["examples_per_s"], rows["cython kernels"]["examples_per_s"]
        section = {}
        for row, r in rows.items():
            for key, value in r.items():
                section[f"{row}: {key}"] = value
            section[f"{row}: / standalone floor"] = r["examples_per_s"] / floor
            section[f"{row}: / cython kernels"] = r["examples_per_s"] / kernels
        if "cpp_standalone online" in rows:  # learning on spike events against learning once per example
            section["cpp_standalone online: / cpp_standalone"] = (
                rows["cpp_standalone online"]["examples_per_s"] / rows["cpp_standalone"]["examples_per_s"]
            )
        results[f"{neurons} 784-500-10"] = section
        if args.widths:
            k = max(n // 4, 50)
            scan = {w: measured(neurons, "cpp_standalone", w, k, args.data_dir)["examples_per_s"] for w in args.widths}
            widths = np.array(list(scan))
            ms = 1e3 / np.array(list(scan.values()))
            results[f"{neurons} cpp_standalone width scan"] = {
                **{f"ms_per_example_hidden_{w}": float(t) for w, t in zip(widths, ms)},
                "exponent": float(np.polyfit(np.log(widths), np.log(ms), 1)[0]),
            }
    return results


if __name__ == "__main__":
    main()
