"""The variational autoencoder (Kingma & Welling, 2014), MLP or convolutional.

The encoder gives a diagonal Gaussian ``q(z|x) = N(mu, diag(exp(logvar)))``; a code is drawn with the
**reparameterization trick** ``z = mu + exp(logvar / 2) * eps``, ``eps ~ N(0, I)``, so gradients flow
through ``mu`` and ``logvar``. The decoder gives ``p(x|z)``: **Bernoulli** (logits; the pixels are the
probabilities of 1) or **Gaussian** (mean ``sigmoid(out)``, one learned ``log_sigma`` for all pixels).
The loss is the negative ELBO per image, in nats::

    -ELBO(x) = -E_q[log p(x|z)] + beta * KL(q(z|x) || N(0, I)),
    KL = 1/2 * sum_j (mu_j^2 + exp(logvar_j) - 1 - logvar_j)       (analytic, per image)

with one ``z`` per image (the beta-VAE weights the KL by ``beta``; the reported ``elbo`` always uses
beta = 1). :meth:`VAE.log_likelihood` is the importance-weighted estimate (Burda et al., 2016)
``log p(x) ~ logsumexp_k [log p(x|z_k) + log p(z_k) - log q(z_k|x)] - log k`` with ``k`` draws from ``q``:
a lower bound that tightens towards ``log p(x)`` as ``k`` grows (k = 1 is the ELBO).

The default, ``vae`` on MNIST, is the PyTorch example's network: 784-400-(20, 20) and 20-400-784.
"""

from __future__ import annotations

import math
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
    mlp_stack,
    model_device,
    standard_normal,
)
from .autoencoder import interleave_rows
from .registry import register_model

_LOG_2PI = math.log(2 * math.pi)


def gaussian_kl(mu: nabla.Tensor, logvar: nabla.Tensor) -> nabla.Tensor:
    """``KL(N(mu, exp(logvar)) || N(0, I))`` per row: ``1/2 sum(mu^2 + exp(logvar) - 1 - logvar)``."""
    return 0.5 * (mu * mu + logvar.exp() - 1.0 - logvar).sum(1)


def reparameterize(mu: nabla.Tensor, logvar: nabla.Tensor, eps: nabla.Tensor | None = None,
                   generator: Any = None) -> nabla.Tensor:
    """``mu + exp(logvar / 2) * eps`` with ``eps ~ N(0, I)`` (or the given ``eps``): a differentiable draw."""
    if eps is None:
        eps = nabla.randn(*mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    elif tuple(eps.shape) != tuple(mu.shape):
        raise ValueError(f"reparameterize: eps has shape {tuple(eps.shape)}, mu {tuple(mu.shape)}; they must match")
    return mu + (0.5 * logvar).exp() * eps


def bernoulli_log_likelihood(logits: nabla.Tensor, x: nabla.Tensor) -> nabla.Tensor:
    """``log p(x | logits)`` per image for pixels in [0, 1] (a cross-entropy, summed over pixels)."""
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def gaussian_log_likelihood(mean: nabla.Tensor, log_sigma: nabla.Tensor, x: nabla.Tensor) -> nabla.Tensor:
    """``log N(x; mean, sigma^2 I)`` per image (``log_sigma`` a scalar or broadcastable tensor)."""
    z = (x - mean) * (-log_sigma).exp()
    return (-0.5 * z * z - log_sigma - 0.5 * _LOG_2PI).flatten(1).sum(1)


def bernoulli_elbo(logits: nabla.Tensor, x: nabla.Tensor, mu: nabla.Tensor, logvar: nabla.Tensor,
                   beta: float = 1.0) -> nabla.Tensor:
    """Mean over the batch of ``log p(x|z) - beta * KL``: the Bernoulli-decoder ELBO in nats per image."""
    return (bernoulli_log_likelihood(logits, x) - beta * gaussian_kl(mu, logvar)).mean()


class VAE(GenerativeModel):
    """``encode(x) -> (mu, logvar)``, ``decode(z) -> image in [0, 1]``, ``forward(x) -> (mean image, mu, logvar)``."""


    def __init__(self, in_channels: int = 1, input_size: int = 28, latent_size: int = 20, arch: str = "mlp",
                 hidden: Sequence[int] = (400,), width: int = 32, likelihood: str = "bernoulli",
                 beta: float = 1.0) -> None:
        super().__init__()
        check_image("vae", in_channels, input_size, arch)
        check_sizes("vae", latent_size=latent_size, hidden=tuple(hidden), width=width)
        if likelihood not in ("bernoulli", "gaussian"):
            raise ValueError(f"vae: likelihood must be 'bernoulli' or 'gaussian', got {likelihood!r}")
        if not (isinstance(beta, (int, float)) and beta >= 0):
            raise ValueError(f"vae: beta must be a number >= 0, got {beta!r}")
        self.image_shape = (in_channels, input_size, input_size)
        self.latent_size, self.arch, self.likelihood, self.beta = latent_size, arch, likelihood, float(beta)
        pixels = in_channels * input_size * input_size
        if arch == "mlp":
            self.encoder = nn.Sequential(nn.Flatten(), *mlp_stack([pixels, *hidden, 2 * latent_size]))
            self.decoder = nn.Sequential(*mlp_stack([latent_size, *reversed(tuple(hidden)), pixels]),
                                         Reshape(*self.image_shape))
        else:
            self.encoder = conv_encoder(in_channels, input_size, width, 2 * latent_size)
            self.decoder = conv_decoder(latent_size, in_channels, input_size, width)
        if likelihood == "gaussian":
            self.log_sigma = nn.Parameter(nabla.full((1,), math.log(0.1)))

    # ------------------------------------------------------------------------------- the model

    def encode(self, x: nabla.Tensor) -> tuple[nabla.Tensor, nabla.Tensor]:
        """``(mu, logvar)`` of ``q(z|x)``, each ``(N, latent_size)``."""
        h = self.encoder(x)
        return h[:, :self.latent_size], h[:, self.latent_size:]

    def decode(self, z: nabla.Tensor) -> nabla.Tensor:
        """The decoder's mean image in [0, 1] (Bernoulli probabilities, or the Gaussian mean)."""
        return F.sigmoid(self.decoder(z))

    def forward(self, x: nabla.Tensor) -> tuple[nabla.Tensor, nabla.Tensor, nabla.Tensor]:
        mu, logvar = self.encode(x)
        return self.decode(reparameterize(mu, logvar)), mu, logvar

    def reconstruction_log_likelihood(self, out: nabla.Tensor, x: nabla.Tensor) -> nabla.Tensor:
        """``log p(x|z)`` per image from the decoder's output ``out`` (logits / pre-sigmoid mean)."""
        if self.likelihood == "bernoulli":
            return bernoulli_log_likelihood(out, x)
        return gaussian_log_likelihood(F.sigmoid(out), self.log_sigma, x)

    def loss(self, x: nabla.Tensor, y: nabla.Tensor | None = None, eps: nabla.Tensor | None = None
             ) -> tuple[nabla.Tensor, dict[str, float]]:
        """The negative (beta-)ELBO, mean over the batch, in nats per image; logs ``elbo``, ``kl``, ``recon``."""
        mu, logvar = self.encode(x)
        out = self.decoder(reparameterize(mu, logvar, eps))
        rec = self.reconstruction_log_likelihood(out, x)
        kl = gaussian_kl(mu, logvar)
        loss = (self.beta * kl - rec).mean()
        rec_m, kl_m = float(rec.detach().mean().item()), float(kl.detach().mean().item())
        return loss, {"elbo": rec_m - kl_m, "kl": kl_m, "recon": -rec_m}

    def log_likelihood(self, x: nabla.Tensor, k: int = 100, chunk: int = 4096, generator: Any = None) -> nabla.Tensor:
        """Importance-weighted estimate of ``log p(x)`` per image (nats) with ``k`` samples from ``q(z|x)``."""
        k = check_count(k, "log_likelihood")

        def run():
            mu, logvar = self.encode(x)
            out = []
            per = max(1, chunk // k)  # images per pass, so one pass decodes about ``chunk`` codes
            for i in range(0, len(x), per):
                m, lv, xi = mu[i:i + per], logvar[i:i + per], x[i:i + per]
                b = len(xi)
                eps = nabla.randn(k, b, self.latent_size, generator=generator, device=x.device, dtype=x.dtype)
                z = m + (0.5 * lv).exp() * eps  # (k, b, latent)
                dec = self.decoder(z.reshape(k * b, self.latent_size))
                xr = nabla.broadcast_to(xi, (k, *xi.shape)).reshape(k * b, *xi.shape[1:])
                rec = self.reconstruction_log_likelihood(dec, xr).reshape(k, b)
                log_pz = -0.5 * (z * z).sum(2)
                log_qz = -0.5 * (eps * eps + lv).sum(2)  # the log(2 pi) terms cancel
                out.append(nabla.logsumexp(rec + log_pz - log_qz, 0) - math.log(k))
            return nabla.cat(out, 0)
        return self._eval_draw(run)

    # ------------------------------------------------------------------------------- sampling

    def sample(self, n: int, seed: int | None = None) -> nabla.Tensor:
        """``n`` images (the decoder's mean, in [0, 1]) from ``z ~ N(0, I)``; ``seed`` makes them repeatable."""
        n = check_count(n)
        return self._eval_draw(lambda: self.decode(standard_normal(n, self.latent_size, seed, model_device(self))))

    def progress_images(self, x: nabla.Tensor, y: nabla.Tensor | None = None) -> numpy.ndarray:
        """Rows of held-out inputs above their reconstructions (decoded from the posterior mean)."""
        x = x[:32]
        out = self._eval_draw(lambda: self.decode(self.encode(x)[0]))
        return interleave_rows(x.numpy(), out.numpy())


@register_model("vae")
def vae(in_channels: int = 1, input_size: int = 28, latent_size: int = 20, arch: str = "mlp",
        hidden: Sequence[int] = (400,), width: int = 32, likelihood: str = "bernoulli", beta: float = 1.0) -> VAE:
    """Variational autoencoder: Gaussian encoder, Bernoulli or Gaussian decoder, ELBO loss in nats per image.

    Defaults to PyTorch's example (784-400-20, Bernoulli); ``arch="conv"`` for the convolutional one,
    ``beta`` for a beta-VAE; ``nabla evaluate`` reports the held-out ELBO.
    """
    return VAE(in_channels, input_size, latent_size, arch, hidden, width, likelihood, beta)
