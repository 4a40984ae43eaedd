"""Devices, array namespaces, dtypes and random number generation.

Every op asks this module for the array namespace (`xp`) of its inputs: NumPy on ``"cpu"``, CuPy on
``"cuda"`` when CuPy imports. Nothing else in nabla imports CuPy, and ops never import NumPy for
arithmetic, so the same op code runs on both devices.

A third device, ``"fakecuda"`` (off unless :func:`enable_fake_cuda` or ``NABLA_FAKE_CUDA=1``), runs the
CuPy branches below on NumPy arrays tagged as device memory (``nabla.fake_device``), so CI without a
GPU catches device-placement mistakes and counts host syncs.
"""

from __future__ import annotations

import builtins as _builtins
import os as _os
import random as _pyrandom
from typing import Any

import numpy

from . import fake_device as _fake

try:  # CuPy is optional: present on GPU machines only.
    import cupy as _cupy  # type: ignore[import-not-found]
except Exception:
    _cupy = None

# ----------------------------------------------------------------------------------------- dtypes

float16 = half = numpy.dtype("float16")
float32 = float = numpy.dtype("float32")
float64 = double = numpy.dtype("float64")
int8 = numpy.dtype("int8")
int16 = short = numpy.dtype("int16")
int32 = int = numpy.dtype("int32")
int64 = long = numpy.dtype("int64")
uint8 = numpy.dtype("uint8")
bool_ = numpy.dtype("bool")

DTYPES: dict[str, numpy.dtype] = {
    "float16": float16, "half": float16, "float32": float32, "float": float32,
    "float64": float64, "double": float64, "int8": int8, "int16": int16, "short": int16,
    "int32": int32, "int": int32, "int64": int64, "long": int64, "uint8": uint8, "bool": bool_,
}
_SUPPORTED = frozenset(DTYPES.values())
builtins_float, builtins_int, builtins_bool = _builtins.float, _builtins.int, _builtins.bool

_default_float = float32


def get_default_dtype() -> numpy.dtype:
    """The dtype that Python floats and lists of floats become (float32 unless changed)."""
    return _default_float


def set_default_dtype(dtype: Any) -> None:
    """Make ``dtype`` (float32 or float64) the dtype of new floating tensors."""
    global _default_float
    d = to_dtype(dtype)
    if d.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {d}")
    _default_float = d


def to_dtype(dtype: Any) -> numpy.dtype:
    """Normalise ``dtype`` (a nabla/NumPy dtype, a name such as ``"float32"``, or ``float``/``int``/``bool``)."""
    if isinstance(dtype, numpy.dtype) and dtype in _SUPPORTED:
        return dtype
    if dtype is builtins_float:
        return _default_float
    if dtype is builtins_int:
        return int64
    if dtype is builtins_bool:
        return bool_
    if isinstance(dtype, str) and dtype in DTYPES:
        return DTYPES[dtype]
    try:
        d = numpy.dtype(dtype)
    except TypeError:
        d = None
    if d is not None and d in _SUPPORTED:
        return d
    names = ", ".join(sorted({str(v) for v in _SUPPORTED}))
    raise TypeError(f"unknown or unsupported dtype {dtype!r}; use one of: {names}")


# ---------------------------------------------------------------------------------------- devices


class device:
    """Where a tensor's array lives: ``device("cpu")`` or ``device("cuda")`` / ``device("cuda:1")``.

    Compares equal to its string form, so ``x.device == "cpu"`` works.
    """

    __slots__ = ("type", "index")

    def __init__(self, spec: str | device = "cpu", index: int | None = None) -> None:
        if isinstance(spec, device):
            self.type, self.index = spec.type, spec.index
            return
        if not isinstance(spec, str):
            raise TypeError(f"device: expected a string such as 'cpu' or 'cuda:0', got {spec!r}")
        kind, _, idx = spec.partition(":")
        if kind not in DEVICE_TYPES:
            raise ValueError(f"unknown device {spec!r}; nabla knows 'cpu' and 'cuda' (or 'cuda:N')"
                             + (", and 'fakecuda' (the CI test device)" if _fake_enabled else ""))
        if idx:
            if not idx.isdigit():
                raise ValueError(f"bad device index in {spec!r}; write e.g. 'cuda:0'")
            index = _builtins.int(idx)
        if kind == "cpu":
            index = None
        elif index is None:
            index = 0
        self.type, self.index = kind, index

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        return f"device('{self}')"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (ValueError, TypeError):
                return False
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))


DEVICE_TYPES = ("cpu", "cuda", "fakecuda")
CPU = device("cpu")
FAKE_CUDA = device("fakecuda")
_fake_enabled = _os.environ.get("NABLA_FAKE_CUDA", "") not in ("", "0")


def enable_fake_cuda(enabled: bool = True) -> None:
    """Allow the ``"fakecuda"`` device: NumPy arrays run through nabla's CuPy code paths and CuPy's
    placement rules (see ``nabla.fake_device``). For tests without a GPU; off by default."""
    global _fake_enabled
    _fake_enabled = _builtins.bool(enabled)


def cuda_is_available() -> bool:
    """True when CuPy imports and sees at least one GPU."""
    if _cupy is None:
        return False
    try:
        return _cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


_default_device = CPU


def set_default_device(device: str | device | None) -> None:
    """Where factory functions (``zeros``, ``randn``, ``tensor([...])``, ...) put tensors when no
    ``device=`` is given; ``None`` restores the CPU. Tensors made from arrays stay where the array is."""
    global _default_device
    _default_device = CPU if device is None else to_device(device)


def get_default_device() -> device:
    return _default_device


def to_device(spec: str | device | None) -> device:
    if spec is None:
        return _default_device
    d = spec if isinstance(spec, device) else device(spec)
    if d.type == "fakecuda" and (not _fake_enabled or d.index != 0):
        raise RuntimeError(
            f"device {str(d)!r} is the CI test device: call nabla.backend.enable_fake_cuda() or set "
            "NABLA_FAKE_CUDA=1 first (it has one device, 'fakecuda:0'); for a real GPU use 'cuda'"
        )
    if d.type == "cuda" and not cuda_is_available():
        raise RuntimeError(
            f"device {str(d)!r} requested but CUDA is not available: install CuPy for your CUDA "
            "version (e.g. `pip install cupy-cuda12x`) on a machine with an NVIDIA GPU, or use 'cpu'"
        )
    return d


def _need_cuda(op: str) -> None:
    if not cuda_is_available():
        raise RuntimeError(f"{op}: CUDA is not available (no CuPy or no NVIDIA GPU); nabla runs on 'cpu' here")


def cuda_device_count() -> int:
    """How many GPUs CuPy sees (0 without CuPy or GPUs)."""
    return _cupy.cuda.runtime.getDeviceCount() if cuda_is_available() else 0


def cuda_current_device() -> int:
    _need_cuda("current_device")
    return _cupy.cuda.Device().id


def cuda_set_device(index: int) -> None:
    """Make GPU ``index`` current for this thread (where ``'cuda'`` without an index allocates)."""
    _need_cuda("set_device")
    if not 0 <= index < cuda_device_count():
        raise ValueError(f"set_device: GPU index {index} is out of range; {cuda_device_count()} GPU(s) visible")
    _cupy.cuda.Device(index).use()


def cuda_synchronize(index: int | None = None) -> None:
    """Wait until every kernel queued on the GPU has finished (for timing)."""
    _need_cuda("synchronize")
    with _cupy.cuda.Device(cuda_current_device() if index is None else index):
        _cupy.cuda.Device().synchronize()


def cuda_device_name(index: int | None = None) -> str:
    _need_cuda("get_device_name")
    i = cuda_current_device() if index is None else index
    name = _cupy.cuda.runtime.getDeviceProperties(i)["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def cuda_memory_allocated() -> int:
    """Bytes held by live arrays in CuPy's memory pool (0 without CUDA)."""
    return _cupy.get_default_memory_pool().used_bytes() if cuda_is_available() else 0


def cuda_empty_cache() -> None:
    """Give the GPU memory CuPy's pool keeps for reuse back to the driver (nothing without CUDA)."""
    if cuda_is_available():
        _cupy.get_default_memory_pool().free_all_blocks()


def xp_for(d: device):
    """The array namespace (``numpy`` or ``cupy``) for device ``d``."""
    if d.type == "fakecuda":
        return _fake.xp
    return numpy if d.type == "cpu" else _cupy


def _is_cupy(a: Any) -> bool:
    return _cupy is not None and isinstance(a, _cupy.ndarray)


def is_array(a: Any) -> bool:
    """Whether ``a`` is an array a Tensor can hold as it is: a NumPy array (the fake device's arrays
    subclass it) or a CuPy array. Code outside this module asks this rather than naming CuPy."""
    return isinstance(a, numpy.ndarray) or _is_cupy(a)


def array_module(a: Any):
    """The namespace of array ``a``: ``numpy`` for NumPy arrays, ``cupy`` for CuPy arrays."""
    if _is_cupy(a):
        return _cupy
    if isinstance(a, _fake.DeviceArray):
        return _fake.xp
    return numpy


def special(a: Any):
    """The special-function module for array ``a``: ``scipy.special`` (NumPy) or ``cupyx.scipy.special``.

    Both have ``erf`` and ``expit`` (the logistic function), computed in one pass without overflow.
    """
    if _is_cupy(a):  # pragma: no cover - GPU only
        import cupyx.scipy.special  # type: ignore[import-not-found]

        return cupyx.scipy.special
    if isinstance(a, _fake.DeviceArray):
        return _fake.special()
    import scipy.special

    return scipy.special


def add_at(out: Any, index: Any, values: Any) -> None:
    """``out[index] += values`` in place, where repeated indices accumulate (``numpy.add.at``; on the
    GPU ``cupyx.scatter_add``, which is atomic where ``add.at`` has no CuPy counterpart)."""
    if _is_cupy(out):  # pragma: no cover - GPU only
        import cupyx  # type: ignore[import-not-found]

        cupyx.scatter_add(out, index, values)
    elif isinstance(out, _fake.DeviceArray):
        _fake.scatter_add(out, index, values)
    else:
        numpy.add.at(out, index, values)


def device_of(a: Any) -> device:
    if _is_cupy(a):
        return device("cuda", a.device.id)
    if isinstance(a, _fake.DeviceArray):
        return FAKE_CUDA
    return CPU


def transfer(a: Any, d: device):
    """Copy array ``a`` onto device ``d`` (no copy when it is already there)."""
    if d.type == "cpu":
        if isinstance(a, _fake.DeviceArray):
            return _fake.to_host(a)
        return _cupy.asnumpy(a) if _is_cupy(a) else a
    if d.type == "fakecuda":
        if _is_cupy(a):
            a = _cupy.asnumpy(a)
        return _fake.to_device(a)
    with _cupy.cuda.Device(d.index):
        return _cupy.asarray(a)


# ------------------------------------------------------------------------------------------- RNG


class Generator:
    """nabla's random source: one NumPy generator, plus one CuPy generator per GPU made on demand.

    All of nabla's random draws (initialisation, dropout, shuffling, generated data) go through
    the default generator, so ``nabla.manual_seed(s)`` alone makes a run reproducible.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.manual_seed(seed)

    def manual_seed(self, seed: int | None) -> Generator:
        if seed is not None and not isinstance(seed, (_builtins.int, numpy.integer)):
            raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
        self._seed = seed
        self.numpy = numpy.random.default_rng(seed)
        self._cuda: dict[str, Any] = {}  # "cuda:0" (or "fakecuda:0") -> its stream
        return self

    def initial_seed(self) -> int | None:
        return self._seed

    def get_state(self) -> dict[str, Any]:
        """The CPU stream's state (plain ints and strings, so ``nabla.save`` can store it).

        GPU streams are not included: they are re-derived from the CPU stream on first use after
        :meth:`set_state`, so a resumed run is bit-identical on the CPU only.
        """
        return {"seed": self._seed, "numpy": self.numpy.bit_generator.state}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`get_state` snapshot; later draws repeat those that followed it."""
        if not isinstance(state, dict) or "numpy" not in state:
            raise ValueError("Generator.set_state: expected a dict from Generator.get_state()")
        bit = state["numpy"]
        name = bit.get("bit_generator") if isinstance(bit, dict) else None
        if name != type(self.numpy.bit_generator).__name__:
            raise ValueError(f"Generator.set_state: state is for bit generator {name!r}, this generator uses "
                             f"{type(self.numpy.bit_generator).__name__}")
        self.numpy.bit_generator.state = bit
        self._seed = state.get("seed")
        self._cuda = {}

    def seed_device(self, d: device, seed: int) -> None:
        """Seed GPU ``d``'s stream alone (``nabla.cuda.manual_seed``); the CPU stream is unchanged."""
        if not isinstance(seed, (_builtins.int, numpy.integer)) or isinstance(seed, _builtins.bool):
            raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
        if d.type == "fakecuda":
            self._cuda[str(d)] = _fake.RandomState(_builtins.int(seed))
            return
        with _cupy.cuda.Device(d.index):
            self._cuda[str(d)] = _cupy.random.RandomState(_builtins.int(seed))

    def for_device(self, d: device):
        """The generator for ``d``: a ``numpy.random.Generator`` or a CuPy ``RandomState``."""
        if d.type == "cpu":
            return self.numpy
        gen = self._cuda.get(str(d))
        if gen is None:
            # Derive each GPU's stream from the CPU stream so one seed fixes all devices.
            seed = _builtins.int(self.numpy.integers(0, 2**63 - 1))
            if d.type == "fakecuda":
                gen = self._cuda[str(d)] = _fake.RandomState(seed)
                return gen
            with _cupy.cuda.Device(d.index):
                gen = self._cuda[str(d)] = _cupy.random.RandomState(seed)
        return gen


default_generator = Generator()


def get_rng_state() -> dict[str, Any]:
    """Everything a run's random draws depend on: nabla's default generator and Python's ``random``."""
    return {"nabla": default_generator.get_state(), "python": _pyrandom.getstate()}


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore a :func:`get_rng_state` snapshot (e.g. when resuming from a checkpoint)."""
    if not isinstance(state, dict) or "nabla" not in state:
        raise ValueError("set_rng_state: expected a dict from nabla.get_rng_state()")
    default_generator.set_state(state["nabla"])
    py = state.get("python")
    if py is not None:
        _pyrandom.setstate(_as_tuples(py))


def _as_tuples(x: Any) -> Any:
    """``random.setstate`` wants tuples; a state that went through JSON may hold lists."""
    return tuple(_as_tuples(v) for v in x) if isinstance(x, (list, tuple)) else x


def manual_seed(seed: int) -> Generator:
    """Seed every random draw nabla makes, on every device. Also seeds Python's ``random``."""
    _pyrandom.seed(seed)
    return default_generator.manual_seed(seed)
