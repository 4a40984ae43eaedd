"""Automatic mixed precision: ``with nabla.autocast("cuda"):`` runs matrix products in float16.

PyTorch's policy, op by op. Inside an autocast region for a device type, ops of the *lower-precision*
list — ``matmul``, ``bmm``, ``linear``, the convolutions, ``scaled_dot_product_attention`` — cast their
floating inputs to the region's dtype (float16), where tensor cores and half the memory traffic pay off.
Ops of the *float32* list cast float16 inputs up to float32, because their range or accumulation needs it:
the losses everywhere, and on CUDA also ``softmax``, ``log_softmax``, ``exp``, ``log``, ``layer_norm`` and
``group_norm`` (PyTorch's CPU autocast leaves those in the input's type, and so does nabla's). Every other op
runs in its inputs' promoted type. The casts are ops of the graph, so float32 parameters (the "master
weights") receive float32 gradients; a parameter's float16 copy is made once per region (cached), also when
a loop uses it many times. Pair it with :class:`nabla.amp.GradScaler` so small float16 gradients do not
underflow to zero.

NumPy and CuPy have no bfloat16, so nabla's autocast computes in float16 on both device types (PyTorch's CPU
default, bfloat16, is refused with that explanation).
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from . import backend

LOWER = "lower"  # ops computed in the autocast dtype
FP32 = "fp32"  # ops computed in float32
# the float32 list per device type (PyTorch's, restricted to the ops nabla has)
_FP32_OPS = {
    "cuda": frozenset({"softmax", "log_softmax", "exp", "log", "layer_norm", "group_norm", "cross_entropy",
                       "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "binary_cross_entropy",
                       "binary_cross_entropy_with_logits", "kl_div"}),
    "cpu": frozenset({"cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "binary_cross_entropy",
                      "binary_cross_entropy_with_logits", "kl_div"}),
}


class _State(threading.local):
    enabled = False
    device_type: str | None = None
    dtype: Any = None
    cache: dict | None = None


state = _State()  # read by the ops (``state.enabled``: one attribute read when autocast is off)


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether an autocast region is active (for ``device_type``, when given)."""
    return state.enabled and (device_type is None or device_type == state.device_type)


def get_autocast_dtype(device_type: str) -> Any:
    """The dtype autocast uses for ``device_type`` (float16 in nabla)."""
    return backend.float16


class autocast(contextlib.ContextDecorator):
    """``with nabla.autocast("cuda"):`` (or ``"cpu"``), also a decorator; see the module docstring.

    Args:
        device_type: "cuda" or "cpu": the device whose tensors are cast (others are left alone).
        dtype: the lower precision, float16 (the default; bfloat16 does not exist in NumPy or CuPy).
        enabled: False makes the region a no-op (so code can switch mixed precision with a flag).
        cache_enabled: cache each parameter's float16 copy for the region (default True).
    """

    def __init__(self, device_type: str, dtype: Any = None, enabled: bool = True, cache_enabled: bool = True) -> None:
        if device_type not in _FP32_OPS:
            raise ValueError(f"autocast: device_type must be 'cuda' or 'cpu', got {device_type!r}")
        if dtype is not None:
            name = getattr(dtype, "name", None) or str(dtype)
            if "bfloat16" in name:
                raise TypeError("autocast: bfloat16 is not available in NumPy or CuPy, so nabla's mixed precision "
                                "uses float16: pass dtype=nabla.float16 (or leave dtype out)")
            dtype = backend.to_dtype(dtype)
            if dtype != backend.float16:
                raise TypeError(f"autocast: dtype must be float16, got {dtype}")
        self.device_type = device_type
        self.dtype = backend.float16
        self.enabled = bool(enabled)
        self.cache_enabled = bool(cache_enabled)

    def __enter__(self) -> autocast:
        st = state
        self._prev = (st.enabled, st.device_type, st.dtype, st.cache)
        if self.enabled:
            st.enabled, st.device_type, st.dtype = True, self.device_type, self.dtype
            if st.cache is None and self.cache_enabled:
                st.cache = {}
        else:
            st.enabled = False
        return self

    def __exit__(self, *exc: Any) -> None:
        st = state
        st.enabled, st.device_type, st.dtype, cache = self._prev
        st.cache = cache  # leaving the outermost region drops the cached float16 copies


def autocast_inputs(kind: str, op: str, *tensors: Any) -> tuple:
    """``tensors`` as op ``op`` of list ``kind`` (:data:`LOWER` or :data:`FP32`) sees them in the current
    region: the same objects when autocast is off (the common case costs one attribute read)."""
    st = state
    if not st.enabled:
        return tensors
    if kind == FP32 and op not in _FP32_OPS[st.device_type]:
        return tensors
    from .ops.convert import cast

    target = st.dtype if kind == LOWER else backend.float32
    out = []
    for t in tensors:
        data = getattr(t, "_data", None)
        if data is None or data.dtype.kind != "f" or data.dtype == target or _kind(t.device.type) != st.device_type:
            out.append(t)
            continue
        if kind == FP32 and data.dtype != backend.float16:
            out.append(t)  # only lower precision is raised: float64 stays float64
            continue
        cache = st.cache
        if cache is not None and kind == LOWER and t.requires_grad and t._ctx is None:
            hit = cache.get(id(t))
            if hit is None or hit[0] is not t or hit[1] != t._version[0]:
                hit = (t, t._version[0], cast(t, target))
                cache[id(t)] = hit
            out.append(hit[2])
        else:
            out.append(cast(t, target))
    return tuple(out)


def _kind(device_type: str) -> str:
    """The autocast device type of a tensor's device ("fakecuda", the CI stand-in for a GPU, counts as cuda)."""
    return "cpu" if device_type == "cpu" else "cuda"
