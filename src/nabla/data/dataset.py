"""Datasets: the ``Dataset`` protocol, ``TensorDataset``, ``Subset`` and ``random_split``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy

from .. import backend
from ..creation import as_tensor
from ..tensor import Tensor


class Dataset:
    """Anything with ``__getitem__(i)`` and ``__len__()``; subclass and implement both."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")


class TensorDataset(Dataset):
    """Samples are rows of equally long tensors: ``ds[i] == (t0[i], t1[i], ...)``.

    The data stays as whole Tensors (arrays are wrapped without a copy), so a ``DataLoader`` can
    cut a batch out of each one with a single fancy index.
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset: need at least one tensor")
        self.tensors = tuple(as_tensor(t) for t in tensors)
        for k, t in enumerate(self.tensors):
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: tensor {k} is 0-d; every tensor needs a first (sample) dimension")
        sizes = [t.shape[0] for t in self.tensors]
        if any(s != sizes[0] for s in sizes):
            raise ValueError(f"TensorDataset: size mismatch between tensors in the first dimension: {sizes}")

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def _batch(self, indices: numpy.ndarray) -> tuple[Tensor, ...]:
        """All samples at ``indices`` at once, one fancy index per tensor (the loader's fast path)."""
        out = []
        for t in self.tensors:
            if t.requires_grad:  # keep the graph; rare for data
                out.append(t[indices])
                continue
            data = t._data
            idx = indices if isinstance(data, numpy.ndarray) else backend.array_module(data).asarray(indices)
            out.append(Tensor._wrap(data[idx]))
        return tuple(out)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = [int(i) for i in indices]

    def __getitem__(self, index: int) -> Any:
        if isinstance(index, (list, tuple)):
            return [self.dataset[self.indices[i]] for i in index]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def _batch(self) -> Any:
        """Cut a whole batch at once when the underlying data set can (see DataLoader), else None."""
        inner = getattr(self.dataset, "_batch", None)
        if not callable(inner):
            return None
        rows = numpy.asarray(self.indices, dtype=numpy.int64)
        return lambda idx: inner(rows[idx])


def _lengths(n: int, lengths: Sequence[float]) -> list[int]:
    """PyTorch's rule: ints are taken as they are; fractions summing to 1 become counts, the
    remainder handed out one at a time round-robin from the first split."""
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths is empty")
    if all(isinstance(x, (int, numpy.integer)) and not isinstance(x, bool) for x in lengths):
        if any(x < 0 for x in lengths):
            raise ValueError(f"random_split: lengths must be non-negative, got {lengths}")
        if sum(lengths) != n:
            raise ValueError(f"random_split: sum of lengths {sum(lengths)} does not equal the dataset length {n}")
        return [int(x) for x in lengths]
    if not math.isclose(sum(lengths), 1.0) or any(not 0 <= x <= 1 for x in lengths):
        raise ValueError(f"random_split: fractions must lie in [0, 1] and sum to 1, got {lengths}")
    counts = [int(math.floor(n * f)) for f in lengths]
    for i in range(n - sum(counts)):
        counts[i % len(counts)] += 1
    return counts


def random_split(dataset: Any, lengths: Sequence[float], generator: backend.Generator | None = None) -> list[Subset]:
    """Split ``dataset`` into disjoint random ``Subset``s of the given sizes (ints) or fractions.

    The permutation comes from nabla's generator, so ``nabla.manual_seed`` makes it reproducible.
    """
    n = len(dataset)
    counts = _lengths(n, lengths)
    perm = (generator or backend.default_generator).numpy.permutation(n).tolist()
    out, start = [], 0
    for c in counts:
        out.append(Subset(dataset, perm[start:start + c]))
        start += c
    return out
