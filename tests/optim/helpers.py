"""Run the same optimizer on the same parameters and gradients in nabla and in PyTorch."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import nabla

SHAPES = [(4, 3), (5,), (2, 2, 2), ()]


@contextlib.contextmanager
def torch_float64():
    """PyTorch keeps scalar state (NAdam's mu_product) in the default dtype: make it float64 too."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def initial_arrays(dtype=np.float64, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, s).astype(dtype) for s in SHAPES]


def fake_grad(x: np.ndarray, step: int, i: int) -> np.ndarray:
    """A deterministic gradient from the parameter's value and the step: a quadratic pull toward a
    target plus an oscillating term whose size changes with the step (so AMSGrad's max matters,
    and signs flip)."""
    target = 0.25 * (i + 1)
    return (x - target) * (1.0 + 0.5 * i) + np.sin(0.7 * step + 3.0 * x) * (1.0 + (step % 5))


def skip(step: int, i: int) -> bool:
    """Parameter 2 has no gradient every third step (it must be left alone then)."""
    return i == 2 and step % 3 == 1


def set_grads(params: list, lib: str, step: int) -> None:
    for i, p in enumerate(params):
        if skip(step, i):
            p.grad = None
            continue
        x = p.detach().numpy() if lib == "torch" else p._data
        g = np.asarray(fake_grad(np.array(x), step, i))
        p.grad = torch.from_numpy(g) if lib == "torch" else nabla.tensor(g)


def make_params(arrays: list[np.ndarray]) -> tuple[list, list]:
    nb = [nabla.tensor(a.copy(), requires_grad=True) for a in arrays]
    th = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    return nb, th


def groups_of(params: list, groups: list[dict] | None) -> Any:
    """``groups`` like [{"idx": [0, 1], "lr": 0.1}, {"idx": [2, 3]}] -> parameter group dicts."""
    if groups is None:
        return params
    return [{**{k: v for k, v in g.items() if k != "idx"}, "params": [params[i] for i in g["idx"]]} for g in groups]


def trajectories(nabla_cls: Callable, torch_cls: Callable, kwargs: dict, steps: int = 25,
                 groups: list[dict] | None = None, dtype=np.float64):
    """Per step: (nabla param arrays, torch param arrays); and the two optimizers at the end."""
    nb, th = make_params(initial_arrays(dtype))
    with torch_float64():
        opt_n = nabla_cls(groups_of(nb, groups), **kwargs)
        opt_t = torch_cls(groups_of(th, groups), **kwargs)
        out = []
        for step in range(steps):
            set_grads(nb, "nabla", step)
            set_grads(th, "torch", step)
            opt_n.step()
            opt_t.step()
            out.append(([p._data.copy() for p in nb], [p.detach().numpy().copy() for p in th]))
    return out, (opt_n, nb), (opt_t, th)


def assert_close(a: Any, b: Any, rtol: float = 1e-10, atol: float = 1e-12, what: str = "") -> None:
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol, err_msg=what)
