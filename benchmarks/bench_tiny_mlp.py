"""Tiny MLP 2-8-8-1 training step: the per-op overhead benchmark that matters for small models.

Model: tanh hidden layers, sigmoid output, batch 32, binary cross-entropy written from primitives
(identically in both frameworks: ``p = sigmoid(z).clamp(1e-7, 1 - 1e-7)``,
``loss = -(y * log(p) + (1 - y) * log(1 - p)).mean()``; torch's fused F.binary_cross_entropy is
*not* used, so both sides run the same ops). Layers are ``x @ w + b`` with ``w`` of shape (in, out)
in both (not torch's fused ``F.linear``/addmm).

One step = forward, loss, backward, then a hand-written SGD update of all 6 parameters, the same
code for both frameworks::

    with lib.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad = None          # this is the "zero grads" (set_to_none, as torch's zero_grad does)

The step code below is literally shared: ``lib`` is either the ``nabla`` or the ``torch`` module.
A third contender, the same step written by hand in NumPy (same float32 arithmetic, no framework),
is the floor: what the arithmetic itself costs at this size.
"""

from __future__ import annotations

import numpy
from timing import sgd_phases

NAME = "tiny_mlp"
SIZES = (2, 8, 8, 1)
BATCH = 32
LR = 0.1
TARGET = 0.5  # nabla step time <= 0.5x torch's
SANITY_STEPS = 5


def init_params(seed: int = 0) -> list[numpy.ndarray]:
    """Glorot-uniform weights, zero biases, float32: [w1, b1, w2, b2, w3, b3]."""
    rng = numpy.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        limit = numpy.sqrt(6.0 / (fan_in + fan_out))
        params.append(rng.uniform(-limit, limit, (fan_in, fan_out)).astype(numpy.float32))
        params.append(numpy.zeros(fan_out, numpy.float32))
    return params


def make_data(seed: int = 1) -> tuple[numpy.ndarray, numpy.ndarray]:
    """A noisy XOR-like problem: label = (x0 * x1 > 0), 10% flipped (so the loss never reaches 0)."""
    rng = numpy.random.default_rng(seed)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(numpy.float32)
    y = (x[:, :1] * x[:, 1:2] > 0).astype(numpy.float32)
    flip = rng.random((BATCH, 1)) < 0.1
    y[flip] = 1.0 - y[flip]
    return x, y


def make_phases(lib, params_np: list[numpy.ndarray], x_np: numpy.ndarray, y_np: numpy.ndarray, lr: float = LR):
    """Zero-argument callables for ``lib`` (nabla or torch), sharing one set of parameters; returns (phases, params).

    ``phases["step"]`` is the benchmarked training step: ``forward()`` (forward + loss), ``backward()``,
    ``update()`` (the SGD update, which needs the ``.grad`` a backward left). ``"forward+backward"`` runs
    backward and then drops the gradients (``q.grad = None``) so nothing accumulates.
    benchmarks/analysis.py times these to split the step into phases.
    """
    params = [lib.tensor(a, requires_grad=True) for a in params_np]
    x, y = lib.tensor(x_np), lib.tensor(y_np)
    w1, b1, w2, b2, w3, b3 = params

    def forward():
        h = (x @ w1 + b1).tanh()
        h = (h @ w2 + b2).tanh()
        p = (h @ w3 + b3).sigmoid().clamp(1e-7, 1 - 1e-7)
        return -(y * p.log() + (1 - y) * (1 - p).log()).mean()

    return sgd_phases(lib, forward, params, lr), params


def make_step(lib, params_np: list[numpy.ndarray], x_np: numpy.ndarray, y_np: numpy.ndarray, lr: float = LR):
    """A zero-argument training step for ``lib`` (nabla or torch); returns (step, params)."""
    phases, params = make_phases(lib, params_np, x_np, y_np, lr)
    return phases["step"], params


def make_numpy_step(params_np: list[numpy.ndarray], x: numpy.ndarray, y: numpy.ndarray, lr: float = LR):
    """The same step written by hand in NumPy (no framework): the cost of the arithmetic alone."""
    w1, b1, w2, b2, w3, b3 = [a.copy() for a in params_np]
    lo, hi = numpy.float32(1e-7), numpy.float32(1 - 1e-7)
    inv_n = numpy.float32(1.0 / y.size)
    one = numpy.float32(1.0)
    lr32 = numpy.float32(lr)

    def step():
        h1 = numpy.tanh(x @ w1 + b1)
        h2 = numpy.tanh(h1 @ w2 + b2)
        s = one / (one + numpy.exp(-(h2 @ w3 + b3)))
        p = numpy.clip(s, lo, hi)
        loss = -(y * numpy.log(p) + (one - y) * numpy.log(one - p)).mean()
        # backward: d loss / d p, through the clamp (zero where it clipped), the sigmoid and the layers
        dp = ((one - y) / (one - p) - y / p) * inv_n
        dz = dp * ((s >= lo) & (s <= hi)) * s * (one - s)
        dw3, db3 = h2.T @ dz, dz.sum(axis=0)
        da2 = (dz @ w3.T) * (one - h2 * h2)
        dw2, db2 = h1.T @ da2, da2.sum(axis=0)
        da1 = (da2 @ w2.T) * (one - h1 * h1)
        dw1, db1 = x.T @ da1, da1.sum(axis=0)
        for q, g in ((w1, dw1), (b1, db1), (w2, dw2), (b2, db2), (w3, dw3), (b3, db3)):
            q -= lr32 * g
        return loss

    return step


def run(settings) -> list:
    import torch
    from timing import Row, compare

    import nabla

    p0 = init_params()
    x, y = make_data()

    # sanity: a few steps from the same weights give the same losses (the NumPy floor too)
    sn, _ = make_step(nabla, p0, x, y)
    st, _ = make_step(torch, p0, x, y)
    sf = make_numpy_step(p0, x, y)
    diff = diff_np = 0.0
    for _ in range(SANITY_STEPS):
        ln, lt, lf = sn().item(), st().item(), float(sf())
        diff = max(diff, abs(ln - lt))
        diff_np = max(diff_np, abs(lf - lt))

    sn, _ = make_step(nabla, p0, x, y)
    st, _ = make_step(torch, p0, x, y)
    sf = make_numpy_step(p0, x, y)
    stats = compare({"nabla": sn, "torch": st, "numpy": sf}, settings.scaled(rounds=2))
    return [
        Row(NAME, "tiny MLP 2-8-8-1 train step (batch 32, BCE, SGD)", stats["nabla"], stats["torch"],
            target=TARGET, reference=stats["numpy"], reference_label="pure NumPy",
            sanity=f"max abs loss diff {diff:.1e} over {SANITY_STEPS} steps (NumPy vs torch {diff_np:.1e})",
            sanity_ok=diff <= 1e-4 and diff_np <= 1e-4)
    ]
