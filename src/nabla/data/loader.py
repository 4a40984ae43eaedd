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
from .workers import WorkerPool, base_seed


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
    """Random indices each epoch, drawn from nabla's generator (or ``generator``).

    Without ``replacement``: a fresh permutation (``num_samples`` larger than the data set chains
    permutations, as PyTorch does); with it: ``num_samples`` independent uniform draws (default: the
    data set's size), e.g. to oversample a small data set or fix the number of steps per epoch.
    """

    def __init__(self, data_source: Any, replacement: bool = False, num_samples: int | None = None,
                 generator: backend.Generator | None = None) -> None:
        if isinstance(replacement, backend.Generator):  # nabla's old positional order (data, generator)
            replacement, generator = False, replacement
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement!r}")
        if num_samples is not None and (isinstance(num_samples, bool) or not isinstance(num_samples, int)
                                        or num_samples <= 0):
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples!r}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        gen = (self.generator or backend.default_generator).numpy
        n, k = len(self.data_source), self.num_samples
        if self.replacement:
            if n == 0:
                raise ValueError("RandomSampler: cannot draw with replacement from an empty data set")
            return iter(gen.integers(0, n, k).tolist())
        if n == 0:
            return iter(())
        perms = [gen.permutation(n) for _ in range(-(-k // n))]
        return iter(numpy.concatenate(perms)[:k].tolist())

    def __len__(self) -> int:
        return self.num_samples


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
    """Iterate over ``dataset`` in batches (PyTorch's arguments, in PyTorch's order).

    With a ``TensorDataset`` and the default collate, each batch is cut out of the data with one
    fancy index per tensor instead of a Python loop over samples.

    ``num_workers > 0`` makes batches in that many worker processes (``nabla.data.workers``): each
    seeded with ``base_seed + worker_id`` then ``worker_init_fn(worker_id)``; ``prefetch_factor``
    batches in flight per worker (default 2); ``persistent_workers`` keeps them between epochs;
    ``timeout`` (seconds) bounds the wait for one batch; ``in_order=False`` yields batches as they are
    ready. Worth it when ``__getitem__`` does real work (decoding, augmentation) and the workers persist:
    ``benchmarks/bench_dataloader_workers.py`` measured 2 persistent workers at 0.69x the in-process
    epoch time, and a fresh pool per epoch at 1.27x (its fork costs more than 512 light samples); a
    ``TensorDataset`` is cut faster in-process. ``prefetch=k`` (nabla's own) instead makes ``k`` batches ahead in one
    background thread. ``pin_memory`` is accepted and changes nothing: batches are NumPy arrays, and
    the copy to a GPU happens at ``.to("cuda")``.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Iterable[int] | None = None,
        batch_sampler: Iterable[list[int]] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context: Any = None,
        generator: backend.Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
        prefetch: int = 0,
    ) -> None:
        shuffle = bool(shuffle)
        if not isinstance(prefetch, int) or prefetch < 0:
            raise ValueError(f"DataLoader: prefetch must be a non-negative int (batches made ahead), got {prefetch!r}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing "
                             f"(got {num_workers!r})")
        if not isinstance(timeout, (int, float)) or timeout < 0:
            raise ValueError(f"timeout option should be non-negative, got {timeout!r}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing. let num_workers > 0 "
                             "to enable multiprocessing, otherwise set prefetch_factor to None.")
        if prefetch_factor is not None and (isinstance(prefetch_factor, bool) or not isinstance(prefetch_factor, int)
                                            or prefetch_factor < 1):
            raise ValueError(f"prefetch_factor must be a positive int (batches in flight per worker), "
                             f"got {prefetch_factor!r}")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if num_workers and prefetch:
            raise ValueError("DataLoader: prefetch= (one background thread) and num_workers= (worker processes) "
                             "are alternatives; give one of them")
        if not isinstance(pin_memory, bool):
            raise TypeError(f"pin_memory must be a bool, got {pin_memory!r}")
        self.prefetch = prefetch
        self.num_workers = num_workers
        self.prefetch_factor = 2 if prefetch_factor is None and num_workers else prefetch_factor
        self.persistent_workers = persistent_workers
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order
        self._pool = None
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
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        self.sampler = sampler
        if batch_sampler is None and batch_size is not None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_sampler = batch_sampler
        self.collate_fn = collate_fn
        # Datasets that cut a whole batch at once (TensorDataset, ImageDataset, CharBlocks) skip collation.
        self._fast = collate_fn is None and callable(getattr(dataset, "_batch", None))

    def __iter__(self) -> Iterator[Any]:
        if self.num_workers:
            return self._from_workers()
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

    def _from_workers(self) -> Iterator[Any]:
        # The epoch's indices (the shuffle) are drawn first, in this process: the same batches as without
        # workers under the same seed; the workers' base seed is drawn after them.
        plan = iter(list(self.batch_sampler if self.batch_sampler is not None else self.sampler))
        pool = self._pool
        if pool is None:
            maker = _BatchMaker(self.dataset, self.collate_fn, self._fast, self.batch_sampler is not None)
            pool = WorkerPool(self.dataset, maker, self.num_workers, base_seed(self.generator), self.worker_init_fn,
                              self.multiprocessing_context, self.timeout)
            if self.persistent_workers:
                self._pool = pool
        try:
            yield from pool.run(plan, self.prefetch_factor * self.num_workers, self.in_order)
        finally:
            if not self.persistent_workers:
                pool.shutdown()

    def __del__(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown()

    def __len__(self) -> int:
        if self.batch_sampler is None:
            return len(self.sampler)  # type: ignore[arg-type]
        return len(self.batch_sampler)  # type: ignore[arg-type]


class _BatchMaker:
    """Makes one batch from its indices, in a worker exactly as :meth:`DataLoader._batches` does."""

    def __init__(self, dataset: Any, collate_fn: Callable[[list], Any] | None, fast: bool, batched: bool) -> None:
        self.dataset, self.collate_fn, self.fast, self.batched = dataset, collate_fn, fast, batched

    def __call__(self, indices: Any) -> Any:
        if not self.batched:  # batch_size=None: one sample, uncollated
            return self.dataset[indices]
        if self.fast:
            return self.dataset._batch(numpy.asarray(indices, dtype=numpy.int64))
        return (self.collate_fn or default_collate)([self.dataset[i] for i in indices])


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
