"""Variable-length batches for the recurrent layers: ``PackedSequence``, ``pack_padded_sequence``, ...

Two equivalent ways to run an RNN / LSTM / GRU on sequences of different lengths (padded to one
tensor):

* ``rnn(padded, lengths=lengths)``: the output keeps the input's time length, zero past each
  sequence's end; the final states are those at each sequence's last valid step;
* PyTorch's spelling, so code ports unchanged::

      packed = pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)
      out, h_n = rnn(packed)
      out, out_lengths = pad_packed_sequence(out, batch_first=True)

One difference from PyTorch: nabla's :class:`PackedSequence` keeps the data **padded** (time-major,
trimmed to the longest sequence) next to the lengths, instead of PyTorch's interleaved
``(sum(lengths), *)`` layout, because the recurrent ops sort and skip finished sequences themselves.
Code that only packs, runs and pads (the usual case) sees no difference; code that reads
``packed.data`` directly does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy

from ...tensor import Tensor


class PackedSequence(NamedTuple):
    """A padded time-major batch ``data`` (T, B, *) with T = max(lengths), and ``lengths`` (B,) int64."""

    data: Tensor
    lengths: numpy.ndarray


def check_lengths(lengths: Any, T: int, B: int, where: str) -> numpy.ndarray:
    """``lengths`` as a (B,) int64 array with every value in [1, T]; a clear error otherwise."""
    if isinstance(lengths, Tensor):
        lengths = lengths.detach().cpu().numpy()
    try:
        arr = numpy.asarray(lengths)
    except (TypeError, ValueError):
        raise TypeError(
            f"{where}: lengths must be a list, array or Tensor of ints, got {type(lengths).__name__}"
        ) from None
    if arr.dtype.kind not in "iu" and not (arr.dtype.kind == "f" and arr.size and numpy.all(arr == numpy.round(arr))):
        raise TypeError(f"{where}: lengths must hold integers, got dtype {arr.dtype}")
    arr = arr.astype(numpy.int64)
    if arr.shape != (B,):
        raise ValueError(f"{where}: lengths must have one entry per sequence, shape ({B},), got shape {arr.shape}")
    if B and (arr.min() < 1 or arr.max() > T):
        raise ValueError(
            f"{where}: every length must lie in [1, {T}] (the padded time length), got values "
            f"{int(arr.min())}..{int(arr.max())}; drop empty sequences from the batch"
        )
    return arr


def pack_padded_sequence(
    input: Tensor, lengths: Any, batch_first: bool = False, enforce_sorted: bool = True
) -> PackedSequence:
    """Mark a padded batch (T, B, *) — (B, T, *) with ``batch_first`` — with its sequence lengths.

    With ``enforce_sorted`` (PyTorch's default) the lengths must be in decreasing order; pass
    ``enforce_sorted=False`` for any order (the recurrent ops sort internally either way).
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"pack_padded_sequence: input must be a Tensor, got {type(input).__name__}")
    if input.ndim < 2:
        raise ValueError(f"pack_padded_sequence: expected input (T, B, *) or (B, T, *), got shape {input.shape}")
    data = input.transpose(0, 1) if batch_first else input
    T, B = data.shape[0], data.shape[1]
    arr = check_lengths(lengths, T, B, "pack_padded_sequence")
    if enforce_sorted and numpy.any(arr[:-1] < arr[1:]):
        raise ValueError(
            f"pack_padded_sequence: lengths {arr.tolist()} are not sorted in decreasing order; sort the batch "
            "or pass enforce_sorted=False"
        )
    longest = int(arr.max()) if B else 0
    if longest < T:
        data = data[:longest]
    return PackedSequence(data, arr)


def pad_packed_sequence(
    sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0, total_length: int | None = None
) -> tuple[Tensor, Tensor]:
    """The padded batch (T, B, *) — (B, T, *) with ``batch_first`` — and the lengths as an int64 Tensor.

    T is the longest length, or ``total_length`` when given (it must not be shorter).
    """
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expected a PackedSequence, got {type(sequence).__name__}")
    data, lengths = sequence
    T = data.shape[0]
    if total_length is not None:
        if total_length < T:
            raise ValueError(
                f"pad_packed_sequence: total_length={total_length} is shorter than the longest sequence ({T})"
            )
        if total_length > T:
            from ...ops import pad

            data = pad(data, [0, 0] * (data.ndim - 1) + [0, total_length - T])
    if padding_value != 0:
        from ...ops import where

        steps = numpy.arange(data.shape[0])[:, None] < lengths[None, :]
        mask = data._xp.asarray(steps.reshape(steps.shape + (1,) * (data.ndim - 2)))
        data = where(Tensor._wrap(mask), data, float(padding_value))
    if batch_first:
        data = data.transpose(0, 1)
    return data, Tensor._wrap(lengths.copy())


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False, padding_value: float = 0.0) -> Tensor:
    """Stack tensors of shapes (L_i, *) into one (max L, B, *) batch (or (B, max L, *)), padding the short ones."""
    from ...ops import pad, stack

    seqs = list(sequences)
    if not seqs:
        raise ValueError("pad_sequence: expected a non-empty list of tensors")
    tail = tuple(seqs[0].shape[1:])
    for i, s in enumerate(seqs):
        if not isinstance(s, Tensor) or s.ndim < 1 or tuple(s.shape[1:]) != tail:
            got = s.shape if isinstance(s, Tensor) else type(s).__name__
            raise ValueError(
                f"pad_sequence: every tensor must have shape (L, {', '.join(map(str, tail))}); tensor {i} is {got}"
            )
    longest = max(s.shape[0] for s in seqs)
    padded = [pad(s, [0, 0] * len(tail) + [0, longest - s.shape[0]], value=padding_value) for s in seqs]
    return stack(padded, 1 if not batch_first else 0)
