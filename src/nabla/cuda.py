"""``nabla.cuda``: PyTorch's ``torch.cuda`` queries and seeding, on CuPy (behind ``nabla.backend``).

Without CUDA (no CuPy or no NVIDIA GPU) the queries answer as PyTorch does on such a machine:
``is_available()`` is False, ``device_count()`` 0, seeding does nothing (PyTorch defers CUDA seeding
until CUDA starts, which then never happens), and calls that need a GPU raise ``RuntimeError``.
"""

from __future__ import annotations

from typing import Any

from . import backend
from .backend import cuda_is_available as is_available

__all__ = [
    "is_available", "device_count", "current_device", "set_device", "synchronize", "get_device_name",
    "manual_seed", "manual_seed_all", "seed", "initial_seed", "memory_allocated", "empty_cache",
    "is_bf16_supported", "device",
]

device = backend.device


def device_count() -> int:
    """Number of visible GPUs."""
    return backend.cuda_device_count()


def current_device() -> int:
    """Index of the GPU that ``'cuda'`` means in this thread."""
    return backend.cuda_current_device()


def set_device(dev: Any) -> None:
    """Select the current GPU: an index, ``'cuda:N'`` or a ``nabla.device``."""
    if isinstance(dev, int):
        backend.cuda_set_device(dev)
        return
    d = backend.device(dev)
    if d.type != "cuda":
        raise ValueError(f"set_device: expected a CUDA device, got {str(d)!r}")
    backend.cuda_set_device(d.index)


def _index(dev: Any) -> int | None:
    return None if dev is None else (dev if isinstance(dev, int) else backend.device(dev).index)


def synchronize(dev: Any = None) -> None:
    """Wait for the GPU's queued work to finish (time GPU code only after this)."""
    backend.cuda_synchronize(_index(dev))


def get_device_name(dev: Any = None) -> str:
    return backend.cuda_device_name(_index(dev))


def manual_seed(seed: int) -> None:
    """Seed the current GPU's random stream (nothing happens without CUDA, as in PyTorch)."""
    if is_available():
        backend.default_generator.seed_device(backend.device("cuda", current_device()), seed)


def manual_seed_all(seed: int) -> None:
    """Seed every GPU's random stream (nothing happens without CUDA). ``nabla.manual_seed`` already
    covers all devices: it reseeds the CPU stream, from which each GPU's stream is derived."""
    if is_available():
        for i in range(device_count()):
            backend.default_generator.seed_device(backend.device("cuda", i), seed)


def seed() -> None:
    """Seed the GPU streams from fresh OS entropy."""
    import secrets

    manual_seed_all(secrets.randbits(63))


def initial_seed() -> int | None:
    return backend.default_generator.initial_seed()


def memory_allocated(dev: Any = None) -> int:
    """Bytes of GPU memory held by live tensors (CuPy's pool)."""
    return backend.cuda_memory_allocated()


def empty_cache() -> None:
    """Return cached, unused GPU memory to the driver."""
    backend.cuda_empty_cache()


def is_bf16_supported() -> bool:
    """False: nabla has no bfloat16 dtype (NumPy has none)."""
    return False
