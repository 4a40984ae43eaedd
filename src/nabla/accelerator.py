"""``nabla.accelerator``: PyTorch's device-agnostic ``torch.accelerator`` queries.

nabla's one accelerator type is CUDA (through CuPy). On a machine without it, ``is_available()`` is
False, ``current_accelerator()`` is None and ``device_count()`` 0, so code written as
``device = torch.accelerator.current_accelerator() if torch.accelerator.is_available() else "cpu"``
runs on the CPU.
"""

from __future__ import annotations

from typing import Any

from . import backend, cuda

__all__ = ["is_available", "current_accelerator", "device_count", "current_device_index", "set_device_index",
           "synchronize"]


def is_available() -> bool:
    return cuda.is_available()


def device_count() -> int:
    return cuda.device_count()


def current_accelerator(check_available: bool = False) -> backend.device | None:
    """``device('cuda')`` when CUDA is available, else None."""
    return backend.device("cuda") if cuda.is_available() else None


def current_device_index() -> int:
    """The current GPU's index; -1 without an accelerator."""
    return cuda.current_device() if cuda.is_available() else -1


current_device_idx = current_device_index


def set_device_index(index: Any) -> None:
    cuda.set_device(index)


set_device_idx = set_device_index


def synchronize(device: Any = None) -> None:
    """Wait for the accelerator's queued work; nothing to wait for without one."""
    if cuda.is_available():
        cuda.synchronize(device)
