"""``DataLoader``: batches from a dataset, with samplers and a default collate."""

from __future__ import annotations

import numbers
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy

from .. import backend
from ..creation import as_tensor, tensor
from ..ops import stack
from ..tensor import Tensor


class Sampler:
    """An iterable of dataset indices."""

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError


class SequentialSampler(Sampler):
    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A fresh permutation of the indices each epoch, drawn from nabla's generator."""

    def __init__(self, data_source: Any, generator: backend.Generator | None = None) -> None:
        self.data_source = data_source
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        gen = (self.generator or backend.default_generator).numpy
        return iter(gen.permutation(len(self.data_source)).tolist())

    def __len__(self) -> int:
        return len(self.data_source)


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"BatchSampler: batch_size must be a positive int, got {batch_size!r}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def default_collate(batch: Sequence[Any]) -> Any:
    """Stack a list of samples: Tensors/arrays → one Tensor, numbers → a 1-d Tensor,
    tuples/lists → the same structure of batched fields, dicts → per-key batches."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(list(batch))
    if isinstance(elem, numpy.ndarray):
        return as_tensor(numpy.stack(batch))
    if isinstance(elem, (bool, numpy.bool_)):
        return tensor(list(batch))
    if isinstance(elem, numbers.Integral):
        return tensor(numpy.asarray(batch, dtype=numpy.int64))
    if isinstance(elem, numbers.Real):
        return tensor([float(x) for x in batch])  # the default float dtype, like PyTorch
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, dict):
        return {k: default_collate([d[k] for d in batch]) for k in elem}
    if isinstance(elem, (tuple, list)):
        size = len(elem)
        if any(len(s) != size for s in batch):
            raise RuntimeError("default_collate: each sample in the batch must have the same number of fields")
        fields = [default_collate(list(f)) for f in zip(*batch)]
        if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
            return type(elem)(*fields)
        return tuple(fields) if isinstance(elem, tuple) else fields
    raise TypeError(f"default_collate: don't know how to batch samples of type {type(elem).__name__}")


class DataLoader:
    """Iterate over ``dataset`` in batches.

    With a ``TensorDataset`` and the default collate, each batch is cut out of the data with one
    fancy index per tensor instead of a Python loop over samples.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        collate_fn: Callable[[list], Any] | None = None,
        sampler: Iterable[int] | None = None,
        generator: backend.Generator | None = None,
        batch_sampler: Iterable[list[int]] | None = None,
        prefetch: int = 0,
    ) -> None:
        if not isinstance(prefetch, int) or prefetch < 0:
            raise ValueError(f"DataLoader: prefetch must be a non-negative int (batches made ahead), got {prefetch!r}")
        self.prefetch = prefetch
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler is mutually exclusive with shuffle")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
            raise ValueError(
                "DataLoader: batch_sampler is mutually exclusive with batch_size, shuffle, sampler, drop_last"
            )
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.generator = generator
        if sampler is None:
            sampler = RandomSampler(dataset, generator) if shuffle else SequentialSampler(dataset)
        self.sampler = sampler
        if batch_sampler is None and batch_size is not None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_sampler = batch_sampler
        self.collate_fn = collate_fn
        # Datasets that cut a whole batch at once (TensorDataset, ImageDataset, CharBlocks) skip collation.
        self._fast = collate_fn is None and callable(getattr(dataset, "_batch", None))

    def __iter__(self) -> Iterator[Any]:
        if not self.prefetch:
            return self._batches(self.batch_sampler)
        # Draw the epoch's indices (the shuffle) here, in the caller's thread, so random draws happen
        # in the same order as without prefetching and runs stay reproducible.
        plan = list(self.batch_sampler) if self.batch_sampler is not None else None
        return _prefetched(self._batches(plan), self.prefetch)

    def _batches(self, batch_sampler: Iterable[list[int]] | None) -> Iterator[Any]:
        if batch_sampler is None:  # batch_size=None: samples one by one, uncollated
            for i in self.sampler:
                yield self.dataset[i]
            return
        collate = self.collate_fn or default_collate
        for idx in batch_sampler:
            if self._fast:
                yield self.dataset._batch(numpy.asarray(idx, dtype=numpy.int64))
            else:
                yield collate([self.dataset[i] for i in idx])

    def __len__(self) -> int:
        if self.batch_sampler is None:
            return len(self.sampler)  # type: ignore[arg-type]
        return len(self.batch_sampler)  # type: ignore[arg-type]


def _prefetched(batches: Iterator[Any], depth: int) -> Iterator[Any]:
    """Make up to ``depth`` batches ahead in a background thread, so the next batch is ready while
    the model steps (NumPy releases the GIL in the copying that cutting a batch costs).

    The batch order is unchanged; an error in the producer is raised in the consumer; leaving the
    loop early stops the thread.
    """
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for b in batches:
                while not stop.is_set():
                    try:
                        q.put((b, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put((done, None))
        except BaseException as e:
            q.put((done, e))

    worker = threading.Thread(target=produce, name="nabla-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item, err = q.get()
            if item is done:
                if err is not None:
                    raise err
                return
            yield item
    finally:
        stop.set()
