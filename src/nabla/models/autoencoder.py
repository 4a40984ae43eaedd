"""Autoencoders: an encoder to a code, a decoder back to the image, trained to reconstruct the input.

* **under-complete** (``code_size`` smaller than the image, 2...64): the bottleneck forces a compressed
  code; the default.
* **over-complete** (``code_size`` at least the number of pixels) needs a penalty, or it can learn the
  identity: ``sparsity="l1"`` adds ``sparsity_weight * mean_i sum_j |h_ij|`` to the loss;
  ``sparsity="kl"`` makes the code sigmoid units and adds ``sparsity_weight * sum_j KL(rho || rho_hat_j)``
  with ``rho_hat_j`` the batch-mean activation of unit ``j`` and ``rho = sparsity_target``.
* **denoising** (``noise="gaussian"``: ``clip(x + noise_level * eps, 0, 1)``; ``noise="mask"``: each pixel
  set to 0 with probability ``noise_level``): the corrupted image goes in, the clean one is the target.

The decoder outputs logits; :meth:`AutoEncoder.forward` and :meth:`decode` return their sigmoid, the
reconstruction in [0, 1]. The loss is the binary cross-entropy summed over pixels (nats per image,
comparable with a VAE's reconstruction term) or, with ``loss="mse"``, the mean squared error per pixel.
``sample(n, seed)`` decodes codes drawn from a Gaussian fitted (running mean and variance, like batch
norm's) to the training codes: the naive way to sample from a plain autoencoder, which shows why a VAE's
regularised latent space is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy

import nabla

from .. import nn
from ..nn import functional as F
from ._generative import (
    GenerativeModel,
    Reshape,
    check_count,
    check_image,
    check_sizes,
    conv_decoder,
    conv_encoder,
    generator_for,
    mlp_stack,
    model_device,
)
from .registry import register_model

_SPARSITY = (None, "l1", "kl")
_NOISE = (None, "gaussian", "mask")


class AutoEncoder(GenerativeModel):
    """``encode(x) -> code``, ``decode(code) -> image in [0, 1]``; ``forward(x)`` is both."""


    def __init__(self, in_channels: int = 1, input_size: int = 28, code_size: int = 32, arch: str = "mlp",
                 hidden: Sequence[int] = (256,), width: int = 32, sparsity: str | None = None,
                 sparsity_weight: float = 1e-3, sparsity_target: float = 0.05, noise: str | None = None,
                 noise_level: float = 0.4, loss: str = "bce", code_momentum: float = 0.1) -> None:
        super().__init__()
        check_image("autoencoder", in_channels, input_size, arch)
        check_sizes("autoencoder", code_size=code_size, hidden=tuple(hidden), width=width)
        if sparsity not in _SPARSITY:
            raise ValueError(f"autoencoder: sparsity must be one of {_SPARSITY}, got {sparsity!r}")
        if noise not in _NOISE:
            raise ValueError(f"autoencoder: noise must be one of {_NOISE}, got {noise!r}")
        if loss not in ("bce", "mse"):
            raise ValueError(f"autoencoder: loss must be 'bce' or 'mse', got {loss!r}")
        if noise == "mask" and not 0 <= noise_level < 1:
            raise ValueError(f"autoencoder: masking noise drops pixels with probability noise_level in [0, 1), "
                             f"got {noise_level}")
        if noise_level < 0 or sparsity_weight < 0 or not 0 < sparsity_target < 1:
            raise ValueError(f"autoencoder: need noise_level >= 0, sparsity_weight >= 0, 0 < sparsity_target < 1; "
                             f"got {noise_level}, {sparsity_weight}, {sparsity_target}")
        pixels = in_channels * input_size * input_size
        if code_size >= pixels and sparsity is None and noise is None:
            raise ValueError(f"autoencoder: a code of {code_size} >= {pixels} pixels (over-complete) can learn the "
                             "identity; add a penalty (sparsity='l1' or 'kl') or noise ('gaussian' or 'mask')")
        self.image_shape = (in_channels, input_size, input_size)
        self.code_size, self.arch = code_size, arch
        self.sparsity, self.sparsity_weight = sparsity, float(sparsity_weight)
        self.sparsity_target = float(sparsity_target)
        self.noise, self.noise_level, self.loss_kind = noise, float(noise_level), loss
        self.code_momentum = float(code_momentum)
        if arch == "mlp":
            self.encoder = nn.Sequential(nn.Flatten(), *mlp_stack([pixels, *hidden, code_size]))
            self.decoder = nn.Sequential(*mlp_stack([code_size, *reversed(tuple(hidden)), pixels]),
                                         Reshape(*self.image_shape))
        else:
            self.encoder = conv_encoder(in_channels, input_size, width, code_size)
            self.decoder = conv_decoder(code_size, in_channels, input_size, width)
        self.register_buffer("code_mean", nabla.zeros(code_size))
        self.register_buffer("code_var", nabla.ones(code_size))

    # ------------------------------------------------------------------------------- the model

    def encode(self, x: nabla.Tensor) -> nabla.Tensor:
        """The code of images ``x`` ``(N, C, H, W)``: ``(N, code_size)`` (sigmoid units with KL sparsity)."""
        h = self.encoder(x)
        return F.sigmoid(h) if self.sparsity == "kl" else h

    def decoder_logits(self, code: nabla.Tensor) -> nabla.Tensor:
        return self.decoder(code)

    def decode(self, code: nabla.Tensor) -> nabla.Tensor:
        """Images in [0, 1] from codes ``(N, code_size)``."""
        return F.sigmoid(self.decoder(code))

    def forward(self, x: nabla.Tensor) -> nabla.Tensor:
        return self.decode(self.encode(x))

    def corrupt(self, x: nabla.Tensor, generator: Any = None) -> nabla.Tensor:
        """The denoising input: ``x`` with this model's noise (``x`` itself when it has none)."""
        if self.noise is None or self.noise_level == 0:
            return x
        if self.noise == "gaussian":
            eps = nabla.randn(*x.shape, generator=generator, device=x.device, dtype=x.dtype)
            return (x + self.noise_level * eps).clamp(0.0, 1.0)
        keep = nabla.rand(*x.shape, generator=generator, device=x.device, dtype=x.dtype) >= self.noise_level
        return x * keep.to(x.dtype)

    # ------------------------------------------------------------------------------- training

    def penalty(self, code: nabla.Tensor) -> nabla.Tensor | None:
        """The sparsity penalty of a batch of codes (None without sparsity)."""
        if self.sparsity == "l1":
            return self.sparsity_weight * code.abs().sum(1).mean()
        if self.sparsity == "kl":
            rho = self.sparsity_target
            rho_hat = code.mean(0).clamp(1e-6, 1 - 1e-6)
            kl = rho * (rho / rho_hat).log() + (1 - rho) * ((1 - rho) / (1 - rho_hat)).log()
            return self.sparsity_weight * kl.sum()
        return None

    def reconstruction_loss(self, logits: nabla.Tensor, x: nabla.Tensor) -> nabla.Tensor:
        if self.loss_kind == "bce":
            return F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
        return F.mse_loss(F.sigmoid(logits), x)

    def loss(self, x: nabla.Tensor, y: nabla.Tensor | None = None) -> tuple[nabla.Tensor, dict[str, float]]:
        """Reconstruction loss of the clean ``x`` from its corrupted copy, plus the sparsity penalty."""
        code = self.encode(self.corrupt(x))
        logits = self.decoder(code)
        rec = self.reconstruction_loss(logits, x)
        pen = self.penalty(code)
        total = rec if pen is None else rec + pen
        with nabla.no_grad():
            mse = float(F.mse_loss(F.sigmoid(logits), x).item())
            if self.training:
                self._track_codes(code.detach())
        logs = {"mse": mse}
        if pen is not None:
            logs["sparsity"] = float(pen.item())
            logs["active"] = float((code.detach().abs() > 1e-2).to(x.dtype).mean().item()) if self.sparsity == "l1" \
                else float(code.detach().mean().item())
        return total, logs

    def _track_codes(self, code: nabla.Tensor) -> None:
        m = self.code_momentum
        self.code_mean.copy_((1 - m) * self.code_mean + m * code.mean(0))
        self.code_var.copy_((1 - m) * self.code_var + m * code.var(0))

    # ------------------------------------------------------------------------------- sampling

    def sample(self, n: int, seed: int | None = None) -> nabla.Tensor:
        """``n`` images decoded from codes drawn from the Gaussian fitted to the training codes."""
        n = check_count(n)

        def draw():
            z = nabla.randn(n, self.code_size, generator=generator_for(seed), device=model_device(self))
            return self.decode(self.code_mean + self.code_var.clamp(0.0, None).sqrt() * z)
        return self._eval_draw(draw)

    def reconstruct(self, x: nabla.Tensor, noisy: bool = False, seed: int | None = None) -> nabla.Tensor:
        """Reconstructions (eval mode, no gradients) of ``x``, or of its corrupted copy with ``noisy``."""
        return self._eval_draw(lambda: self(self.corrupt(x, generator_for(seed)) if noisy else x))

    def progress_images(self, x: nabla.Tensor, y: nabla.Tensor | None = None) -> numpy.ndarray:
        """Rows of held-out inputs (corrupted for a denoising model) above their reconstructions."""
        x = x[:8 * (len(x) // 8) or len(x)][:32]
        src = self._eval_draw(lambda: self.corrupt(x, generator_for(0)))
        out = self._eval_draw(lambda: self(src))
        return interleave_rows(src.numpy(), out.numpy())


def interleave_rows(top: numpy.ndarray, bottom: numpy.ndarray, row: int = 8) -> numpy.ndarray:
    """Alternate rows of ``row`` images from ``top`` and ``bottom`` (inputs over reconstructions)."""
    parts = []
    for i in range(0, len(top), row):
        parts += [top[i:i + row], bottom[i:i + row]]
    return numpy.concatenate(parts)


def autoencoder_psnr(model: AutoEncoder, x: nabla.Tensor, seed: int = 0) -> dict[str, float]:
    """PSNR (dB) against the clean ``x`` of its corrupted copy and of the model's reconstruction of it."""
    from ._generative import psnr

    noisy = model._eval_draw(lambda: model.corrupt(x, generator_for(seed)))
    out = model._eval_draw(lambda: model(noisy))
    return {"noisy_psnr": psnr(x, noisy), "denoised_psnr": psnr(x, out)}


@register_model("ae")
def ae(in_channels: int = 1, input_size: int = 28, code_size: int = 32, arch: str = "mlp",
       hidden: Sequence[int] = (256,), width: int = 32, sparsity: str | None = None, sparsity_weight: float = 1e-3,
       sparsity_target: float = 0.05, loss: str = "bce") -> AutoEncoder:
    """Autoencoder (MLP or conv): under-complete bottleneck, or over-complete with sparsity='l1'|'kl'.

    ``arch="mlp"``: pixels-256-code-256-pixels; ``arch="conv"``: two stride-2 convolutions to a Linear code
    and two transposed convolutions back. Loss: binary cross-entropy in nats per image.
    """
    return AutoEncoder(in_channels, input_size, code_size, arch, hidden, width, sparsity, sparsity_weight,
                       sparsity_target, None, 0.0, loss)


@register_model("dae")
def dae(in_channels: int = 1, input_size: int = 28, code_size: int = 64, arch: str = "mlp",
        hidden: Sequence[int] = (256,), width: int = 32, noise: str = "gaussian", noise_level: float = 0.4,
        loss: str = "bce") -> AutoEncoder:
    """Denoising autoencoder: Gaussian (noise_level = std) or masking noise in, the clean image as target.

    Same networks as ``ae``; the corruption is drawn afresh each step (``clip(x + 0.4 eps, 0, 1)`` by default).
    """
    if noise is None:
        raise ValueError("dae: noise must be 'gaussian' or 'mask' (use 'ae' for a plain autoencoder)")
    return AutoEncoder(in_channels, input_size, code_size, arch, hidden, width, None, 1e-3, 0.05, noise,
                       noise_level, loss)
