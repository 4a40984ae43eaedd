"""Parameter: a leaf Tensor that a Module registers as learnable."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that, assigned as a Module attribute, is listed by ``parameters()``.

    ``Parameter(t)`` shares ``t``'s storage and requires grad by default.
    """

    __slots__ = ()

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        if data is None:
            data = Tensor([])
        if not isinstance(data, Tensor):
            data = Tensor(data)
        self._init_leaf(data._data, requires_grad)  # shares the storage of ``data``

    def __repr__(self) -> str:
        return "Parameter containing:\n" + Tensor.__repr__(self)

    def __reduce_ex__(self, proto: Any) -> Any:  # pragma: no cover - nabla never pickles
        raise TypeError("nabla does not pickle tensors; use nabla.save (safetensors)")
