"""Learning curves as a PNG: loss and the first metric per epoch, training next to validation."""

from __future__ import annotations

import os
from typing import Any

__all__ = ["plot_history"]


def plot_history(history: Any, path: str | os.PathLike[str], title: str | None = None) -> None:
    """Save ``history`` (a :class:`History` or its ``.history`` dict) as a PNG at ``path``: one panel
    for the loss and one per metric (``accuracy`` first), each with its ``val_`` curve when present.

    Uses matplotlib's object API (no pyplot, no display needed; safe off the main thread).
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plot_history needs matplotlib: pip install matplotlib") from None
    logs = getattr(history, "history", history)
    keys = [k for k in logs if not k.startswith("val_") and k != "lr"]
    keys.sort(key=lambda k: (k != "loss", k != "accuracy", k))
    if not keys:
        raise ValueError("plot_history: the history holds no epochs")
    fig = Figure(figsize=(5 * len(keys), 4), dpi=100)
    axes = fig.subplots(1, len(keys), squeeze=False)[0]
    for ax, key in zip(axes, keys):
        for k, label, style in [(key, "train", "-o"), ("val_" + key, "validation", "-s")]:
            ys = logs.get(k)
            if ys:
                xs = range(1, len(ys) + 1)
                ax.plot(list(xs), [float("nan") if y is None else y for y in ys], style, label=label, markersize=3)
        ax.set_xlabel("epoch")
        ax.set_title(key.replace("_", " "))
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(os.fspath(path), format="png")
