"""``GradScaler``: dynamic loss scaling for float16 training (PyTorch's ``torch.amp.GradScaler``).

float16 has 10 mantissa bits and its smallest normal number is 6e-5: many gradients of a float16 forward
underflow to zero. Scaling the loss by ``S`` before ``backward()`` scales every gradient by ``S`` too, lifting
them into range; the gradients are divided by ``S`` again before the optimizer uses them. ``S`` adapts:

.. code-block:: text

    scaler.scale(loss).backward()      # gradients of S * loss
    scaler.step(optimizer)             # g <- g / S for each parameter; if any g is inf or NaN: skip the step
    scaler.update()                    # after a skipped step: S <- S * backoff_factor (0.5);
                                       # after growth_interval (2000) clean steps: S <- S * growth_factor (2)

So ``S`` settles just under the largest value that does not overflow. Call ``scaler.unscale_(optimizer)``
before ``step`` to work on true gradients in between (gradient clipping).
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..tensor import Tensor, updating

_READY, _UNSCALED, _STEPPED = "ready", "unscaled", "stepped"


class GradScaler:
    """Dynamic loss scaling (see the module docstring).

    Args:
        device: the device type of the gradients, "cuda" (default) or "cpu" (kept for PyTorch's signature;
            the scaler works on whatever device the gradients are on).
        init_scale: the first scale ``S`` (default 2**16).
        growth_factor: ``S`` is multiplied by it after ``growth_interval`` clean steps (default 2.0, > 1).
        backoff_factor: ``S`` is multiplied by it after a step with inf/NaN gradients (default 0.5, in (0, 1)).
        growth_interval: clean steps in a row before ``S`` grows (default 2000).
        enabled: False makes every method a pass-through (``scale`` returns its input, ``step`` steps).
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True) -> None:
        if device not in ("cuda", "cpu"):
            raise ValueError(f"GradScaler: device must be 'cuda' or 'cpu', got {device!r}")
        if not init_scale > 0:
            raise ValueError(f"GradScaler: init_scale must be > 0, got {init_scale}")
        if not growth_factor > 1.0:
            raise ValueError(f"GradScaler: growth_factor must be > 1, got {growth_factor}")
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError(f"GradScaler: backoff_factor must be in (0, 1), got {backoff_factor}")
        if isinstance(growth_interval, bool) or not isinstance(growth_interval, int) or growth_interval <= 0:
            raise ValueError(f"GradScaler: growth_interval must be a positive int, got {growth_interval!r}")
        self.device = device
        self._enabled = bool(enabled)
        self._scale = float(init_scale)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = growth_interval
        self._growth_tracker = 0
        self._optimizers: dict[int, dict[str, Any]] = {}

    # ----------------------------------------------------------------------------------- scaling

    def scale(self, outputs: Any) -> Any:
        """``outputs * S`` (a tensor, or a list/tuple of them); backward of it gives gradients times ``S``."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            s = Tensor._wrap(outputs._xp.asarray(self._scale, dtype=backend.float32))
            return outputs * s
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        raise TypeError(f"GradScaler.scale: expected a Tensor or a list/tuple of Tensors, got {type(outputs).__name__}")

    def _state(self, optimizer: Any) -> dict[str, Any]:
        return self._optimizers.setdefault(id(optimizer), {"stage": _READY, "found_inf": False})

    def unscale_(self, optimizer: Any) -> None:
        """Divide ``optimizer``'s gradients by ``S`` in place and note whether any is inf or NaN."""
        if not self._enabled:
            return
        st = self._state(optimizer)
        if st["stage"] == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if st["stage"] == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inv = 1.0 / self._scale
        checks = []
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                with updating(p.grad) as g:
                    g *= g.dtype.type(inv) if g.dtype.kind == "f" else inv
                    checks.append(p.grad._xp.isfinite(g).all())
        # one host read for all parameters (on a GPU: one synchronisation per step, not one per tensor)
        st["found_inf"] = bool(checks) and not bool(_all(checks))
        st["stage"] = _UNSCALED

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        """Unscale (unless done), then ``optimizer.step()`` unless a gradient was inf or NaN; returns its result."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs or args:
            raise RuntimeError("GradScaler.step: a closure is not supported (the gradients must be unscaled "
                               "between backward and the update); call backward and step yourself")
        st = self._state(optimizer)
        if st["stage"] == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if st["stage"] == _READY:
            self.unscale_(optimizer)
        result = None if st["found_inf"] else optimizer.step()
        st["stage"] = _STEPPED
        return result

    def update(self, new_scale: float | Tensor | None = None) -> None:
        """Adapt ``S`` after this iteration's steps (or set it to ``new_scale``)."""
        if not self._enabled:
            return
        if new_scale is not None:
            value = float(new_scale.item() if isinstance(new_scale, Tensor) else new_scale)
            if not value > 0:
                raise ValueError(f"GradScaler.update: new_scale must be > 0, got {value}")
            self._scale = value
        else:
            if not self._optimizers:
                raise RuntimeError("GradScaler.update: no inf checks were recorded prior to update(): call "
                                   "scaler.step(optimizer) (or unscale_) first")
            if any(st["found_inf"] for st in self._optimizers.values()):
                self._scale *= self._backoff_factor
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    self._scale *= self._growth_factor
                    self._growth_tracker = 0
        self._optimizers = {}

    # ------------------------------------------------------------------------------- inspection

    def get_scale(self) -> float:
        return self._scale if self._enabled else 1.0

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, value: float) -> None:
        self._growth_factor = float(value)

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, value: float) -> None:
        self._backoff_factor = float(value)

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, value: int) -> None:
        self._growth_interval = int(value)

    def is_enabled(self) -> bool:
        return self._enabled

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint needs to resume the scale's trajectory (PyTorch's keys)."""
        if not self._enabled:
            return {}
        return {"scale": self._scale, "growth_factor": self._growth_factor, "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval, "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not self._enabled:
            return
        if not state:
            raise RuntimeError("GradScaler.load_state_dict: the state dict is empty (saved from a disabled scaler)")
        self._scale = float(state["scale"])
        self._growth_factor = float(state["growth_factor"])
        self._backoff_factor = float(state["backoff_factor"])
        self._growth_interval = int(state["growth_interval"])
        self._growth_tracker = int(state["_growth_tracker"])


def _all(flags: list) -> Any:
    xp = backend.array_module(flags[0])
    return xp.stack(flags).all()
