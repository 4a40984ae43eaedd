"""A fake GPU for CI: NumPy memory tagged as device memory, so CuPy's code paths run without a GPU.

Why: nabla's CuPy branches (``backend.special``, ``backend.add_at``, the per-device RNG, transfers)
and its device bookkeeping cannot run on a machine without an NVIDIA GPU, so placement mistakes
only show up in the rare GPU session. This module gives ``backend.py`` a third device type,
``"fakecuda"``, that behaves like CuPy where it matters for placement and costs nothing to run:

* Arrays on the device are :class:`DeviceArray`, an ``ndarray`` subclass. The arithmetic is NumPy's,
  so values are exactly the CPU's.
* A **host array meeting a device array** in a ufunc, a NumPy function, or a call through the device
  namespace (``xp.exp(host)``) raises :class:`DeviceMixError`, naming the op, both devices and the
  host operand's shape: what CuPy reports as ``TypeError: Unsupported type <class 'numpy.ndarray'>``.
  0-d host arrays and NumPy scalars are allowed (CuPy takes scalars as kernel arguments).
* Results stay arrays, as in CuPy: reductions and element reads give 0-d device arrays, not NumPy
  scalars, so turning one into a Python number is an explicit device→host copy.
* **Host syncs are counted**: ``.item()``, ``float()``, ``int()``, ``bool()``, ``.tolist()``, and every
  copy to the host (``backend.transfer(a, cpu)``, i.e. ``Tensor.numpy()``, ``.cpu()``). On a GPU each
  one waits for the queued kernels; :func:`count_host_syncs` records them with the line that caused
  them, so a test can hold a training step to a budget.
* ``backend.py`` takes its CuPy branches for this device too: the RNG is a per-device stream with
  CuPy's ``RandomState`` method names (``random_sample``, ``standard_normal``, ``randint``) seeded from
  the CPU stream, ``special`` and ``add_at`` dispatch on the array type, transfers copy.

It is never on by default: :func:`nabla.backend.enable_fake_cuda` or the environment variable
``NABLA_FAKE_CUDA=1`` turns it on. What it cannot catch: ``numpy.asarray(device_array)`` silently
gives a host view (NumPy calls no hook for subclasses; CuPy raises), a device array used as an index
into a host array, and anything about speed, streams or memory (those need the real GPU run).
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Iterator
from typing import Any

import numpy

NAME = "fakecuda:0"
HOST = "cpu"


class DeviceMixError(RuntimeError):
    """A host (NumPy) array met a device array in one op."""


# ------------------------------------------------------------------------------------ host syncs


class HostSyncs:
    """The host syncs seen inside :func:`count_host_syncs`: ``count`` and ``where`` (one line each)."""

    def __init__(self) -> None:
        self.count = 0
        self.where: list[str] = []

    def report(self, limit: int = 12) -> str:
        """The places that synced, most frequent first (``file:line in function: what``)."""
        from collections import Counter

        lines = [f"{n} x {w}" for w, n in Counter(self.where).most_common(limit)]
        return "\n".join(lines) if lines else "(no host syncs)"


_counters: list[HostSyncs] = []


@contextlib.contextmanager
def count_host_syncs() -> Iterator[HostSyncs]:
    """Count device→host copies inside the block: ``with count_host_syncs() as s: ...; s.count``."""
    s = HostSyncs()
    _counters.append(s)
    try:
        yield s
    finally:
        _counters.remove(s)


_CONVERSIONS = ("nabla/fake_device.py", "nabla/backend.py", "nabla/tensor.py")  # report the caller of these


def _sync(what: str) -> None:
    if not _counters:
        return
    where = what
    for frame in reversed(traceback.extract_stack(limit=12)[:-2]):
        if not frame.filename.endswith(_CONVERSIONS):
            where = f"{frame.filename.rsplit('/src/', 1)[-1]}:{frame.lineno} in {frame.name}: {what}"
            break
    for s in _counters:
        s.count += 1
        s.where.append(where)


# ---------------------------------------------------------------------------------- device arrays


def _is_host(a: Any) -> bool:
    return isinstance(a, numpy.ndarray) and not isinstance(a, DeviceArray) and a.ndim > 0


def _host_operand(args: Any) -> numpy.ndarray | None:
    """The first non-0-d host ndarray in ``args`` (nested in lists, tuples, dicts), else None."""
    stack = [args]
    while stack:
        a = stack.pop()
        if isinstance(a, numpy.ndarray):
            if _is_host(a):
                return a
        elif isinstance(a, (list, tuple)):
            stack.extend(a)
        elif isinstance(a, dict):
            stack.extend(a.values())
    return None


def _mix_error(op: str, host: numpy.ndarray) -> DeviceMixError:
    return DeviceMixError(
        f"{op}: operands are on different devices ({NAME} and {HOST}): a {HOST} array of shape {host.shape} "
        f"and dtype {host.dtype} met {NAME} memory (on a real GPU CuPy refuses this with a TypeError). "
        "Move the host data onto the device first (Tensor.to(device), or backend.transfer for raw arrays), "
        "or build it on the device (xp = backend.array_module(x))."
    )


def _unwrap(a: Any) -> Any:
    if isinstance(a, DeviceArray):
        return a.view(numpy.ndarray)
    if isinstance(a, (list, tuple)):
        return type(a)(_unwrap(v) for v in a)
    if isinstance(a, dict):
        return {k: _unwrap(v) for k, v in a.items()}
    return a


def _wrap(a: Any) -> Any:
    """Arrays and NumPy scalars become device arrays (CuPy returns 0-d arrays, never scalars)."""
    if isinstance(a, numpy.ndarray):
        return a if isinstance(a, DeviceArray) else a.view(DeviceArray)
    if isinstance(a, numpy.generic):
        return numpy.asarray(a).view(DeviceArray)
    if isinstance(a, tuple):
        return tuple(_wrap(v) for v in a)
    if isinstance(a, list):
        return [_wrap(v) for v in a]
    return a


class DeviceArray(numpy.ndarray):
    """An ``ndarray`` whose memory counts as ``fakecuda:0``: NumPy's values, CuPy's placement rules."""

    __array_priority__ = 100.0

    @property
    def device(self) -> str:  # NumPy 2's ndarray.device says "cpu"; CuPy's names the GPU
        return NAME

    def __array_ufunc__(self, ufunc: numpy.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        host = _host_operand((inputs, kwargs.get("out", ())))
        if host is not None:
            name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
            raise _mix_error(name, host)
        out = getattr(ufunc, method)(*_unwrap(inputs), **_unwrap(kwargs))
        if method == "at":
            return None
        if "out" in kwargs:
            outs = kwargs["out"]
            return outs[0] if len(outs) == 1 else outs
        return _wrap(out)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        host = _host_operand((args, kwargs))
        if host is not None:
            raise _mix_error(getattr(func, "__name__", str(func)), host)
        return _wrap(func(*_unwrap(args), **_unwrap(kwargs)))

    def __getitem__(self, key: Any) -> Any:
        return _wrap(super().__getitem__(_unwrap(key)))

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(_unwrap(key), _unwrap(value))

    def argmax(self, *args: Any, **kwargs: Any) -> Any:
        return _wrap(self.view(numpy.ndarray).argmax(*args, **kwargs))

    def argmin(self, *args: Any, **kwargs: Any) -> Any:
        return _wrap(self.view(numpy.ndarray).argmin(*args, **kwargs))

    # Device -> host: each of these waits for the GPU and copies.
    def item(self, *args: Any) -> Any:
        _sync("item()")
        return self.view(numpy.ndarray).item(*args)

    def tolist(self) -> Any:
        _sync("tolist()")
        return self.view(numpy.ndarray).tolist()

    def __float__(self) -> float:
        _sync("float()")
        return float(self.view(numpy.ndarray))

    def __int__(self) -> int:
        _sync("int()")
        return int(self.view(numpy.ndarray))

    def __index__(self) -> int:
        _sync("index")
        return self.view(numpy.ndarray).__index__()

    def __bool__(self) -> bool:
        _sync("bool()")
        return bool(self.view(numpy.ndarray))

    def __reduce__(self) -> Any:  # pickling (to another process) copies through the host, as CuPy's does
        _sync("pickle")
        return (to_device, (numpy.array(self.view(numpy.ndarray), copy=True),))

    def __deepcopy__(self, memo: Any) -> DeviceArray:
        return self.copy()


def to_host(a: Any) -> numpy.ndarray:
    """``cupy.asnumpy``: a host copy of device array ``a`` (counted as a sync)."""
    _sync("copy to host")
    return numpy.array(a.view(numpy.ndarray), copy=True)


def to_device(a: Any) -> DeviceArray:
    """``cupy.asarray``: ``a`` on the device (no copy when it is there already)."""
    if isinstance(a, DeviceArray):
        return a
    return numpy.array(_unwrap(a), copy=True).view(DeviceArray)


# ------------------------------------------------------------------------------- the namespace

# Functions that take host data on purpose (cupy.asarray(host) is an upload, not a mistake).
_UPLOADS = frozenset({"asarray", "array", "asanyarray", "ascontiguousarray", "frombuffer", "fromiter"})


class _DeviceUfunc:
    """A NumPy ufunc called through the device namespace: host arrays refused, results on device."""

    def __init__(self, ufunc: numpy.ufunc) -> None:
        self._ufunc = ufunc

    def _check(self, name: str, args: Any, kwargs: Any) -> None:
        host = _host_operand((args, kwargs))
        if host is not None:
            raise _mix_error(name, host)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._check(self._ufunc.__name__, args, kwargs)
        return _wrap(self._ufunc(*_unwrap(args), **_unwrap(kwargs))) if "out" not in kwargs else \
            self._ufunc(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._ufunc, name)
        if not callable(attr):
            return attr

        def method(*args: Any, **kwargs: Any) -> Any:
            self._check(f"{self._ufunc.__name__}.{name}", args, kwargs)
            return _wrap(attr(*_unwrap(args), **_unwrap(kwargs)))

        return method


class DeviceNamespace:
    """``cupy`` for the fake device: NumPy's (or SciPy's) names, refusing host arrays, returning device
    arrays. Types, dtypes and constants pass through (``xp.float32``, ``xp.errstate``, ``xp.pi``)."""

    def __init__(self, module: Any) -> None:
        self._module = module
        self._cache: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"<fake device namespace over {self._module.__name__}>"

    def __getattr__(self, name: str) -> Any:
        hit = self._cache.get(name)
        if hit is not None:
            return hit
        attr = getattr(self._module, name)
        if isinstance(attr, numpy.ufunc):
            out: Any = _DeviceUfunc(attr)
        elif isinstance(attr, type) or not callable(attr):
            out = DeviceNamespace(attr) if type(attr).__name__ == "module" else attr
        elif name in _UPLOADS:
            def out(*args: Any, _f: Any = attr, **kwargs: Any) -> Any:
                return to_device(_f(*_unwrap(args), **_unwrap(kwargs)))
        else:
            def out(*args: Any, _f: Any = attr, _n: str = name, **kwargs: Any) -> Any:
                host = _host_operand((args, kwargs))
                if host is not None:
                    raise _mix_error(_n, host)
                return _wrap(_f(*_unwrap(args), **_unwrap(kwargs)))
        self._cache[name] = out
        return out


xp = DeviceNamespace(numpy)


def special() -> DeviceNamespace:
    """``cupyx.scipy.special`` for the fake device."""
    import scipy.special

    return DeviceNamespace(scipy.special)


def scatter_add(out: DeviceArray, index: Any, values: Any) -> None:
    """``cupyx.scatter_add``: ``out[index] += values`` with repeats accumulating; ``values`` must be on
    the device (or a scalar)."""
    host = _host_operand(values)
    if host is not None:
        raise _mix_error("scatter_add", host)
    numpy.add.at(out.view(numpy.ndarray), _unwrap(index), _unwrap(values))


class RandomState:
    """``cupy.random.RandomState`` for the fake device (its method names and ``dtype=`` arguments),
    drawing from a NumPy ``Generator`` and returning device arrays."""

    def __init__(self, seed: int) -> None:
        self._gen = numpy.random.default_rng(seed)

    def random_sample(self, size: Any = None, dtype: Any = float) -> DeviceArray:
        return to_device(self._gen.random(size, dtype=numpy.dtype(dtype)))

    def standard_normal(self, size: Any = None, dtype: Any = float) -> DeviceArray:
        return to_device(self._gen.standard_normal(size, dtype=numpy.dtype(dtype)))

    def normal(self, loc: float = 0.0, scale: float = 1.0, size: Any = None, dtype: Any = float) -> DeviceArray:
        return to_device(self._gen.normal(loc, scale, size).astype(dtype))

    def uniform(self, low: float = 0.0, high: float = 1.0, size: Any = None, dtype: Any = float) -> DeviceArray:
        return to_device(self._gen.uniform(low, high, size).astype(dtype))

    def randint(self, low: int, high: int | None = None, size: Any = None, dtype: Any = "l") -> DeviceArray:
        return to_device(self._gen.integers(low, high, size).astype(dtype))

    def permutation(self, n: Any) -> DeviceArray:
        return to_device(self._gen.permutation(_unwrap(n)))

    def choice(self, a: Any, size: Any = None, replace: bool = True, p: Any = None) -> DeviceArray:
        if _host_operand((a, p)) is not None:
            raise _mix_error("choice", _host_operand((a, p)))
        return to_device(self._gen.choice(_unwrap(a), size, replace, _unwrap(p)))
