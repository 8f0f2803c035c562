"""Training curves as PNG, drawn with matplotlib's object API (no pyplot global state)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from ganforge.io.atomic import atomic_write


def plot_training_curves(records: Sequence[dict], path: Path, events: Sequence[dict] = ()) -> Path:
    """Losses (top) and D's mean outputs on real and fake images (middle; with --lr-decay-from the
    learning rates' factor too) against step, and with ADA its p and r_t (bottom); health events
    ({"step", "health"}) as labelled vertical lines."""
    steps = [r["step"] for r in records]
    ada = "ada_p" in records[0]
    fig = Figure(figsize=(8, 8.5 if ada else 6), dpi=100)
    FigureCanvasAgg(fig)
    top, bottom, *rest = fig.subplots(3 if ada else 2, 1, sharex=True)
    top.plot(steps, [r["loss_d"] for r in records], label="discriminator loss")
    top.plot(steps, [r["loss_g"] for r in records], label="generator loss")
    top.set_ylabel("loss")
    top.legend(loc="upper right")
    top.grid(alpha=0.3)
    bottom.plot(steps, [r["d_real"] for r in records], label="D(x), real")
    bottom.plot(steps, [r["d_fake"] for r in records], label="D(G(z)), fake")
    bottom.axhline(0.5, color="grey", lw=0.8, ls="--")
    decayed = any("lr_scale" in r for r in records)  # --lr-decay-from (a resumed run's earlier lines lack it: 1)
    if decayed:
        bottom.plot(steps, [r.get("lr_scale", 1.0) for r in records], color="black", lw=1, ls=":",
                    label="learning-rate factor")
    bottom.set_ylim(0, 1.03 if decayed else 1)  # a factor of 1 above the frame
    bottom.set_ylabel("mean D output")
    bottom.legend(loc="upper right")
    bottom.grid(alpha=0.3)
    for axis in rest:
        axis.plot(steps, [r["ada_p"] for r in records], label="ADA p")
        axis.plot(steps, [r["ada_rt"] for r in records], label="r_t = E[sign D(x)]")
        axis.set_ylim(-1.05, 1.05)
        axis.set_ylabel("augmentation")
        axis.legend(loc="lower right")
        axis.grid(alpha=0.3)
    (rest or [bottom])[-1].set_xlabel("generator step")
    for event in events:
        for axis in (top, bottom):
            axis.axvline(event["step"], color="tab:red", lw=0.8, alpha=0.7)
        bottom.annotate(event["health"], (event["step"], 0.5), xycoords=("data", "axes fraction"), rotation=90,
                        va="center", ha="center", fontsize=7, color="tab:red",
                        bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8})
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    return path


def plot_evaluation_curves(records: Sequence[dict], path: Path) -> Path:
    """One panel per evaluation metric against step."""
    names = [k for k in records[0] if k != "step"]
    steps = [r["step"] for r in records]
    fig = Figure(figsize=(8, 2.6 * len(names)), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(names), 1, sharex=True, squeeze=False)[:, 0]
    for ax, name in zip(axes, names):
        ax.plot(steps, [r[name] for r in records], marker="o", ms=3)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("generator step")
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    return path


def plot_toy_samples(panels: Sequence[tuple[str, "object", "object"]], path: Path, columns: int = 4) -> Path:
    """Scatter plots of generated 2-D points (blue) over the real mode centres (red crosses).

    panels: (title, samples (N, 2), centres (K, 2)) arrays or tensors.
    """
    rows = (len(panels) + columns - 1) // columns
    fig = Figure(figsize=(3 * columns, 3 * rows), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, (title, samples, centres) in zip(axes, panels):
        ax.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.4, color="tab:blue")
        ax.scatter(centres[:, 0], centres[:, 1], s=40, marker="x", color="tab:red")
        ax.set_title(title, fontsize=9)
        lim = float(abs(centres).max()) * 1.6
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(panels):]:
        ax.axis("off")
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    return path


def plot_error_curves(runs: Sequence[tuple[str, str, Sequence[dict]]], path: Path,
                      reference: tuple[str, float] | None = None) -> Path:
    """Test error (%, log scale) against update for several runs on one axis.

    runs: (group, kind, records) with records [{"step", "test_error" (a fraction)}, ...]; runs of a
    group share a colour, runs of a kind a line style (first kind solid, then dashed, dotted).
    reference: (label, error in %) drawn as a grey horizontal line, e.g. a paper's figure.
    """
    if not runs or any(not records for _, _, records in runs):
        raise ValueError("plot_error_curves needs at least one run, each with at least one record")
    groups = list(dict.fromkeys(group for group, _, _ in runs))
    kinds = list(dict.fromkeys(kind for _, kind, _ in runs))
    fig = Figure(figsize=(8, 5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for group, kind, records in runs:
        ax.plot([r["step"] for r in records], [100 * r["test_error"] for r in records],
                color=f"C{groups.index(group) % 10}", ls=("-", "--", ":", "-.")[kinds.index(kind) % 4],
                marker="o", ms=3, label=f"{group}, {kind}")
    if reference is not None:
        ax.axhline(reference[1], color="grey", lw=1, ls=(0, (1, 3)), label=reference[0])
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.set_xlabel("update")
    ax.set_ylabel("test error (%)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    return path
