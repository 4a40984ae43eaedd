"""Generative adversarial networks (Goodfellow et al., 2014): the MLP GAN, DCGAN and the conditional GAN.

A generator ``G`` maps noise ``z ~ N(0, I)`` (and, conditional, a class label) to an image; a
discriminator ``D`` scores images with a logit (real vs generated). Each training step takes two
optimizer steps:

* ``D``: minimise ``BCE(D(x), 1 - s) + BCE(D(G(z)), 0)`` (``s``: one-sided label smoothing, Salimans et
  al. 2016; 0 by default), with ``G(z)`` detached;
* ``G``: the **non-saturating** loss ``BCE(D(G(z)), 1) = mean softplus(-D(G(z)))`` instead of minimising
  ``log(1 - D(G(z)))``, whose gradient vanishes while ``D`` easily rejects the samples.

``arch="mlp"``: ``G`` z-256-512-pixels, ``D`` pixels-512-256-1 with LeakyReLU(0.2). ``arch="conv"``
(DCGAN, Radford et al. 2016): ``G`` projects ``z`` to ``2*width`` maps of side / 4, then two
``ConvTranspose2d(4, stride 2)`` with BatchNorm and ReLU; ``D`` two stride-2 convolutions with
LeakyReLU(0.2) and BatchNorm, then a Linear; weights drawn from N(0, 0.02) as in the paper. With
``fc > 0`` (1024 by default) each network also has a fully connected hidden layer of ``fc`` units with
BatchNorm next to its input/output end, as InfoGAN's MNIST networks (Chen et al. 2016): ``z -> fc ->
maps`` in ``G`` and ``maps -> fc -> logit`` in ``D``. Measured on MNIST's 8,000 images (5 epochs,
benchmarks/bench_generative.py): at batch 32 the Inception Score rises from 0.63x to 0.78x the real
images' (PyTorch with the same networks: 0.61x -> 0.79-0.81x, so nabla had no bug: the bare two-layer
DCGAN learns the digits' global shape too slowly); with the recipe's batch 16, 0.79-0.80x. ``fc=0``
gives the bare DCGAN. The
conditional model feeds a one-hot label to both: concatenated to ``z`` and, for ``D``, as extra input
planes (conv) or features (mlp). Images are in [0, 1] outside the model; ``G`` ends with tanh and works
in [-1, 1]. Adam at lr 2e-4 with betas (0.5, 0.999) for both networks, as DCGAN.

``fixed_noise`` (a buffer drawn from seed 1234) gives the progress grid the same codes every epoch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy

import nabla

from .. import nn, optim
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
    split_batch,
)
from .registry import register_model


def discriminator_loss(real_logits: nabla.Tensor, fake_logits: nabla.Tensor, smoothing: float = 0.0) -> nabla.Tensor:
    """``BCE(real_logits, 1 - smoothing) + BCE(fake_logits, 0)``, each a mean over its batch."""
    real = F.binary_cross_entropy_with_logits(real_logits, nabla.full_like(real_logits, 1.0 - smoothing))
    fake = F.binary_cross_entropy_with_logits(fake_logits, nabla.zeros_like(fake_logits))
    return real + fake


def generator_loss(fake_logits: nabla.Tensor) -> nabla.Tensor:
    """The non-saturating generator loss ``BCE(D(G(z)), 1) = mean softplus(-D(G(z)))``."""
    return F.binary_cross_entropy_with_logits(fake_logits, nabla.ones_like(fake_logits))


class Generator(nn.Module):
    """``G(z, onehot)`` -> images in [-1, 1]."""

    def __init__(self, arch: str, latent_size: int, num_classes: int, image_shape: tuple, hidden: Sequence[int],
                 width: int, fc: int = 0) -> None:
        super().__init__()
        c, s, _ = image_shape
        inp = latent_size + num_classes
        if arch == "mlp":
            self.net = nn.Sequential(*mlp_stack([inp, *hidden, c * s * s], nn.LeakyReLU), nn.Tanh(), Reshape(c, s, s))
        else:
            head = [nn.Linear(inp, fc), nn.BatchNorm1d(fc), nn.ReLU()] if fc else []
            self.net = nn.Sequential(*head, *conv_decoder(fc or inp, c, s, width, batch_norm=True), nn.Tanh())

    def forward(self, z: nabla.Tensor, onehot: nabla.Tensor | None = None) -> nabla.Tensor:
        return self.net(z if onehot is None else nabla.cat([z, onehot], 1))


class Discriminator(nn.Module):
    """``D(x, onehot)`` -> one logit per image (x in [-1, 1])."""

    def __init__(self, arch: str, num_classes: int, image_shape: tuple, hidden: Sequence[int], width: int,
                 fc: int = 0) -> None:
        super().__init__()
        c, s, _ = image_shape
        self.arch = arch
        if arch == "mlp":
            self.net = nn.Sequential(*mlp_stack([c * s * s + num_classes, *reversed(tuple(hidden)), 1], nn.LeakyReLU))
        else:
            tail = [nn.BatchNorm1d(fc), nn.LeakyReLU(0.2), nn.Linear(fc, 1)] if fc else []
            self.net = nn.Sequential(*conv_encoder(c + num_classes, s, width, fc or 1, act=nn.LeakyReLU,
                                                   batch_norm=True), *tail)

    def forward(self, x: nabla.Tensor, onehot: nabla.Tensor | None = None) -> nabla.Tensor:
        if onehot is None:
            inp = x.flatten(1) if self.arch == "mlp" else x
        elif self.arch == "mlp":
            inp = nabla.cat([x.flatten(1), onehot], 1)
        else:  # the label as constant input planes
            shape = (x.shape[0], onehot.shape[1], *x.shape[2:])
            planes = nabla.broadcast_to(onehot.reshape(*onehot.shape, 1, 1), shape)
            inp = nabla.cat([x, planes], 1)
        return self.net(inp).reshape(x.shape[0])


def _logs(d_loss: nabla.Tensor, g_loss: nabla.Tensor, real_logits: nabla.Tensor, fake_logits: nabla.Tensor
          ) -> dict[str, float]:
    """Both losses and D's mean probability of "real" on real (``d_real``) and generated (``d_fake``) images."""
    with nabla.no_grad():
        return {"d_loss": float(d_loss.item()), "g_loss": float(g_loss.item()),
                "d_real": float(F.sigmoid(real_logits.detach()).mean().item()),
                "d_fake": float(F.sigmoid(fake_logits.detach()).mean().item())}


def _dcgan_init(module: nn.Module) -> None:
    """DCGAN's initialisation: conv weights ~ N(0, 0.02); BatchNorm weights ~ N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class GAN(GenerativeModel):
    """``generator`` and ``discriminator`` networks; conditional when ``num_classes > 0``.

    ``configure_optimizers()`` gives one optimizer per network; ``train_step(batch, optimizers)`` updates
    ``D`` then ``G``; ``sample(n, seed, labels)`` draws images in [0, 1].
    """


    def __init__(self, in_channels: int = 1, input_size: int = 28, latent_size: int = 64, arch: str = "conv",
                 hidden: Sequence[int] = (256, 512), width: int = 32, num_classes: int = 0,
                 label_smoothing: float = 0.0, n_fixed: int = 64, fc: int = 0) -> None:
        super().__init__()
        check_image("gan", in_channels, input_size, arch)
        check_sizes("gan", latent_size=latent_size, hidden=tuple(hidden), width=width, n_fixed=n_fixed)
        if isinstance(fc, bool) or not isinstance(fc, int) or fc < 0:
            raise ValueError(f"gan: fc must be an int >= 0 (units of the conv networks' fully connected hidden "
                             f"layer; 0: none), got {fc!r}")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
            raise ValueError(f"gan: num_classes must be an int >= 0 (0: unconditional), got {num_classes!r}")
        if not 0 <= label_smoothing < 0.5:
            raise ValueError(f"gan: label_smoothing must lie in [0, 0.5) (real targets 1 - s), got {label_smoothing}")
        self.image_shape = (in_channels, input_size, input_size)
        self.latent_size, self.arch, self.num_classes = latent_size, arch, num_classes
        self.label_smoothing = float(label_smoothing)
        self.generator = Generator(arch, latent_size, num_classes, self.image_shape, hidden, width, fc)
        self.discriminator = Discriminator(arch, num_classes, self.image_shape, hidden, width, fc)
        if arch == "conv":
            _dcgan_init(self)
        self.register_buffer("fixed_noise", nabla.randn(n_fixed, latent_size, generator=nabla.Generator(1234)))
        self.register_buffer("fixed_labels", nabla.tensor(numpy.arange(n_fixed) % max(num_classes, 1)))

    # ------------------------------------------------------------------------------- the model

    def _onehot(self, labels: nabla.Tensor | None) -> nabla.Tensor | None:
        if not self.num_classes:
            return None
        if labels is None:
            raise ValueError(f"this GAN is conditional ({self.num_classes} classes): pass labels")
        return nabla.one_hot(labels.to(nabla.int64), self.num_classes).to(self.fixed_noise.dtype)

    def generate(self, z: nabla.Tensor, labels: nabla.Tensor | None = None) -> nabla.Tensor:
        """Images in [0, 1] from codes ``z`` ``(N, latent_size)`` (and labels ``(N,)`` if conditional)."""
        return (self.generator(z, self._onehot(labels)) + 1.0) * 0.5

    def discriminate(self, x: nabla.Tensor, labels: nabla.Tensor | None = None) -> nabla.Tensor:
        """``D``'s logits ``(N,)`` for images ``x`` in [0, 1] (and their labels if conditional)."""
        return self.discriminator(x * 2.0 - 1.0, self._onehot(labels))

    def forward(self, z: nabla.Tensor, labels: nabla.Tensor | None = None) -> nabla.Tensor:
        return self.generate(z, labels)

    # ------------------------------------------------------------------------------- training

    def configure_optimizers(self, lr: float | None = None) -> dict[str, Any]:
        """``{"generator": Adam, "discriminator": Adam}``, lr 2e-4 (or ``lr``) and betas (0.5, 0.999) as DCGAN."""
        lr = 2e-4 if lr is None else lr
        return {"generator": optim.Adam(self.generator.parameters(), lr=lr, betas=(0.5, 0.999)),
                "discriminator": optim.Adam(self.discriminator.parameters(), lr=lr, betas=(0.5, 0.999))}

    def _noise(self, n: int, device: Any, generator: Any = None) -> nabla.Tensor:
        return nabla.randn(n, self.latent_size, generator=generator, device=device, dtype=self.fixed_noise.dtype)

    def losses(self, x: nabla.Tensor, y: nabla.Tensor | None, z: nabla.Tensor
               ) -> tuple[nabla.Tensor, nabla.Tensor, dict[str, float]]:
        """``(d_loss, g_loss, logs)`` for real images ``x`` and noise ``z`` (``d_loss`` sees ``G(z)`` detached)."""
        labels = y if self.num_classes else None
        fake = self.generate(z, labels)
        real_logits = self.discriminate(x, labels)
        d_loss = discriminator_loss(real_logits, self.discriminate(fake.detach(), labels), self.label_smoothing)
        fake_logits = self.discriminate(fake, labels)
        g_loss = generator_loss(fake_logits)
        return d_loss, g_loss, _logs(d_loss, g_loss, real_logits, fake_logits)

    def train_step(self, batch: Any, optimizers: dict[str, Any]) -> dict[str, Any]:
        """One discriminator step, then one generator step on the same noise; ``loss`` is d_loss + g_loss."""
        x, y = split_batch(batch)
        opt_g, opt_d = optimizers["generator"], optimizers["discriminator"]
        labels = y if self.num_classes else None
        z = self._noise(len(x), x.device)
        fake = self.generate(z, labels)
        opt_d.zero_grad()
        real_logits = self.discriminate(x, labels)
        d_loss = discriminator_loss(real_logits, self.discriminate(fake.detach(), labels), self.label_smoothing)
        d_loss.backward()
        opt_d.step()
        opt_g.zero_grad()
        fake_logits = self.discriminate(fake, labels)
        g_loss = generator_loss(fake_logits)
        g_loss.backward()
        opt_g.step()
        logs = _logs(d_loss, g_loss, real_logits, fake_logits)
        return {"loss": logs["d_loss"] + logs["g_loss"], "logs": logs}

    def eval_step(self, batch: Any) -> dict[str, Any]:
        """Both losses on held-out real images and fresh noise (no update)."""
        x, y = split_batch(batch)
        _, _, logs = self.losses(x, y, self._noise(len(x), x.device))
        return {"loss": logs["d_loss"] + logs["g_loss"], "logs": logs}

    # ------------------------------------------------------------------------------- sampling

    def sample(self, n: int, seed: int | None = None, labels: Any = None) -> nabla.Tensor:
        """``n`` images in [0, 1] from ``z ~ N(0, I)``; a conditional GAN takes ``labels`` (n ints, or one
        int for all; default ``0, 1, ..., 9, 0, ...``)."""
        n = check_count(n)
        dev = model_device(self)
        lab = None
        if self.num_classes:
            arr = numpy.arange(n) % self.num_classes if labels is None else numpy.asarray(labels).reshape(-1)
            if arr.size == 1:
                arr = numpy.full(n, int(arr[0]))
            if arr.size != n or arr.dtype.kind not in "iu" or arr.min() < 0 or arr.max() >= self.num_classes:
                raise ValueError(f"sample: labels must be {n} ints (or one) in 0..{self.num_classes - 1}, got "
                                 f"{numpy.asarray(labels).tolist()}")
            lab = nabla.tensor(arr.astype(numpy.int64), device=dev)
        elif labels is not None:
            raise ValueError("sample: labels are for a conditional GAN (cgan); this one is unconditional")
        return self._eval_draw(lambda: self.generate(self._noise(n, dev, generator_for(seed)), lab))

    def progress_images(self, x: nabla.Tensor | None = None, y: nabla.Tensor | None = None) -> numpy.ndarray:
        """Samples from ``fixed_noise`` (labels 0, 1, ..., 9 in turn for a conditional GAN)."""
        lab = self.fixed_labels if self.num_classes else None
        return self._eval_draw(lambda: self.generate(self.fixed_noise, lab)).numpy()


@register_model("gan")
def gan(in_channels: int = 1, input_size: int = 28, latent_size: int = 64, hidden: Sequence[int] = (256, 512),
        label_smoothing: float = 0.0) -> GAN:
    """The original GAN with MLPs: G z-256-512-pixels (tanh), D pixels-512-256-1, LeakyReLU(0.2).

    Non-saturating generator loss, two Adam optimizers (lr 2e-4, betas 0.5/0.999); ``nabla sample`` draws images.
    """
    return GAN(in_channels, input_size, latent_size, "mlp", hidden, 32, 0, label_smoothing)


@register_model("dcgan")
def dcgan(in_channels: int = 1, input_size: int = 28, latent_size: int = 64, width: int = 32,
          label_smoothing: float = 0.0, fc: int = 1024) -> GAN:
    """DCGAN: transposed convolutions with BatchNorm and ReLU in G, strided convolutions with LeakyReLU in D.

    ``width`` maps after G's first transposed convolution (``2*width`` before it); side divisible by 4.
    ``fc`` units in a fully connected BatchNorm layer at each network's dense end (InfoGAN's MNIST
    networks; 0: the bare DCGAN, which learns digits' shapes more slowly).
    """
    return GAN(in_channels, input_size, latent_size, "conv", (256, 512), width, 0, label_smoothing, fc=fc)


@register_model("cgan")
def cgan(in_channels: int = 1, input_size: int = 28, num_classes: int = 10, latent_size: int = 64,
         arch: str = "conv", hidden: Sequence[int] = (256, 512), width: int = 32, label_smoothing: float = 0.0,
         fc: int = 1024) -> GAN:
    """Conditional GAN: the class label (one-hot) goes into G and D, so sample(labels=...) draws a chosen digit.

    DCGAN networks by default (``arch="mlp"`` for the MLP ones); ``nabla sample --labels 0,1,...``.
    """
    if num_classes < 2:
        raise ValueError(f"cgan: needs a labelled data set with >= 2 classes, got num_classes={num_classes}")
    return GAN(in_channels, input_size, latent_size, arch, hidden, width, num_classes, label_smoothing,
               fc=fc if arch == "conv" else 0)
