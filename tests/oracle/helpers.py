"""The shared oracle helper: run one computation in nabla and in PyTorch and compare everything.

``check(fn, inputs)`` builds the same random inputs for both frameworks, runs ``fn`` (or
``torch_fn`` for PyTorch when the spelling differs), compares every output (shape, dtype, values),
then back-propagates one random upstream gradient per differentiable output and compares the
gradient of every floating input. ``check_double`` does the same for second derivatives
(``autograd.grad(..., create_graph=True)`` differentiated again).

``inputs`` is a list whose items are

* a tuple: a shape; the input is uniform random in ``[low, high)`` of ``dtype``;
* a NumPy array: used as given (float arrays require grad, int/bool arrays become index tensors);
* anything else (a Python number, a list, None): passed unchanged to both functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

import nabla

F32, F64 = np.float32, np.float64

# (atol, rtol) for forward values and for gradients.
TOLS = {
    np.dtype(F32): ((1e-5, 1e-4), (1e-4, 1e-4)),
    np.dtype(F64): ((1e-10, 1e-8), (1e-9, 1e-7)),
}


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def ints(shape: Any, low: int, high: int, seed: int = 1) -> np.ndarray:
    """A reproducible int64 array in ``[low, high)`` (for indices and class targets)."""
    return rng(seed).integers(low, high, shape).astype(np.int64)


def make_inputs(
    inputs: Sequence[Any], dtype: Any, low: float, high: float, seed: int
) -> list[Any]:
    r = rng(seed)
    out = []
    for it in inputs:
        if isinstance(it, tuple):
            out.append(r.uniform(low, high, it).astype(dtype))
        else:
            out.append(it)
    return out


def _is_float_array(a: Any) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def to_both(
    arrays: Sequence[Any], requires_grad: Sequence[bool] | bool
) -> tuple[list[Any], list[Any], list[int]]:
    """nabla and torch versions of ``arrays``; also the positions of the inputs that require grad."""
    if isinstance(requires_grad, bool):
        requires_grad = [requires_grad and _is_float_array(a) for a in arrays]
    ns, ts, grad_pos = [], [], []
    for i, (a, rg) in enumerate(zip(arrays, requires_grad)):
        if isinstance(a, np.ndarray):
            n = nabla.tensor(a.copy())
            t = torch.from_numpy(a.copy())
            if rg:
                n.requires_grad_(True)
                t.requires_grad_(True)
                grad_pos.append(i)
            ns.append(n)
            ts.append(t)
        else:
            ns.append(a)
            ts.append(a)
    return ns, ts, grad_pos


def flatten_outputs(out: Any) -> list[Any]:
    if isinstance(out, (nabla.Tensor, torch.Tensor)):
        return [out]
    if isinstance(out, (tuple, list)):
        return [o for item in out for o in flatten_outputs(item)]
    raise TypeError(f"unexpected output type {type(out).__name__}")


def to_numpy(t: Any) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    a = t.detach().numpy()
    assert isinstance(a, np.ndarray), f"nabla's .numpy() gave {type(a).__name__}, not an ndarray"
    return a


def torch_dtype_name(t: torch.Tensor) -> str:
    return str(t.dtype).replace("torch.", "")


def assert_same(n: Any, t: Any, atol: float, rtol: float, what: str) -> None:
    """Same shape, same dtype, same values (exact for ints and bools)."""
    assert isinstance(n, nabla.Tensor), f"{what}: nabla gave {type(n).__name__}, not a Tensor"
    assert tuple(n.shape) == tuple(t.shape), f"{what}: shape {tuple(n.shape)} != torch {tuple(t.shape)}"
    assert str(n.dtype) == torch_dtype_name(t), f"{what}: dtype {n.dtype} != torch {t.dtype}"
    a, b = to_numpy(n), to_numpy(t)
    if a.dtype.kind in "biu":
        np.testing.assert_array_equal(a, b, err_msg=what)
    else:
        np.testing.assert_allclose(a, b, atol=atol, rtol=rtol, equal_nan=True, err_msg=what)


def _tols(dtype: Any, atol: float | None, rtol: float | None, grad_atol: float | None, grad_rtol: float | None):
    (fa, fr), (ga, gr) = TOLS[np.dtype(dtype)]
    return (
        fa if atol is None else atol,
        fr if rtol is None else rtol,
        ga if grad_atol is None else grad_atol,
        gr if grad_rtol is None else grad_rtol,
    )


def check(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    torch_fn: Callable[..., Any] | None = None,
    *,
    dtype: Any = F32,
    grad: bool = True,
    requires_grad: Sequence[bool] | None = None,
    low: float = -2.0,
    high: float = 2.0,
    atol: float | None = None,
    rtol: float | None = None,
    grad_atol: float | None = None,
    grad_rtol: float | None = None,
    seed: int = 0,
    finite: bool = False,
) -> tuple[list[Any], list[Any]]:
    """Compare ``fn`` in nabla with ``torch_fn`` (default ``fn``) in PyTorch: outputs and gradients.

    With ``grad`` (the default) at least one floating input must require grad and at least one
    output must be differentiable, so a gradient test can never pass vacuously. ``finite`` also
    asserts that every float output and gradient is finite. Returns the nabla and torch outputs.
    """
    torch_fn = fn if torch_fn is None else torch_fn
    fa, fr, ga, gr = _tols(dtype, atol, rtol, grad_atol, grad_rtol)
    arrays = make_inputs(inputs, dtype, low, high, seed)
    ns, ts, grad_pos = to_both(arrays, grad if requires_grad is None else list(requires_grad))

    n_outs = flatten_outputs(fn(*ns))
    t_outs = flatten_outputs(torch_fn(*ts))
    assert len(n_outs) == len(t_outs), f"nabla gave {len(n_outs)} outputs, torch {len(t_outs)}"
    for k, (n, t) in enumerate(zip(n_outs, t_outs)):
        assert_same(n, t, fa, fr, f"output {k}")
        if finite and t.dtype.is_floating_point:
            assert np.isfinite(to_numpy(n)).all(), f"output {k} is not finite: {to_numpy(n)}"
        assert bool(n.requires_grad) == bool(t.requires_grad), (
            f"output {k}: requires_grad {n.requires_grad} != torch {t.requires_grad}"
        )
    if not grad:
        return n_outs, t_outs

    diff = [k for k, t in enumerate(t_outs) if t.requires_grad]
    assert grad_pos, "check(grad=True) needs at least one floating input"
    assert diff, "check(grad=True) but no output is differentiable"
    r = rng(seed + 1000)
    ups = [r.standard_normal(t_outs[k].shape).astype(to_numpy(t_outs[k]).dtype) for k in diff]
    torch.autograd.backward([t_outs[k] for k in diff], [torch.from_numpy(u.copy()) for u in ups])
    nabla.autograd.backward([n_outs[k] for k in diff], [nabla.tensor(u.copy()) for u in ups])
    for i in grad_pos:
        compare_grad(ns[i].grad, ts[i].grad, ns[i], ga, gr, f"grad of input {i}", finite)
    return n_outs, t_outs


def compare_grad(ng: Any, tg: Any, like: Any, atol: float, rtol: float, what: str, finite: bool = False) -> None:
    """Compare two gradients; ``None`` (input not used) counts as zeros of ``like``'s shape."""
    if tg is None and ng is None:
        return
    if tg is None:
        tg = torch.zeros(tuple(like.shape), dtype=getattr(torch, str(like.dtype)))
    if ng is None and like.numel() == 0:
        return  # no gradient vs an empty one: nothing to tell apart
    assert ng is not None, f"{what}: nabla gave no gradient, torch gave {tg}"
    assert tuple(ng.shape) == tuple(like.shape), f"{what}: shape {tuple(ng.shape)} != input {tuple(like.shape)}"
    assert_same(ng, tg, atol, rtol, what)
    if finite:
        assert np.isfinite(to_numpy(ng)).all(), f"{what} is not finite: {to_numpy(ng)}"


def check_double(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    torch_fn: Callable[..., Any] | None = None,
    *,
    dtype: Any = F64,
    low: float = -2.0,
    high: float = 2.0,
    seed: int = 0,
) -> None:
    """Second derivatives: ``grad(out, xs, v, create_graph=True)`` then ``grad(sum(g * w), xs)``.

    Compares the first gradients and the second (vector-Hessian) products with PyTorch's.
    """
    torch_fn = fn if torch_fn is None else torch_fn
    _, _, ga, gr = _tols(dtype, None, None, None, None)
    arrays = make_inputs(inputs, dtype, low, high, seed)
    ns, ts, pos = to_both(arrays, True)
    assert pos, "check_double needs at least one floating input"
    n_out, t_out = fn(*ns), torch_fn(*ts)
    r = rng(seed + 2000)
    v = r.standard_normal(tuple(t_out.shape)).astype(dtype)
    nx, tx = [ns[i] for i in pos], [ts[i] for i in pos]
    n_g = nabla.autograd.grad(n_out, nx, nabla.tensor(v.copy()), create_graph=True)
    t_g = torch.autograd.grad(t_out, tx, torch.from_numpy(v.copy()), create_graph=True)
    for i, (a, b) in enumerate(zip(n_g, t_g)):
        compare_grad(a, b, nx[i], ga, gr, f"first grad {i}")
    ws = [r.standard_normal(tuple(x.shape)).astype(dtype) for x in tx]
    n_used = [(g, w) for g, w in zip(n_g, ws) if g is not None and g.requires_grad]
    t_used = [(g, w) for g, w in zip(t_g, ws) if g is not None and g.requires_grad]
    assert len(n_used) == len(t_used) and t_used, "no first gradient depends on the inputs"
    n_s = sum((g * nabla.tensor(w.copy())).sum() for g, w in n_used)
    t_s = sum((g * torch.from_numpy(w.copy())).sum() for g, w in t_used)
    n_h = nabla.autograd.grad(n_s, nx, allow_unused=True)
    t_h = torch.autograd.grad(t_s, tx, allow_unused=True)
    assert any(h is not None for h in t_h)
    for i, (a, b) in enumerate(zip(n_h, t_h)):
        compare_grad(a, b, nx[i], ga, gr, f"second grad {i}")


def gradcheck(
    fn: Callable[..., Any], inputs: Sequence[Any], low: float = -2.0, high: float = 2.0, seed: int = 0, **kw: Any
) -> None:
    """nabla.autograd.gradcheck on float64 inputs built like ``check``'s (floats require grad)."""
    arrays = make_inputs(inputs, F64, low, high, seed)
    ns, _, pos = to_both(arrays, True)
    assert pos, "gradcheck needs at least one floating input"
    assert nabla.autograd.gradcheck(fn, ns, **kw)
