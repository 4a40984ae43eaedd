"""What the labs share: their data (8x8 digits, the MNIST 8,000/2,000 split, 2-D toy sets) as NumPy
arrays, MLP builders that change one thing at a time (activation, initialisation, where BatchNorm sits),
and a small training loop that records the loss of every step.

Everything here uses nabla's public API, so a lab reads as example code: build a model with
``nabla.nn``, an optimizer from ``nabla.optim``, and call :func:`train`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy

import nabla
from nabla import nn
from nabla.nn import functional as F

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "elu": nn.ELU, "gelu": nn.GELU, "identity": nn.Identity,
}


# ------------------------------------------------------------------------------------------------ data


@dataclass
class Data:
    """A classification set as float32 rows and int64 labels (train and held-out test)."""

    name: str
    x_train: numpy.ndarray
    y_train: numpy.ndarray
    x_test: numpy.ndarray
    y_test: numpy.ndarray
    note: str = ""  # e.g. "MNIST files absent: sklearn digits used instead"

    @property
    def features(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max()) + 1)

    def describe(self) -> str:
        return f"{self.name}: {len(self.y_train)} train / {len(self.y_test)} test, {self.features} features"


def digits(seed: int = 0, test_ratio: float = 0.2, standardize: bool = False) -> Data:
    """sklearn's 8x8 digits (1,797 images) as 64 pixel values in [0, 1], split by ``seed``.

    ``standardize`` centres each pixel and scales it to unit variance (with the train part's statistics).
    """
    from nabla.data.datasets import digits as load

    train, test = load(test_ratio=test_ratio, seed=seed)
    xtr, ytr = (t.numpy() for t in train.tensors)
    xte, yte = (t.numpy() for t in test.tensors)
    d = Data("digits", xtr.reshape(len(xtr), -1), ytr, xte.reshape(len(xte), -1), yte)
    return _standardize(d) if standardize else d


def mnist_8k2k(data_dir: Path | None, n_train: int = 8000, n_test: int = 2000, standardize: bool = False) -> Data:
    """The project's MNIST split: the first 8,000 images of the official test file to train on, the last
    2,000 to test on (784 pixels in [0, 1]). ``n_train``/``n_test`` take the first rows of each part
    (the quick configurations). With ``data_dir`` None or without the files, sklearn's digits stand in
    (``Data.note`` says so)."""
    if data_dir is None or not (Path(data_dir) / "t10k-images-idx3-ubyte.gz").exists():
        d = digits(0, standardize=standardize)
        d.note = f"MNIST files not found ({data_dir}); sklearn's 8x8 digits used instead"
        return d
    from nabla.data.datasets import mnist

    ds = mnist(root=data_dir, split="test", download=False)
    x = ds.images.reshape(len(ds.images), -1).astype(numpy.float32) / numpy.float32(255.0)
    y = ds.targets
    if len(y) < 10000:
        raise ValueError(f"{data_dir}: the MNIST test file has {len(y)} images, the 8,000/2,000 split needs 10,000")
    d = Data("mnist", x[:8000][:n_train], y[:8000][:n_train], x[8000:][:n_test], y[8000:][:n_test])
    return _standardize(d) if standardize else d


def toy(name: str, n: int = 400, noise: float = 0.1, seed: int = 0) -> Data:
    """A 2-D toy set of ``nabla.data.toy`` (``"xor"``, ``"spiral"``, ``"circle"``, ...), 20% held out."""
    from nabla.data import toy as sets

    train, test = getattr(sets, name)(n=n, noise=noise, seed=seed)
    xtr, ytr = (t.numpy() for t in train.tensors)
    xte, yte = (t.numpy() for t in test.tensors)
    return Data(name, xtr, ytr, xte, yte)


def _standardize(d: Data) -> Data:
    mu = d.x_train.mean(0)
    sd = d.x_train.std(0) + 1e-3
    return Data(d.name, (d.x_train - mu) / sd, d.y_train, (d.x_test - mu) / sd, d.y_test, d.note)


# ---------------------------------------------------------------------------------------------- models


def make_mlp(sizes: Sequence[int], activation: str = "relu", norm: str | None = None, init: str | None = None,
             bias: bool = True) -> nn.Sequential:
    """``Linear -> [BatchNorm1d] -> activation`` per hidden layer, then a final ``Linear`` (logits).

    ``sizes`` = (inputs, hidden..., outputs). ``norm``: ``None``, ``"before"`` (BN between the Linear
    and the activation, as in Ioffe & Szegedy) or ``"after"`` (BN after the activation).
    ``init``: ``None`` (PyTorch's default, U(±1/sqrt(fan_in))) or a name of :func:`init_linear_`.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"make_mlp: unknown activation {activation!r}; valid: {', '.join(ACTIVATIONS)}")
    if norm not in (None, "before", "after"):
        raise ValueError(f"make_mlp: norm must be None, 'before' or 'after', got {norm!r}")
    if len(sizes) < 2:
        raise ValueError(f"make_mlp: sizes needs at least (inputs, outputs), got {tuple(sizes)}")
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b, bias=bias))
        if i == len(sizes) - 2:
            break
        if norm == "before":
            layers.append(nn.BatchNorm1d(b))
        layers.append(ACTIVATIONS[activation]())
        if norm == "after":
            layers.append(nn.BatchNorm1d(b))
    model = nn.Sequential(*layers)
    if init is not None:
        for lin in linears(model):
            init_linear_(lin, init)
    return model


class ImageView(nn.Module):
    """Rows of ``side*side`` pixels -> ``(N, 1, side, side)`` images, so a CNN trains on the same
    flattened :class:`Data` rows (and through the same :func:`train`) as an MLP."""

    def __init__(self, side: int):
        super().__init__()
        self.side = side

    def forward(self, x):
        return x.reshape(x.shape[0], 1, self.side, self.side)


def image_side(data: Data) -> int:
    """The side of ``data``'s square images (28 for MNIST, 8 for sklearn's digits)."""
    side = int(round(math.sqrt(data.features)))
    if side * side != data.features:
        raise ValueError(f"image_side: {data.name} rows have {data.features} features, not a square image")
    return side


def make_cnn(side: int, channels: Sequence[int] = (8, 16), kernel: int = 5, classes: int = 10,
             pool: bool = True) -> nn.Sequential:
    """LeNet-style ``[Conv(k, 'same' padding) -> ReLU -> MaxPool2d(2)] x len(channels) -> Linear``
    on rows of ``side*side`` pixels (no BatchNorm, no dropout). ``pool=False`` drops the poolings (the
    feature maps keep the input's size)."""
    layers: list[nn.Module] = [ImageView(side)]
    c_in, s = 1, side
    for c in channels:
        layers += [nn.Conv2d(c_in, c, kernel, padding=kernel // 2), nn.ReLU()]
        if pool:
            layers.append(nn.MaxPool2d(2))
            s //= 2
        c_in = c
    layers += [nn.Flatten(), nn.Linear(c_in * s * s, classes)]
    return nn.Sequential(*layers)


def n_params(model: nn.Module) -> int:
    """Number of trainable scalars."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


def init_linear_(layer: nn.Linear, scheme: str) -> None:
    """Re-initialise a Linear layer's weight by ``scheme`` and zero its bias.

    ``zero``: all weights 0. ``small``: N(0, 0.01²). ``xavier``: Glorot normal, var = 2/(fan_in+fan_out).
    ``he``: Kaiming normal for ReLU, var = 2/fan_in. ``default``: PyTorch's U(±1/sqrt(fan_in)).
    """
    if scheme == "zero":
        nn.init.zeros_(layer.weight)
    elif scheme == "small":
        nn.init.normal_(layer.weight, 0.0, 0.01)
    elif scheme == "xavier":
        nn.init.xavier_normal_(layer.weight)
    elif scheme == "he":
        nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
    elif scheme == "default":
        layer.reset_parameters()
        return
    else:
        raise ValueError(f"init_linear_: unknown scheme {scheme!r}; valid: zero, small, xavier, he, default")
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)


def linears(model: nn.Module) -> list[nn.Linear]:
    """The model's Linear layers, input to output."""
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def weight_grad_norms(model: nn.Module) -> list[float]:
    """L2 norm of each Linear layer's weight gradient (after ``backward``), input to output."""
    return [float(numpy.linalg.norm(lin.weight.grad.numpy())) if lin.weight.grad is not None else 0.0
            for lin in linears(model)]


# -------------------------------------------------------------------------------------------- training


def seed_all(seed: int) -> numpy.random.Generator:
    """Seed nabla's generator (initialisation, dropout) and return a NumPy generator for the batches."""
    nabla.manual_seed(seed)
    return numpy.random.default_rng(seed)


def batch_indices(n: int, batch_size: int, rng: numpy.random.Generator) -> Iterator[numpy.ndarray]:
    """Endless mini-batches of row indices: a fresh permutation each epoch (a batch never spans two)."""
    if batch_size >= n:
        while True:
            yield numpy.arange(n)
    while True:
        perm = rng.permutation(n)
        for s in range(0, n - batch_size + 1, batch_size):
            yield perm[s:s + batch_size]


@dataclass
class Curve:
    """What :func:`train` records: the loss of every step, the training wall time after it (evaluations
    excluded), and the test accuracy (and loss) every ``eval_every`` steps."""

    loss: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    eval_step: list[int] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    diverged: bool = False

    def final_loss(self, last: int = 10) -> float:
        """Mean of the last ``last`` step losses (``inf`` if training diverged)."""
        if self.diverged or not self.loss:
            return math.inf
        return float(numpy.mean(self.loss[-last:]))


def evaluate(model: nn.Module, x: numpy.ndarray, y: numpy.ndarray, batch_size: int = 2000) -> tuple[float, float]:
    """``(accuracy, mean cross-entropy)`` of ``model`` on ``(x, y)``, in eval mode, without gradients."""
    was_training = model.training
    model.eval()
    correct, total_loss = 0, 0.0
    with nabla.no_grad():
        for s in range(0, len(y), batch_size):
            xb, yb = nabla.tensor(x[s:s + batch_size]), nabla.tensor(y[s:s + batch_size])
            logits = model(xb)
            total_loss += float(F.cross_entropy(logits, yb, reduction="sum").item())
            correct += int((logits.numpy().argmax(1) == y[s:s + batch_size]).sum())
    model.train(was_training)
    return correct / len(y), total_loss / len(y)


def train(model: nn.Module, optimizer: Any, data: Data, steps: int, batch_size: int = 64, seed: int = 0,
          eval_every: int = 0, loss_fn: Callable | None = None,
          on_step: Callable[[int, nn.Module], None] | None = None, progress: Callable | None = None) -> Curve:
    """Train ``model`` for ``steps`` mini-batch steps of cross-entropy (or ``loss_fn(logits, y)``).

    ``on_step(step, model)`` runs after each ``backward`` and before ``optimizer.step()`` (gradients are
    there to read). ``progress`` wraps the step range (``ctx.progress``). Training stops early, with
    ``Curve.diverged`` set, when the loss turns NaN or infinite.
    """
    loss_fn = loss_fn or F.cross_entropy
    rng = numpy.random.default_rng(seed)
    batches = batch_indices(len(data.y_train), batch_size, rng)
    curve = Curve()
    steps_iter = range(steps) if progress is None else progress(range(steps))
    model.train()
    t0 = time.perf_counter()
    with numpy.errstate(over="ignore", invalid="ignore"):  # a diverging run is detected and recorded below
        for step in steps_iter:
            idx = next(batches)
            xb, yb = nabla.tensor(data.x_train[idx]), nabla.tensor(data.y_train[idx])
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            value = float(loss.item())
            if not math.isfinite(value):
                curve.diverged = True
                break
            if on_step is not None:
                on_step(step, model)
            optimizer.step()
            curve.loss.append(value)
            curve.seconds.append(time.perf_counter() - t0)
            if eval_every and ((step + 1) % eval_every == 0 or step + 1 == steps):
                t_eval = time.perf_counter()
                acc, tl = evaluate(model, data.x_test, data.y_test)
                curve.eval_step.append(step + 1)
                curve.test_acc.append(acc)
                curve.test_loss.append(tl)
                t0 += time.perf_counter() - t_eval  # wall time counts training only, not the evaluations
    return curve


def smooth(values: Sequence[float], window: int = 10) -> numpy.ndarray:
    """Moving average (for plotting noisy per-step losses); shorter at the start."""
    v = numpy.asarray(values, dtype=float)
    if len(v) == 0 or window <= 1:
        return v
    c = numpy.cumsum(numpy.insert(v, 0, 0.0))
    out = numpy.empty_like(v)
    for i in range(len(v)):
        lo = max(0, i + 1 - window)
        out[i] = (c[i + 1] - c[lo]) / (i + 1 - lo)
    return out


def fmt(values: Sequence[float], digits: int = 3) -> str:
    """``mean ± std`` (sample std over seeds) of ``values`` for readings."""
    from .base import Measurement

    return Measurement("", "", list(values)).fmt(digits)
