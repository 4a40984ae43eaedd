"""Functions that make tensors: from data, filled, ranges, and random draws from nabla's generator."""

from __future__ import annotations

from typing import Any

import numpy

from . import backend
from .tensor import Tensor


def _size(size: tuple, op: str) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    try:
        out = tuple(int(s) for s in size)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: sizes must be ints, got {size!r}") from None
    if any(s < 0 for s in out):
        raise ValueError(f"{op}: sizes must be non-negative, got {out}")
    return out


def _finish(arr: Any, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _float_dtype(dtype: Any) -> numpy.dtype:
    return backend.get_default_dtype() if dtype is None else backend.to_dtype(dtype)


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (number, nested list, NumPy/CuPy array or Tensor).

    Python floats become float32 (the default dtype), ints int64, bools bool; a NumPy array keeps its dtype.
    """
    return Tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like :func:`tensor` but without a copy when ``data`` already fits."""
    if isinstance(data, Tensor):
        same_dtype = dtype is None or data.dtype == backend.to_dtype(dtype)
        same_device = device is None or data.device == backend.device(device)
        if same_dtype and same_device:
            return data
    from .tensor import _to_array

    return Tensor._wrap(_to_array(data, dtype, device, copy=False))


def from_numpy(array: numpy.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array (changes show through both)."""
    if not isinstance(array, numpy.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    backend.to_dtype(array.dtype)
    return Tensor._wrap(array)


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    d = backend.to_device(device)
    return _finish(backend.xp_for(d).zeros(_size(size, "zeros"), dtype=_float_dtype(dtype)), requires_grad)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    d = backend.to_device(device)
    return _finish(backend.xp_for(d).ones(_size(size, "ones"), dtype=_float_dtype(dtype)), requires_grad)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    d = backend.to_device(device)
    return _finish(backend.xp_for(d).empty(_size(size, "empty"), dtype=_float_dtype(dtype)), requires_grad)


def full(size: Any, fill_value: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (dtype inferred from the value when not given)."""
    if dtype is None:
        dtype = (
            backend.bool_ if isinstance(fill_value, bool)
            else backend.int64 if isinstance(fill_value, int)
            else backend.get_default_dtype()
        )
    d = backend.to_device(device)
    shape = _size((size,), "full")
    return _finish(backend.xp_for(d).full(shape, fill_value, dtype=backend.to_dtype(dtype)), requires_grad)


def arange(
    start: Any, end: Any = None, step: Any = 1, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Values ``start, start+step, ...`` below ``end``; int64 for integer arguments, else float32."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must not be zero")
    if dtype is None:
        ints = all(isinstance(v, (int, numpy.integer)) for v in (start, end, step))
        dtype = backend.int64 if ints else backend.get_default_dtype()
    d = backend.to_device(device)
    xp = backend.xp_for(d)
    return _finish(xp.arange(start, end, step).astype(backend.to_dtype(dtype)), requires_grad)


def linspace(
    start: float, end: float, steps: int, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    if steps < 0:
        raise ValueError(f"linspace: steps must be non-negative, got {steps}")
    d = backend.to_device(device)
    return _finish(backend.xp_for(d).linspace(start, end, steps).astype(_float_dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    d = backend.to_device(device)
    return _finish(backend.xp_for(d).eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def _gen(device: Any, generator: backend.Generator | None):
    d = backend.to_device(device)
    return (generator or backend.default_generator).for_device(d), d


def rand(
    *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, generator: Any = None
) -> Tensor:
    """Uniform samples in [0, 1)."""
    g, d = _gen(device, generator)
    dt = _float_dtype(dtype)
    shape = _size(size, "rand")
    if d.type == "cpu":
        arr = g.random(shape, dtype=dt) if dt != backend.float16 else g.random(shape).astype(dt)
    else:
        arr = g.random_sample(shape, dtype=dt)
    return _finish(arr, requires_grad)


def randn(
    *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, generator: Any = None
) -> Tensor:
    """Standard normal samples."""
    g, d = _gen(device, generator)
    dt = _float_dtype(dtype)
    shape = _size(size, "randn")
    if d.type == "cpu":
        arr = g.standard_normal(shape, dtype=dt) if dt != backend.float16 else g.standard_normal(shape).astype(dt)
    else:
        arr = g.standard_normal(shape, dtype=dt)
    return _finish(arr, requires_grad)


def randint(
    low: int, high: int | None = None, size: Any = (), dtype: Any = None, device: Any = None, generator: Any = None
) -> Tensor:
    """Integers in ``[low, high)`` (``randint(high, size)`` starts at 0), int64 by default."""
    if high is None or (isinstance(high, (tuple, list))):
        low, high, size = 0, low, high if high is not None else size
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    g, d = _gen(device, generator)
    shape = _size((size,), "randint")
    dt = backend.int64 if dtype is None else backend.to_dtype(dtype)
    arr = g.integers(low, high, shape) if d.type == "cpu" else g.randint(low, high, shape)
    return _finish(arr.astype(dt, copy=False), False)


def randperm(n: int, device: Any = None, generator: Any = None) -> Tensor:
    """A random permutation of ``0..n-1`` (int64)."""
    g, d = _gen(device, generator)
    arr = g.permutation(n)
    return _finish(arr.astype(backend.int64, copy=False), False)



def multinomial(
    input: Tensor, num_samples: int, replacement: bool = False, *, generator: Any = None
) -> Tensor:
    """Category indices (int64) drawn with probabilities proportional to the rows of ``input``.

    ``input`` is 1-D (one distribution, result ``(num_samples,)``) or 2-D (one per row, result
    ``(rows, num_samples)``); weights need not sum to 1 but must be finite, non-negative, with a positive
    sum. With replacement each draw inverts the row's cumulative distribution at a uniform number;
    without, the Gumbel-top-k trick draws ``num_samples`` distinct categories (the same distribution as
    drawing one at a time and removing it), so it needs that many categories of non-zero weight.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"multinomial: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (1, 2):
        raise ValueError(f"multinomial: input must be 1-D or 2-D (a distribution per row), got shape {input.shape}")
    if input.dtype.kind != "f":
        raise TypeError(f"multinomial: input must be a floating tensor of weights, got {input.dtype}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples <= 0:
        raise ValueError(f"multinomial: num_samples must be a positive int, got {num_samples!r}")
    w = input._data.reshape(1, -1) if input.ndim == 1 else input._data
    xp = backend.array_module(w)
    w = w.astype("float64")
    n = w.shape[1]
    if not bool(xp.isfinite(w).all()) or bool((w < 0).any()):
        raise RuntimeError("multinomial: probability tensor contains either inf, nan or element < 0")
    total = w.sum(axis=1, keepdims=True)
    if bool((total <= 0).any()):
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement:
        if num_samples > n:
            raise RuntimeError(
                f"multinomial: cannot sample {num_samples} > {n} categories without replacement; "
                "pass replacement=True or ask for fewer samples"
            )
        if bool(((w > 0).sum(axis=1) < num_samples).any()):
            raise RuntimeError(
                f"multinomial: a row has fewer than {num_samples} categories of non-zero weight, so {num_samples} "
                "distinct ones cannot be drawn without replacement; pass replacement=True"
            )
    g, d = _gen(input.device, generator)
    if replacement:
        u = g.random((w.shape[0], num_samples)) if d.type == "cpu" else g.random_sample((w.shape[0], num_samples))
        cdf = xp.cumsum(w / total, axis=1)
        cdf[:, -1] = 1.0  # rounding must not leave a u past the last bin
        out = xp.stack([xp.searchsorted(cdf[r], u[r], side="right") for r in range(w.shape[0])])
        out = xp.minimum(out, n - 1)
    else:
        u = g.random(w.shape) if d.type == "cpu" else g.random_sample(w.shape)
        with numpy.errstate(divide="ignore"):
            keys = xp.log(w) - xp.log(-xp.log(u))  # log weight + Gumbel noise; zero weight -> -inf
        out = xp.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    out = out.astype(backend.int64, copy=False)
    return _finish(out.reshape(-1) if input.ndim == 1 else out, False)


def normal(mean: Any = 0.0, std: Any = 1.0, size: Any = None, *, generator: Any = None, dtype: Any = None,
           device: Any = None) -> Tensor:
    """Samples of N(mean, std^2): ``normal(0.0, 0.01, size=(n,))``, or elementwise for Tensor ``mean`` and/or
    ``std`` (broadcast together; ``size`` must then be None). Not differentiable, as in PyTorch."""
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    if tensors:
        if size is not None:
            raise ValueError("normal: give size only with a number mean and std; with Tensors the shape is theirs")
        like = tensors[0]
        m = mean.detach() if isinstance(mean, Tensor) else mean
        sd = std.detach() if isinstance(std, Tensor) else std
        if bool(((sd._data if isinstance(sd, Tensor) else numpy.asarray(sd)) < 0).any()):
            raise RuntimeError("normal: std must be >= 0")
        shape = numpy.broadcast_shapes(*[t.shape for t in tensors])
        z = randn(shape, dtype=dtype or like.dtype, device=device or like.device, generator=generator)
        return (z * sd + m).detach()
    if size is None:
        raise TypeError("normal: with a number mean and std, give size= (e.g. normal(0.0, 1.0, size=(3,)))")
    if std < 0:
        raise RuntimeError(f"normal: std must be >= 0, got {std}")
    shape = _size(size if isinstance(size, tuple) else (size,), "normal")
    return randn(shape, dtype=dtype, device=device, generator=generator) * std + mean

def _like(x: Tensor, dtype: Any, device: Any) -> dict:
    return {"dtype": x.dtype if dtype is None else dtype, "device": x.device if device is None else device}


def zeros_like(x: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return zeros(x.shape, requires_grad=requires_grad, **_like(x, dtype, device))


def ones_like(x: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return ones(x.shape, requires_grad=requires_grad, **_like(x, dtype, device))


def empty_like(x: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return empty(x.shape, requires_grad=requires_grad, **_like(x, dtype, device))


def full_like(x: Tensor, fill_value: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return full(x.shape, fill_value, requires_grad=requires_grad, **_like(x, dtype, device))


def rand_like(x: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return rand(x.shape, requires_grad=requires_grad, **_like(x, dtype, device))


def randn_like(x: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return randn(x.shape, requires_grad=requires_grad, **_like(x, dtype, device))


def randint_like(x: Tensor, low: int, high: int | None = None, dtype: Any = None, device: Any = None) -> Tensor:
    if high is None:
        low, high = 0, low
    return randint(low, high, x.shape, **_like(x, dtype, device))
