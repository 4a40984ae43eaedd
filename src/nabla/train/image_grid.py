"""Image grids: one PNG of many small images, and the callback that writes one per epoch.

A model that defines ``progress_images(x, y) -> array (n, C, H, W) in [0, 1]`` (the generative models:
reconstructions of held-out images, or samples from fixed noise) gets, with :class:`ImageGrid`, a
picture of each epoch in ``out/<prefix>_epoch<N>.png`` — the way one watches a GAN or an autoencoder
learn.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy

from .callbacks import Callback

__all__ = ["make_grid", "save_image_grid", "ImageGrid"]


def make_grid(images: Any, nrow: int = 8, padding: int = 2, pad_value: float = 1.0) -> numpy.ndarray:
    """Tile images ``(n, C, H, W)`` (or ``(n, H, W)``) into one ``(rows*(H+p)+p, nrow*(W+p)+p[, 3])`` array,
    ``nrow`` per row, separated by ``padding`` pixels of ``pad_value`` (torchvision's ``make_grid``)."""
    a = images.numpy() if hasattr(images, "numpy") else numpy.asarray(images)
    if a.ndim == 3:
        a = a[:, None]
    if a.ndim != 4 or a.shape[1] not in (1, 3) or len(a) == 0:
        raise ValueError(f"make_grid: expected images (n, C, H, W) with C 1 or 3 and n > 0, got shape {a.shape}")
    n, c, h, w = a.shape
    cols = max(1, min(nrow, n))
    rows = math.ceil(n / cols)
    grid = numpy.full((c, rows * (h + padding) + padding, cols * (w + padding) + padding), pad_value, numpy.float32)
    for i in range(n):
        r, k = divmod(i, cols)
        y0, x0 = padding + r * (h + padding), padding + k * (w + padding)
        grid[:, y0:y0 + h, x0:x0 + w] = a[i]
    return numpy.clip(grid[0] if c == 1 else grid.transpose(1, 2, 0), 0.0, 1.0)


def save_image_grid(images: Any, path: str | os.PathLike[str], nrow: int = 8, scale: int = 2) -> Path:
    """Write :func:`make_grid` of ``images`` (values in [0, 1]) to the PNG ``path``, each pixel
    ``scale`` x ``scale`` (28x28 digits are small); returns the path."""
    from matplotlib.image import imsave

    grid = make_grid(images, nrow)
    if scale > 1:
        grid = grid.repeat(scale, 0).repeat(scale, 1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    imsave(path, grid, cmap="gray", vmin=0.0, vmax=1.0)
    return path


class ImageGrid(Callback):
    """After each epoch, save ``model.progress_images(x, y)`` as ``out/<prefix>_epoch<N>.png`` (N from 1).

    ``x``, ``y``: a fixed batch (e.g. the first held-out images) the model may reconstruct; a GAN draws
    from its own fixed noise instead. The images are made in eval mode with the model's own fixed draws,
    so writing them changes neither the weights nor the random stream (resumed runs stay bit-exact).
    """

    def __init__(self, out: str | os.PathLike[str], x: Any = None, y: Any = None, prefix: str = "samples",
                 nrow: int = 8) -> None:
        self.out, self.x, self.y, self.prefix, self.nrow = Path(out), x, y, prefix, nrow
        self.paths: list[Path] = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        model = self.trainer.model
        x = self.x
        if x is not None and getattr(self.trainer, "device", None) is not None:
            x = x.to(self.trainer.device)
        images = model.progress_images(x, self.y)
        self.paths.append(save_image_grid(images, self.out / f"{self.prefix}_epoch{epoch + 1:03d}.png", self.nrow))
