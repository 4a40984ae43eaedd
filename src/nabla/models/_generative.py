"""What the generative models (autoencoders, VAEs, GANs) share.

* :class:`GenerativeModel` — the training hooks :class:`nabla.train.Trainer` calls when a model
  defines them: ``train_step(batch, optimizer)`` (one optimisation step, returns ``{"loss": float,
  "logs": {name: float}}``), ``eval_step(batch)`` and ``progress_images(x, y)`` (the picture of the
  epoch); a single-optimizer model only writes ``loss(x, y) -> (loss, logs)``. ``nabla train``'s
  defaults for these models live with the other recipes (``nabla.train.recipes.MODEL_RECIPES``).
* seeded sampling helpers, and the small MLP / convolutional encoder and decoder stacks the models
  build from (a convolutional stack halves the image side twice, so it needs a side divisible by 4).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy

import nabla

from .. import nn

if TYPE_CHECKING:
    from nabla import Tensor


def split_batch(batch: Any) -> tuple[Tensor, Tensor | None]:
    """``(images, labels)`` of a batch ``(x, y)``, ``(x,)`` or a lone ``x`` (labels None)."""
    if isinstance(batch, (tuple, list)):
        return batch[0], (batch[1] if len(batch) > 1 else None)
    return batch, None


def generator_for(seed: int | None) -> nabla.Generator | None:
    """A fresh generator for ``seed`` (None: nabla's default generator, i.e. ``nabla.manual_seed``)."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, numpy.integer)):
        raise TypeError(f"sample: seed must be an int or None, got {type(seed).__name__}")
    return nabla.Generator(int(seed))


def check_count(n: Any, what: str = "sample") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, numpy.integer)) or n <= 0:
        raise ValueError(f"{what}: n must be a positive int, got {n!r}")
    return int(n)


def model_device(model: nn.Module) -> Any:
    return next(iter(model.parameters())).device


class GenerativeModel(nn.Module):
    """Base of the generative models: the Trainer hooks, built on ``loss(x, y) -> (loss, logs)``."""

    def loss(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, dict[str, float]]:
        raise NotImplementedError

    def train_step(self, batch: Any, optimizer: Any) -> dict[str, Any]:
        """One step of ``optimizer`` on :meth:`loss`; ``{"loss": float, "logs": {...}}`` for the Trainer."""
        x, y = split_batch(batch)
        optimizer.zero_grad()
        loss, logs = self.loss(x, y)
        loss.backward()
        optimizer.step()
        return {"loss": float(loss.item()), "logs": logs}

    def eval_step(self, batch: Any) -> dict[str, Any]:
        x, y = split_batch(batch)
        loss, logs = self.loss(x, y)
        return {"loss": float(loss.item()), "logs": logs}

    def sample(self, n: int, seed: int | None = None, **kwargs: Any) -> Tensor:
        raise NotImplementedError

    def progress_images(self, x: Tensor, y: Tensor | None = None) -> numpy.ndarray:
        """Images ``(n, C, H, W)`` in [0, 1] showing how training goes (a grid row per ``nrow`` images)."""
        raise NotImplementedError

    def _eval_draw(self, fn: Any) -> Any:
        """Run ``fn()`` in eval mode without gradients, then restore the mode."""
        was = self.training
        self.eval()
        try:
            with nabla.no_grad():
                return fn()
        finally:
            self.train(was)


def standard_normal(n: int, size: int, seed: int | None, device: Any) -> Tensor:
    return nabla.randn(n, size, generator=generator_for(seed), device=device)


# ------------------------------------------------------------------------------------- building blocks


class Reshape(nn.Module):
    """``x.reshape(len(x), *shape)``: from a Linear's output to feature maps."""

    def __init__(self, *shape: int) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


def check_image(name: str, in_channels: int, input_size: int, arch: str) -> None:
    if arch not in ("mlp", "conv"):
        raise ValueError(f"{name}: arch must be 'mlp' or 'conv', got {arch!r}")
    for key, v in (("in_channels", in_channels), ("input_size", input_size)):
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise ValueError(f"{name}: {key} must be a positive int, got {v!r}")
    if arch == "conv" and input_size % 4:
        raise ValueError(f"{name}: the convolutional stack halves the image side twice, so input_size must be "
                         f"divisible by 4 (got {input_size}); use arch='mlp' for other sizes")


def check_sizes(name: str, **sizes: Any) -> None:
    for key, v in sizes.items():
        vals = v if isinstance(v, (tuple, list)) else (v,)
        if (not vals and key != "hidden") or any(isinstance(h, bool) or not isinstance(h, int) or h <= 0 for h in vals):
            raise ValueError(f"{name}: {key} must be positive int(s), got {v!r}")


def mlp_stack(sizes: list[int], act: type = nn.ReLU, batch_norm: bool = False) -> list[nn.Module]:
    """``Linear -> [BatchNorm1d] -> act`` between consecutive ``sizes``, no activation after the last."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            if batch_norm:
                layers.append(nn.BatchNorm1d(b))
            layers.append(act(0.2) if act is nn.LeakyReLU else act())
    return layers


def conv_encoder(in_channels: int, input_size: int, width: int, out: int, act: type = nn.ReLU,
                 batch_norm: bool = False) -> nn.Sequential:
    """``Conv(4, stride 2) -> act`` twice (side / 4, ``width`` then ``2*width`` maps), then a Linear to ``out``."""
    side = input_size // 4
    a = (lambda: act(0.2)) if act is nn.LeakyReLU else act
    layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, 2, 1), a(), nn.Conv2d(width, 2 * width, 4, 2, 1)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(2 * width))
    layers += [a(), nn.Flatten(), nn.Linear(2 * width * side * side, out)]
    return nn.Sequential(*layers)


def conv_decoder(in_features: int, out_channels: int, input_size: int, width: int, batch_norm: bool = False
                 ) -> nn.Sequential:
    """Linear to ``2*width`` maps of side / 4, then ``ConvTranspose(4, stride 2)`` twice up to the image
    (ReLU between, optional BatchNorm): the mirror of :func:`conv_encoder`. Outputs pre-activations."""
    side = input_size // 4
    layers: list[nn.Module] = [nn.Linear(in_features, 2 * width * side * side)]
    if batch_norm:
        layers.append(nn.BatchNorm1d(2 * width * side * side))
    layers += [nn.ReLU(), Reshape(2 * width, side, side), nn.ConvTranspose2d(2 * width, width, 4, 2, 1)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(width))
    layers += [nn.ReLU(), nn.ConvTranspose2d(width, out_channels, 4, 2, 1)]
    return nn.Sequential(*layers)


def psnr(clean: Any, other: Any) -> float:
    """Peak signal-to-noise ratio in dB of images in [0, 1]: ``10 log10(1 / MSE)``."""
    a = clean.numpy() if isinstance(clean, nabla.Tensor) else numpy.asarray(clean)
    b = other.numpy() if isinstance(other, nabla.Tensor) else numpy.asarray(other)
    mse = float(numpy.mean((a.astype(numpy.float64) - b) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)
