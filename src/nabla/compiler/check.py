"""The first replay of a new program is checked against eager execution of the same call.

Both run from the same state (parameters, their gradients, optimizer state, buffers, the random
generators): the program first, then — after putting the state back — the eager function. If outputs or
final state differ beyond floating-point reassociation, the program is not used (the variant runs eagerly
from then on) and a warning says what differed. This is what makes tracing safe to use on code the tracer
cannot see into: a value computed outside any op, a random draw frozen at trace time, a Python value that
changed between calls.
"""

from __future__ import annotations

from typing import Any

import numpy

from .. import backend
from ..tensor import Tensor


class Snapshot:
    """Copies of tensors' arrays and gradients, optimizers' state and the random generators' state."""

    def __init__(self, tensors: list[Tensor], optimizers: list[Any], rng: bool = True) -> None:
        self.tensors = tensors
        self.optimizers = optimizers
        self.data = [t._data.copy() for t in tensors]
        self.grads = [None if t.grad is None else t.grad._data.copy() for t in tensors]
        self.opt_state = [_copy_state(o.state) for o in optimizers]
        self.rng = backend.get_rng_state() if rng else None

    def restore(self) -> None:
        for t, d, g in zip(self.tensors, self.data, self.grads):
            if t._data.shape == d.shape:
                t._data[...] = d
            else:  # pragma: no cover - a program never reshapes a tensor from outside
                t._data = d.copy()
            t.grad = None if g is None else Tensor._wrap(g.copy())
        for o, st in zip(self.optimizers, self.opt_state):
            o.state.clear()
            o.state.update(_copy_state(st))
        if self.rng is not None:
            backend.set_rng_state(self.rng)


def _copy_state(state: Any) -> dict:
    out = {}
    for k, v in state.items():
        out[k] = {n: (Tensor._wrap(x._data.copy()) if isinstance(x, Tensor) else
                      x.copy() if backend.is_array(x) else x) for n, x in v.items()} if isinstance(v, dict) else v
    return out


def _arrays_of_state(states: list[dict]) -> list[tuple[str, Any]]:
    out = []
    for i, st in enumerate(states):
        for j, (_, v) in enumerate(st.items()):
            if isinstance(v, dict):
                for n, x in v.items():
                    if isinstance(x, Tensor):
                        out.append((f"optimizer {i} state {n!r} of parameter {j}", x._data))
    return out


def _tolerance(dtype: Any) -> tuple[float, float]:
    if dtype == numpy.float64:
        return 1e-9, 1e-12
    if dtype in (numpy.float16,) or getattr(dtype, "itemsize", 4) < 4:
        return 1e-2, 1e-3
    return 1e-4, 1e-6


def differences(a: Snapshot, b: Snapshot, outs_a: list[Any], outs_b: list[Any], names: list[str]) -> str | None:
    """The first difference between two end states (and two output lists), described; ``None`` if none."""
    pairs: list[tuple[str, Any, Any]] = []
    for i, (x, y) in enumerate(zip(outs_a, outs_b)):
        pairs.append((f"output {i}", x, y))
    for n, da, db, ga, gb in zip(names, a.data, b.data, a.grads, b.grads):
        pairs.append((n, da, db))
        if (ga is None) != (gb is None):
            return f"{n}.grad is {'None' if ga is None else 'set'} in the compiled run, " \
                   f"{'None' if gb is None else 'set'} in eager"
        if ga is not None:
            pairs.append((f"{n}.grad", ga, gb))
    sa, sb = _arrays_of_state(a.opt_state), _arrays_of_state(b.opt_state)
    if len(sa) != len(sb):
        return "the optimizer state has different entries"
    pairs += [(n, x, y) for (n, x), (_, y) in zip(sa, sb)]
    for n, x, y in pairs:
        x, y = backend.transfer(x, backend.CPU), backend.transfer(y, backend.CPU)
        if x.shape != y.shape:
            return f"{n}: shape {x.shape} compiled vs {y.shape} eager"
        if x.dtype.kind in "fc":
            rtol, atol = _tolerance(x.dtype)
            if not numpy.allclose(x, y, rtol=rtol, atol=atol, equal_nan=True):
                err = float(numpy.nanmax(numpy.abs(x.astype(numpy.float64) - y)))
                return f"{n}: max abs difference {err:.3g} (compiled vs eager)"
        elif not numpy.array_equal(x, y):
            return f"{n}: values differ (compiled vs eager)"
    return None
