"""Positional encodings: attention alone is blind to order, so each position adds its own vector.

* :class:`SinusoidalPositionalEncoding` - fixed sines and cosines of geometrically spaced
  frequencies (Vaswani et al., 2017), the ``PositionalEncoding`` of PyTorch's tutorial; nothing to learn,
  and any offset is a linear function of the encoding, which makes relative positions easy to use.
* :class:`LearnedPositionalEncoding` - one learned vector per position (BERT, GPT-2).

Both take (L, N, E) input, or (N, L, E) with ``batch_first=True``, add the encoding of positions
``0 .. L-1`` and apply dropout.
"""

from __future__ import annotations

import math
from typing import Any

import numpy

from ... import backend
from ...creation import empty
from ...tensor import Tensor
from .. import init
from ..module import Module
from ..parameter import Parameter
from .dropout import Dropout


def sinusoidal_encoding(length: int, d_model: int, dtype: Any = None, device: Any = None) -> Tensor:
    """The (length, d_model) table ``PE[pos, 2i] = sin(pos / 10000^(2i/d))``, ``PE[pos, 2i+1] = cos(...)``."""
    if not isinstance(length, int) or not isinstance(d_model, int) or length < 0 or d_model <= 0:
        raise ValueError(
            f"sinusoidal_encoding: length must be >= 0 and d_model > 0 (ints), got {length!r}, {d_model!r}")
    pos = numpy.arange(length, dtype=numpy.float64)[:, None]
    div = numpy.exp(numpy.arange(0, d_model, 2, dtype=numpy.float64) * (-math.log(10000.0) / d_model))
    pe = numpy.zeros((length, d_model))
    pe[:, 0::2] = numpy.sin(pos * div)
    pe[:, 1::2] = numpy.cos(pos * div[: d_model // 2])
    dt = backend.get_default_dtype() if dtype is None else backend.to_dtype(dtype)
    return Tensor(pe.astype(dt), device=device)


class _Positional(Module):
    """Shared input check and dropout of the two encodings."""

    def __init__(self, d_model: int, max_len: int, dropout: float, batch_first: bool) -> None:
        super().__init__()
        name = type(self).__name__
        for arg, v in (("d_model", d_model), ("max_len", max_len)):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{name}: {arg} must be a positive int, got {v!r}")
        self.d_model, self.max_len, self.batch_first = d_model, max_len, batch_first
        self.dropout = Dropout(dropout)

    def _length(self, x: Any) -> int:
        if not isinstance(x, Tensor):
            raise TypeError(f"expected a Tensor input, got {type(x).__name__}")
        layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
        if x.ndim not in (2, 3) or x.shape[-1] != self.d_model:
            raise ValueError(f"expected input {layout} or (L, E) with E = d_model = {self.d_model}, got {x.shape}")
        length = x.shape[1] if (x.ndim == 3 and self.batch_first) else x.shape[0]
        if length > self.max_len:
            raise ValueError(
                f"sequence length {length} exceeds max_len={self.max_len} of this encoding; build it with a "
                "larger max_len"
            )
        return length

    def _add(self, x: Tensor, table: Tensor) -> Tensor:
        """``x + table`` with the (L, E) table broadcast over the batch dimension."""
        if x.ndim == 3 and not self.batch_first:
            table = table.unsqueeze(1)
        return self.dropout(x + table)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, max_len={self.max_len}, batch_first={self.batch_first}"


class SinusoidalPositionalEncoding(_Positional):
    """``dropout(x + PE[:L])`` with the fixed sinusoidal table (see :func:`sinusoidal_encoding`).

    The table is a non-persistent buffer ``pe`` (max_len, d_model): recomputed, not saved.
    """

    def __init__(self, d_model: int, max_len: int = 5000, dropout: float = 0.0, batch_first: bool = False,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(d_model, max_len, dropout, batch_first)
        self.register_buffer("pe", sinusoidal_encoding(max_len, d_model, dtype, device), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        length = self._length(x)
        pe = self.pe if self.pe.dtype == x.dtype else self.pe.to(x.dtype)
        return self._add(x, pe[:length])


class LearnedPositionalEncoding(_Positional):
    """``dropout(x + weight[:L])`` with a learned ``weight`` (max_len, d_model), initialised N(0, 0.02^2)
    as in BERT and GPT-2."""

    def __init__(self, d_model: int, max_len: int = 512, dropout: float = 0.0, batch_first: bool = False,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(d_model, max_len, dropout, batch_first)
        self.weight = Parameter(empty(max_len, d_model, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.normal_(self.weight, std=0.02)

    def forward(self, x: Tensor) -> Tensor:
        return self._add(x, self.weight[: self._length(x)])
