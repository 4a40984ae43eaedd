"""Layer parity with PyTorch: copy a torch layer's state into the nabla layer, then compare the
forward output, the input gradient, every parameter gradient and every buffer.

The op-level helpers (``check``, ``check_double``, ``gradcheck``) are the oracle's, re-exported.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from oracle.helpers import F32, F64, assert_same, check, check_double, compare_grad, gradcheck, rng, to_numpy  # noqa: F401

import nabla

TORCH_DTYPE = {np.dtype(F32): torch.float32, np.dtype(F64): torch.float64}
TOLS = {np.dtype(F32): (2e-5, 1e-4), np.dtype(F64): (1e-10, 1e-8)}


def copy_state(t_layer: torch.nn.Module, n_layer: nabla.nn.Module) -> None:
    """Load the torch layer's state dict (as NumPy arrays) into the nabla layer; keys must match."""
    state = {k: v.detach().numpy().copy() for k, v in t_layer.state_dict().items()}
    n_layer.load_state_dict(state)


def same_layer(n_layer: nabla.nn.Module, t_layer: torch.nn.Module, dtype: Any = F32) -> None:
    if np.dtype(dtype) == np.float64:
        n_layer.double()
        t_layer.double()
    copy_state(t_layer, n_layer)


def compare_layer(
    n_layer: nabla.nn.Module,
    t_layer: torch.nn.Module,
    x: np.ndarray,
    *,
    grad: bool = True,
    seed: int = 0,
    atol: float | None = None,
    rtol: float | None = None,
) -> tuple[Any, Any]:
    """One forward (+ backward with a random upstream gradient) through both layers, compared.

    Float inputs require grad (and their gradients are compared); integer inputs are ids.
    Returns both outputs. Parameter gradients are compared by name; buffers after the step too.
    """
    fa, fr = TOLS[np.dtype(x.dtype)] if x.dtype.kind == "f" else TOLS[np.dtype(n_layer_dtype(n_layer))]
    fa, fr = fa if atol is None else atol, fr if rtol is None else rtol
    is_float = x.dtype.kind == "f"
    nx = nabla.tensor(x.copy(), requires_grad=is_float and grad)
    tx = torch.from_numpy(x.copy()).requires_grad_(is_float and grad)
    n_out, t_out = n_layer(nx), t_layer(tx)
    assert_same(n_out, t_out, fa, fr, "forward")
    if grad:
        up = rng(seed + 7).standard_normal(tuple(t_out.shape)).astype(to_numpy(t_out).dtype)
        t_out.backward(torch.from_numpy(up.copy()))
        n_out.backward(nabla.tensor(up.copy()))
        if is_float:
            compare_grad(nx.grad, tx.grad, nx, fa * 10, fr * 10, "input grad")
        t_params = dict(t_layer.named_parameters())
        n_params = dict(n_layer.named_parameters())
        assert set(t_params) == set(n_params), f"parameters {sorted(n_params)} != torch {sorted(t_params)}"
        for name, tp in t_params.items():
            compare_grad(n_params[name].grad, tp.grad, n_params[name], fa * 10, fr * 10, f"grad of {name}")
    compare_buffers(n_layer, t_layer, fa, fr)
    return n_out, t_out


def n_layer_dtype(layer: nabla.nn.Module) -> Any:
    for p in layer.parameters():
        return p.dtype
    return np.dtype(F32)


def compare_buffers(n_layer: nabla.nn.Module, t_layer: torch.nn.Module, atol: float = 1e-6, rtol: float = 1e-5) -> None:
    t_buf = dict(t_layer.named_buffers())
    n_buf = dict(n_layer.named_buffers())
    assert set(t_buf) == set(n_buf), f"buffers {sorted(n_buf)} != torch {sorted(t_buf)}"
    for name, tb in t_buf.items():
        assert_same(n_buf[name], tb, atol, rtol, f"buffer {name}")
