"""Figures from run folders. One colour per rule, everywhere in the project."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from .errors import SpikefaError
from .runs import FIGURE, load_run

RULE_COLORS = {
    "shallow": "#7f7f7f",
    "backprop": "#000000",
    "feedback_alignment": "#1f77b4",
    "direct_feedback_alignment": "#ff7f0e",
    "sign_symmetry": "#9467bd",
    "weight_mirror": "#2ca02c",
    "kolen_pollack": "#d62728",
    "local_classifiers": "#8c564b",
}


def plain_log(*axes) -> None:
    """Tick labels of a log y axis as plain numbers (2, 5, 10) rather than 2×10⁰; on an axis that spans
    less than a decade (read when called: call it after plotting), every minor tick is labelled."""
    for ax in axes:
        low, high = ax.get_ylim()
        shown = "123456789" if high < 10 * low else "25"
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _, shown=shown: f"{v:g}" if f"{v:g}"[0] in shown else ""))


def plot_run(path: str | Path) -> Path:
    """Learning curves of one run — test error (log axis, so 95 and 97 % accuracy stand apart) or NSE,
    loss, B–Wᵀ angles, update angles against backprop — written to ``training.png`` in the run folder;
    returns its path. Each recorded point is marked where there are few."""
    run = load_run(path)
    m, rule = run.metrics, run.config["rule"]["name"]
    color = RULE_COLORS.get(rule, "#17becf")  # a user's rule: one colour of its own
    x = m["examples"]
    style = {"color": color, "marker": "o" if len(m) <= 30 else None, "ms": 3}
    fig = Figure(figsize=(13, 3.2), layout="constrained")
    axes = fig.subplots(1, 4)
    if "test_acc" in m:
        axes[0].plot(x, 100 * (1 - m["test_acc"]), **style)
        axes[0].set_ylabel("test error (%)")
        axes[0].set_title(f"final test accuracy {100 * m['test_acc'].iloc[-1]:.2f} %")
    else:
        axes[0].plot(x, m["test_nse"], **style)
        axes[0].set_ylabel("test NSE")
    axes[1].plot(x, m["train_loss"], label="train", **style)
    axes[1].plot(x, m["test_loss"], ls="--", label="test", **style)
    axes[1].set_ylabel("loss")
    for ax in axes[:2]:
        ax.set_yscale("log")
    plain_log(*axes[:2])
    axes[1].legend(frameon=False)
    for ax, prefix, title in ((axes[2], "angle_B", "B vs Wᵀ"), (axes[3], "angle_dW", "ΔW vs backprop ΔW")):
        cols = [c for c in m.columns if c.startswith(prefix)]
        for k, c in enumerate(cols):
            ax.plot(x, m[c], alpha=1.0 - 0.6 * k / max(1, len(cols)), label=c.removeprefix("angle_"), **style)
        ax.set_ylabel(f"angle {title} (deg)")
        ax.set_ylim(0, 90 if not cols else max(90, float(m[cols].max().max()) + 5))
        if cols:
            ax.legend(frameon=False, fontsize=8)
        else:
            ax.text(0.5, 0.5, "not defined\nfor this rule", ha="center", va="center", transform=ax.transAxes)
    for ax in axes:
        ax.set_xlabel("examples presented")
    fig.suptitle(f"{run.config['name']}: {rule}, {run.config['task']['name']}, seed {run.config['seed']}")
    out = run.path / FIGURE
    fig.savefig(out, dpi=110)
    return out


ACTIVITY = "activity-{}.png"


def recordings(monitors: dict) -> list[str]:
    """The recordings a ``monitors.npz`` holds: ``test``, ``learning``, ``mirror``."""
    kinds = [k for k in ("learning", "mirror") if f"{k}_t" in monitors]
    return (["test"] if any(not k.startswith(("learning_", "mirror_")) for k in monitors) else []) + kinds


def plot_activity(path: str | Path, recording: str = "test") -> Path:
    """What a run's monitors recorded (``recording``: test, learning or mirror), one row per population:
    a raster of its spikes (and its ± error events), a few neurons' membrane potential ``v``, its error
    compartment ``err`` (mean and spread over neurons), and the histogram of its neurons' firing rates.
    Written to ``activity-RECORDING.png`` in the run folder; returns its path."""
    run = load_run(path)
    m = run.monitors
    have = recordings(m)
    if recording not in have:
        raise SpikefaError(
            f"{run.path}: no {recording!r} recording in monitors.npz"
            + (f"; it has {', '.join(have)}" if have else " (set brian.monitor in the circuit)")
        )
    prefix = "" if recording == "test" else f"{recording}_"
    t = m[f"{prefix}t"] if f"{prefix}t" in m else None
    starts = []
    if recording != "test" and t is not None and len(t) > 1:  # windows side by side, on recorded time
        dt = float(np.min(np.diff(t)))
        starts = np.flatnonzero(np.diff(t, prepend=-np.inf) > 1.5 * dt) * dt
        m = {
            k: (np.searchsorted(t, v - dt / 2) * dt if k.endswith("_t") and k != f"{prefix}t" else v)
            for k, v in m.items()
        }
        t = np.arange(len(t)) * dt
    # the recorded populations, as the circuit named them (a name may hold "_": relay_a)
    names = [f"layer{p}" if isinstance(p, int) else p for p in run.config["brian"]["monitor"]["layers"]]
    panels = [("spikes", "raster"), ("v", "membrane v"), ("err", "error compartment"), ("rates", "firing rates")]
    fig = Figure(figsize=(13, 2.2 * len(names)), layout="constrained")
    axes = fig.subplots(len(names), 4, squeeze=False)
    for row, name in zip(axes, names):
        key = f"{prefix}{name}"
        spikes = (m.get(f"{key}_spikes_t"), m.get(f"{key}_spikes_i"))
        _raster(
            row[0],
            spikes,
            [
                (m.get(f"{key}_err_{s}_t"), m.get(f"{key}_err_{s}_i"), c)
                for s, c in (("pos", "#d62728"), ("neg", "#1f77b4"))
            ],
        )
        _traces(row[1], t, m.get(f"{key}_v"), _threshold(run.config, name))
        _spread(row[2], t, m.get(f"{key}_err"))
        _rates(row[3], spikes, t, m.get(f"{key}_r"))
        row[0].set_ylabel(name)
    for ax, (_, title) in zip(axes[0], panels):
        ax.set_title(title)
    for ax in axes[:, :3].ravel():
        for start in starts[1:]:
            ax.axvline(start, color="0.8", lw=0.5, zorder=0)
    for ax in axes[-1][:3]:
        ax.set_xlabel("time (s)" if recording == "test" else "recorded time (s)")
    axes[-1][3].set_xlabel("rate (Hz)")
    for ax in axes[:, 3]:
        ax.set_ylabel("neurons")
    if any(f"{prefix}{name}_err_pos_t" in m or f"{prefix}{name}_err_neg_t" in m for name in names):
        dots = dict(marker="o", ls="none", ms=3)
        axes[0][0].legend(
            handles=[
                Line2D([], [], color="k", label="spikes", **dots),
                Line2D([], [], color="#d62728", label="+ error events", **dots),
                Line2D([], [], color="#1f77b4", label="− error events", **dots),
            ],
            loc="upper right",
            fontsize=7,
            frameon=False,
        )
    windows = "" if recording == "test" else f" ({len(starts)} windows side by side, each from a grey line)"
    fig.suptitle(f"{run.config['name']}: {recording} recording{windows}")
    out = run.path / ACTIVITY.format(recording)
    fig.savefig(out, dpi=110)
    return out


def _empty(ax, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} recorded", ha="center", va="center", transform=ax.transAxes, color="0.5")


def _raster(ax, spikes, events) -> None:
    t, i = spikes
    if t is None:
        return _empty(ax, "spikes")
    ax.scatter(t, i, s=0.5, c="k", lw=0)
    for et, ei, color in events:
        if et is not None:
            ax.scatter(et, ei, s=1.5, c=color, lw=0)


def _threshold(config: dict, name: str) -> float | None:
    """The firing threshold of a layer of the circuit's LIF neurons (None for other populations, and for
    a layer with a neuron model of its own)."""
    brian = config.get("brian", {})
    if (
        brian.get("neurons") != "lif"
        or not name.startswith("layer")
        or name[5:] in map(str, brian.get("populations") or {})
    ):
        return None
    return float(brian["lif"]["v_threshold"])  # a LIF circuit's resolved config has every lif field


def _traces(ax, t, v, threshold: float | None, shown: int = 3) -> None:
    if v is None or t is None:
        return _empty(ax, "v")
    for k in range(min(shown, len(v))):
        ax.plot(t, v[k], lw=0.6)
    if threshold is not None:
        ax.axhline(threshold, color="0.4", ls=":", lw=0.8, label="threshold")
        ax.legend(loc="upper right", fontsize=7, frameon=False)


def _spread(ax, t, err) -> None:
    if err is None or t is None:
        return _empty(ax, "err")
    mean, sd = err.mean(0), err.std(0)
    ax.plot(t, mean, color="k", lw=0.8)
    ax.fill_between(t, mean - sd, mean + sd, color="0.7", lw=0)


def _rates(ax, spikes, t, r) -> None:
    """Each neuron's rate over the recording: spike count / recorded time (or, for rate populations,
    its mean rate variable r)."""
    times, i = spikes
    if times is not None and t is not None and len(t) > 1:
        n = int(i.max()) + 1 if len(i) else 1
        seconds = len(t) * (t[1] - t[0])
        ax.hist(np.bincount(i, minlength=n) / seconds, bins=20, color="0.3")
    elif r is not None:
        ax.hist(r.mean(1), bins=20, color="0.3")
        ax.set_xlabel("mean r")
    else:
        _empty(ax, "spikes or r")
