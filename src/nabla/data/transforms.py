"""Transforms for image data in (C, H, W) layout, as ``torchvision.transforms`` has them.

Each transform takes one sample (C, H, W) or a whole batch (N, C, H, W) — a Tensor or an array —
and returns a Tensor. Random transforms draw from nabla's generator (``nabla.manual_seed``), and on
a batch they draw independently per sample with one vectorised operation, so they can run after the
DataLoader has cut a batch instead of once per sample in Python.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .. import backend
from ..autograd import no_grad
from ..creation import as_tensor
from ..tensor import Tensor


def _image(x: Any, op: str) -> Tensor:
    t = as_tensor(x)
    if t.ndim not in (3, 4):
        raise ValueError(f"{op}: expected an image (C, H, W) or a batch (N, C, H, W), got shape {t.shape}")
    return t


class Compose:
    """Apply transforms in order: ``Compose([ToFloat(), Normalize(0.5, 0.5)])``."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        for i, t in enumerate(transforms):
            if not callable(t):
                raise TypeError(f"Compose: transform {i} ({t!r}) is not callable")
        self.transforms = list(transforms)

    def __call__(self, x: Any) -> Any:
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        return "Compose(" + ", ".join(repr(t) for t in self.transforms) + ")"


class ToFloat:
    """Cast to float32; integer images (uint8) are scaled by ``1/255`` into [0, 1] unless ``scale`` is given."""

    def __init__(self, scale: float | None = None) -> None:
        self.scale = scale

    def __call__(self, x: Any) -> Tensor:
        t = as_tensor(x)
        scale = self.scale if self.scale is not None else (1 / 255 if t.dtype == backend.uint8 else 1.0)
        with no_grad():
            out = t.float()
            return out * scale if scale != 1.0 else out

    def __repr__(self) -> str:
        return f"ToFloat(scale={self.scale})"


class Normalize:
    """``(x - mean) / std`` per channel (one value, or one per channel)."""

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]) -> None:
        self.mean = [float(mean)] if isinstance(mean, (int, float)) else [float(m) for m in mean]
        self.std = [float(std)] if isinstance(std, (int, float)) else [float(s) for s in std]
        if any(s <= 0 for s in self.std):
            raise ValueError(f"Normalize: std must be positive, got {self.std}")

    def __call__(self, x: Any) -> Tensor:
        t = _image(x, "Normalize")
        c = t.shape[-3]
        for name, v in (("mean", self.mean), ("std", self.std)):
            if len(v) not in (1, c):
                raise ValueError(f"Normalize: {name} has {len(v)} values but the image has {c} channels")
        xp = t._xp
        dtype = t.dtype if t.dtype.kind == "f" else backend.get_default_dtype()
        mean = xp.asarray(self.mean, dtype=dtype).reshape(-1, 1, 1)
        std = xp.asarray(self.std, dtype=dtype).reshape(-1, 1, 1)
        return Tensor._wrap((t._data.astype(dtype, copy=False) - mean) / std)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


class RandomHorizontalFlip:
    """Mirror left-right with probability ``p`` (per sample in a batch)."""

    def __init__(self, p: float = 0.5) -> None:
        if not 0 <= p <= 1:
            raise ValueError(f"RandomHorizontalFlip: p must lie in [0, 1], got {p}")
        self.p = p

    def __call__(self, x: Any) -> Tensor:
        t = _image(x, "RandomHorizontalFlip")
        rng = backend.default_generator.numpy
        data = t._data
        if data.ndim == 3:
            return Tensor._wrap(data[..., ::-1].copy()) if rng.random() < self.p else Tensor._wrap(data.copy())
        flip = backend.transfer(rng.random(data.shape[0]) < self.p, backend.device_of(data))
        out = data.copy()
        out[flip] = data[flip][..., ::-1]
        return Tensor._wrap(out)

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class RandomCrop:
    """Pad by ``padding`` (zeros) on every side, then cut a random ``size`` window (per sample)."""

    def __init__(self, size: int | tuple[int, int], padding: int = 0) -> None:
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        if len(self.size) != 2 or min(self.size) <= 0:
            raise ValueError(f"RandomCrop: size must be a positive int or (h, w), got {size!r}")
        if padding < 0:
            raise ValueError(f"RandomCrop: padding must be >= 0, got {padding}")
        self.padding = padding

    def __call__(self, x: Any) -> Tensor:
        t = _image(x, "RandomCrop")
        data = t._data
        xp = t._xp
        batch = data if data.ndim == 4 else data[None]
        p = self.padding
        if p:
            batch = xp.pad(batch, ((0, 0), (0, 0), (p, p), (p, p)))
        n, c, h, w = batch.shape
        th, tw = self.size
        if th > h or tw > w:
            raise ValueError(f"RandomCrop: crop {self.size} is larger than the padded image ({h}, {w})")
        rng = backend.default_generator.numpy
        tops = rng.integers(0, h - th + 1, n)
        lefts = rng.integers(0, w - tw + 1, n)
        # One gather for the whole batch: row and column indices per sample.
        rows = backend.transfer(
            tops[:, None] + backend.xp_for(backend.CPU).arange(th)[None, :], backend.device_of(data)
        )
        cols = backend.transfer(
            lefts[:, None] + backend.xp_for(backend.CPU).arange(tw)[None, :], backend.device_of(data)
        )
        idx_n = xp.arange(n)[:, None, None, None]
        idx_c = xp.arange(c)[None, :, None, None]
        out = batch[idx_n, idx_c, rows[:, None, :, None], cols[:, None, None, :]]
        return Tensor._wrap(out if data.ndim == 4 else out[0])

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"
