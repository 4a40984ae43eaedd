"""Per-op overhead: forward + backward of one small op on (16, 16) float32 tensors, in microseconds.

At this size the arithmetic is nearly free, so the time is the framework's fixed cost per op:
dispatch, graph recording, the backward pass's bookkeeping and gradient accumulation. Each case is
``op(...).sum().backward()`` (the ``.sum()`` makes a scalar to call backward on and is the same in
both frameworks), with the leaves' ``.grad`` reset to None before every call so nothing accumulates.
One more case times ``with no_grad(): x + w``: forward dispatch only (plus entering the context), no graph.
"""

from __future__ import annotations

import numpy
import torch
from timing import Row, Settings, compare

import nabla

NAME = "ops"
SIZE = (16, 16)


def _cases():
    """(name, f(x, w) -> the scalar to call backward on); the same code runs on nabla and torch tensors."""
    return [
        ("mul+sum: (x*x).sum()", lambda x, w: (x * x).sum()),
        ("add+sum: (x+w).sum()", lambda x, w: (x + w).sum()),
        ("matmul 16x16 +sum: (x@w).sum()", lambda x, w: (x @ w).sum()),
        ("tanh+sum: x.tanh().sum()", lambda x, w: x.tanh().sum()),
        ("relu+sum: x.relu().sum()", lambda x, w: x.relu().sum()),
    ]


def _make_step(x, w, f):
    def step():
        x.grad = None
        w.grad = None
        f(x, w).backward()

    return step


def _make_fwd(lib, x, w):
    no_grad = lib.no_grad

    def fwd():
        with no_grad():
            return x + w

    return fwd


def _grad_diff(a, b) -> float:
    """max |a.grad - b.grad|; 0 if neither has a grad, inf if only one does."""
    if a.grad is None and b.grad is None:
        return 0.0
    if a.grad is None or b.grad is None:
        return float("inf")
    return float(numpy.max(numpy.abs(a.grad.numpy() - b.grad.numpy())))


def run(settings: Settings) -> list[Row]:
    rng = numpy.random.default_rng(0)
    xa = rng.standard_normal(SIZE).astype(numpy.float32)
    wa = rng.standard_normal(SIZE).astype(numpy.float32)
    xn, wn = nabla.tensor(xa, requires_grad=True), nabla.tensor(wa, requires_grad=True)
    xt, wt = torch.tensor(xa, requires_grad=True), torch.tensor(wa, requires_grad=True)

    rows = []
    for name, f in _cases():
        sn, st = _make_step(xn, wn, f), _make_step(xt, wt, f)
        # sanity: the same gradients come out of one call
        sn(), st()
        diff = max(_grad_diff(xn, xt), _grad_diff(wn, wt))
        stats = compare({"nabla": sn, "torch": st}, settings)
        rows.append(
            Row(NAME, name, stats["nabla"], stats["torch"],
                sanity=f"max abs grad diff {diff:.1e}", sanity_ok=diff <= 1e-4)
        )
    fn, ft = _make_fwd(nabla, xn, wn), _make_fwd(torch, xt, wt)
    diff = float(numpy.max(numpy.abs(fn().numpy() - ft().numpy())))
    stats = compare({"nabla": fn, "torch": ft}, settings)
    rows.append(
        Row(NAME, "add, forward only, no_grad", stats["nabla"], stats["torch"],
            sanity=f"max abs output diff {diff:.1e}", sanity_ok=diff <= 1e-4)
    )
    return rows
