"""MLP 784-256-256-10 training step (MNIST-sized): here the matmuls dominate, not the overhead.

Model: ReLU hidden layers, batch 128, cross-entropy on integer labels (``nabla.cross_entropy`` /
``torch.nn.functional.cross_entropy``, mean reduction), float32. Layers are ``x @ w + b`` with ``w``
of shape (in, out) in both frameworks. The step (shared code, ``lib`` = nabla or torch) is forward,
loss, backward, then hand-written SGD on all 6 parameters::

    with lib.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad = None          # the "zero grads" (set_to_none)

A third contender, a hand-written pure-NumPy forward/backward/SGD of the same network, is the
floor: what the arithmetic costs with no framework at all (same BLAS as nabla).
"""

from __future__ import annotations

import numpy
from timing import sgd_phases

NAME = "mlp"
SIZES = (784, 256, 256, 10)
BATCH = 128
LR = 0.05
TARGET = 0.9  # nabla step time <= 0.9x torch's
SANITY_STEPS = 5


def init_params(seed: int = 0) -> list[numpy.ndarray]:
    """Kaiming-uniform weights (ReLU gain), small uniform biases, float32: [w1, b1, w2, b2, w3, b3]."""
    rng = numpy.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        limit = numpy.sqrt(6.0 / fan_in)
        params.append(rng.uniform(-limit, limit, (fan_in, fan_out)).astype(numpy.float32))
        params.append(rng.uniform(-0.01, 0.01, fan_out).astype(numpy.float32))
    return params


def make_data(seed: int = 1) -> tuple[numpy.ndarray, numpy.ndarray]:
    rng = numpy.random.default_rng(seed)
    x = rng.random((BATCH, SIZES[0]), dtype=numpy.float32)  # pixel-like values in [0, 1)
    y = rng.integers(0, SIZES[-1], BATCH).astype(numpy.int64)
    return x, y


def make_phases(lib, cross_entropy, params_np, x_np, y_np, lr: float = LR):
    """Zero-argument callables for ``lib`` sharing one set of parameters; returns (phases, params).

    ``phases["step"]`` is the benchmarked training step: ``forward()`` (forward + loss), ``backward()``,
    ``update()`` (the SGD update, which needs the ``.grad`` a backward left). ``"forward+backward"`` runs
    backward and then drops the gradients (``q.grad = None``). See benchmarks/analysis.py.
    """
    params = [lib.tensor(a, requires_grad=True) for a in params_np]
    x, y = lib.tensor(x_np), lib.tensor(y_np)
    w1, b1, w2, b2, w3, b3 = params

    def forward():
        h = (x @ w1 + b1).relu()
        h = (h @ w2 + b2).relu()
        return cross_entropy(h @ w3 + b3, y)

    return sgd_phases(lib, forward, params, lr), params


def make_step(lib, cross_entropy, params_np, x_np, y_np, lr: float = LR):
    phases, params = make_phases(lib, cross_entropy, params_np, x_np, y_np, lr)
    return phases["step"], params


def make_numpy_step(params_np, x, y, lr: float = LR):
    """The same step by hand in NumPy: the cost of the arithmetic alone."""
    w1, b1, w2, b2, w3, b3 = [a.copy() for a in params_np]
    n = x.shape[0]
    rows = numpy.arange(n)

    def step():
        a1 = x @ w1
        a1 += b1
        h1 = numpy.maximum(a1, 0)
        a2 = h1 @ w2
        a2 += b2
        h2 = numpy.maximum(a2, 0)
        z = h2 @ w3
        z += b3
        # softmax cross-entropy, mean over the batch
        z -= z.max(axis=1, keepdims=True)
        e = numpy.exp(z)
        s = e.sum(axis=1, keepdims=True)
        loss = numpy.log(s[:, 0]).mean() - z[rows, y].mean()
        dz = e / s
        dz[rows, y] -= 1.0
        dz *= numpy.float32(1.0 / n)
        # backward
        dw3 = h2.T @ dz
        db3 = dz.sum(axis=0)
        dh2 = dz @ w3.T
        dh2 *= a2 > 0
        dw2 = h1.T @ dh2
        db2 = dh2.sum(axis=0)
        dh1 = dh2 @ w2.T
        dh1 *= a1 > 0
        dw1 = x.T @ dh1
        db1 = dh1.sum(axis=0)
        # SGD
        for p, g in ((w1, dw1), (b1, db1), (w2, dw2), (b2, db2), (w3, dw3), (b3, db3)):
            g *= numpy.float32(lr)
            p -= g
        return loss

    return step


def run(settings) -> list:
    import torch
    import torch.nn.functional as F
    from timing import Row, compare

    import nabla

    p0 = init_params()
    x, y = make_data()

    sn, _ = make_step(nabla, nabla.cross_entropy, p0, x, y)
    st, _ = make_step(torch, F.cross_entropy, p0, x, y)
    sf = make_numpy_step(p0, x, y)
    diff = diff_np = 0.0
    for _ in range(SANITY_STEPS):
        ln, lt, lf = sn().item(), st().item(), float(sf())
        diff = max(diff, abs(ln - lt))
        diff_np = max(diff_np, abs(lf - lt))

    sn, _ = make_step(nabla, nabla.cross_entropy, p0, x, y)
    st, _ = make_step(torch, F.cross_entropy, p0, x, y)
    sf = make_numpy_step(p0, x, y)
    stats = compare({"nabla": sn, "torch": st, "numpy": sf}, settings.scaled(rounds=1.5, block=2))
    return [
        Row(NAME, "MLP 784-256-256-10 train step (batch 128, CE, SGD)", stats["nabla"], stats["torch"],
            target=TARGET, reference=stats["numpy"], reference_label="pure NumPy",
            sanity=f"max abs loss diff {diff:.1e} over {SANITY_STEPS} steps (NumPy vs torch {diff_np:.1e})",
            sanity_ok=diff <= 1e-4 and diff_np <= 1e-4)
    ]
