"""Pictures of what a convolutional network learned: first-layer filters and feature maps, as PNGs.

``plot_first_layer(model, image, "features.png")`` writes one picture with the input image, the
filters of the model's first ``Conv2d`` and that layer's output (one map per filter) for the image.
The pieces are separate too: :func:`first_conv`, :func:`feature_maps`, :func:`plot_filters`,
:func:`plot_feature_maps`. Uses matplotlib's object API with the Agg renderer (no pyplot, no
display, no global backend change; safe off the main thread). :func:`draw_graph` (from
``graph_picture.py``) draws an autograd graph with Graphviz.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy

from . import nn
from .autograd import no_grad
from .graph_picture import draw_graph
from .tensor import Tensor

__all__ = ["first_conv", "feature_maps", "plot_filters", "plot_feature_maps", "plot_first_layer", "draw_graph"]


def _figure(figsize: tuple):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("nabla.viz needs matplotlib: pip install matplotlib") from None
    return Figure(figsize=figsize, dpi=100)


def first_conv(model: nn.Module) -> nn.Conv2d:
    """The first ``Conv2d`` in ``model.modules()`` order (the model itself when it is one)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return m
    raise ValueError(f"first_conv: {type(model).__name__} has no Conv2d layer")


def _as_batch(image: Any, op: str) -> Tensor:
    x = image if isinstance(image, Tensor) else Tensor(numpy.asarray(image, dtype=numpy.float32))
    if x.ndim == 2:
        x = x.reshape(1, 1, *x.shape)
    elif x.ndim == 3:
        x = x.unsqueeze(0)
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"{op}: expected one image (H, W), (C, H, W) or (1, C, H, W), got shape {tuple(x.shape)}")
    return x


def feature_maps(model: nn.Module, image: Any, layer: nn.Module | None = None) -> numpy.ndarray:
    """The output (C, H, W) of ``layer`` (default: the first Conv2d) when ``model`` sees ``image``.

    The model runs once in eval mode under ``no_grad`` (and goes back to its previous mode); a
    forward hook catches the layer's output.
    """
    layer = first_conv(model) if layer is None else layer
    x = _as_batch(image, "feature_maps")
    caught: list = []
    handle = layer.register_forward_hook(lambda mod, args, out: caught.append(out))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            model(x)
    finally:
        handle.remove()
        model.train(was_training)
    if not caught:
        raise ValueError(f"feature_maps: {type(layer).__name__} did not run in the model's forward pass")
    out = caught[0]
    if not isinstance(out, Tensor) or out.ndim != 4:
        got = getattr(out, "shape", out)
        raise ValueError(f"feature_maps: the layer's output is not an (N, C, H, W) tensor: {got}")
    return out.detach().to("cpu").numpy()[0]


def _grid(fig, images: list, title: str, cmap: str, cols: int | None = None) -> None:
    n = len(images)
    cols = cols or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k < n:
            ax.imshow(images[k], cmap=cmap, interpolation="nearest")
    fig.suptitle(title)


def _normalise(a: numpy.ndarray) -> numpy.ndarray:
    lo, hi = float(a.min()), float(a.max())
    return (a - lo) / (hi - lo) if hi > lo else numpy.zeros_like(a)


def _filter_images(weight: Any) -> list:
    w = weight.detach().to("cpu").numpy() if isinstance(weight, Tensor) else numpy.asarray(weight)
    if w.ndim != 4:
        raise ValueError(f"plot_filters: expected a conv weight (out, in, kh, kw), got shape {w.shape}")
    if w.shape[1] == 3:  # an RGB filter: show it in colour
        return [_normalise(f.transpose(1, 2, 0)) for f in w]
    return [_normalise(f.mean(axis=0)) for f in w]  # one channel (or the mean over many)


def plot_filters(weight: Any, path: str | os.PathLike[str], title: str = "filters") -> str:
    """Save the (out, in, kh, kw) filters of a conv layer (or the layer itself) as a PNG grid; returns the path."""
    if isinstance(weight, nn.Module):
        weight = weight.weight
    images = _filter_images(weight)
    fig = _figure((6, 6))
    _grid(fig, images, title, "gray")
    fig.savefig(os.fspath(path), format="png")
    return os.fspath(path)


def plot_feature_maps(maps: numpy.ndarray, path: str | os.PathLike[str], title: str = "feature maps") -> str:
    """Save (C, H, W) feature maps as a PNG grid, one panel per channel; returns the path."""
    maps = numpy.asarray(maps)
    if maps.ndim != 3:
        raise ValueError(f"plot_feature_maps: expected maps (C, H, W), got shape {maps.shape}")
    fig = _figure((6, 6))
    _grid(fig, list(maps), title, "viridis")
    fig.savefig(os.fspath(path), format="png")
    return os.fspath(path)


def plot_first_layer(model: nn.Module, image: Any, path: str | os.PathLike[str], layer: nn.Module | None = None,
                     title: str | None = None) -> str:
    """One PNG: the input image, the first Conv2d's filters, and its feature maps for ``image``.

    ``image``: (H, W), (C, H, W) or (1, C, H, W), as the model takes it; ``title`` labels the input
    (default "input"). Returns the path written.
    """
    conv = first_conv(model) if layer is None else layer
    x = _as_batch(image, "plot_first_layer")
    maps = feature_maps(model, x, conv)
    filters = _filter_images(conv.weight)
    img = x.detach().to("cpu").numpy()[0]
    img = _normalise(img.transpose(1, 2, 0)) if img.shape[0] == 3 else img.mean(axis=0)
    fig = _figure((12, 6))
    left, mid, right = fig.subfigures(1, 3, width_ratios=[1, 2, 2])
    ax = left.subplots()
    ax.imshow(img, cmap="gray", interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title or "input")
    kh, kw = conv.weight.shape[2:]
    _grid(mid, filters, f"first layer: {len(filters)} filters {kh}x{kw}", "gray")
    _grid(right, list(maps), f"its feature maps {maps.shape[1]}x{maps.shape[2]}", "viridis")
    fig.savefig(os.fspath(path), format="png")
    return os.fspath(path)
