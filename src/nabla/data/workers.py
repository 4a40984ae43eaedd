"""Worker processes for ``DataLoader(num_workers=N)``: batches are made in parallel, delivered in order.

Each worker is a process with its own index queue; the loader hands batch ``k`` (its list of
indices) to worker ``k % N``, keeps at most ``prefetch_factor * N`` batches in flight, and yields
results in batch order (``in_order=False``: as they arrive). In a worker, the batch is made exactly
as in the main process (``dataset[i]`` per index then ``collate_fn``, or a dataset's whole-batch
fast path), then its Tensors travel as NumPy arrays and are wrapped again on arrival.

As in PyTorch, each worker is seeded with ``base_seed + worker_id`` (``base_seed`` drawn from the
loader's generator once per epoch, or once for ``persistent_workers``): nabla's generator and Python's
``random`` both, before ``worker_init_fn(worker_id)`` runs; :func:`get_worker_info` tells code
inside a worker which one it is. An exception in a worker is raised in the main process with the
worker's traceback; a worker that dies (e.g. killed for memory) raises instead of hanging.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy

from .. import backend
from ..tensor import Tensor, array_of, from_array

_POLL_S = 0.1  # how often a waiting loader checks that its workers are alive


@dataclass(frozen=True)
class WorkerInfo:
    """What :func:`get_worker_info` returns inside a worker process."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """Inside a ``DataLoader`` worker: its ``id``, ``num_workers``, ``seed`` and its copy of the
    ``dataset``; ``None`` in the main process. Use it to split work in ``worker_init_fn``."""
    return _worker_info


# ------------------------------------------------------------------------ batches across processes


class _Arr:
    """A Tensor in transit: its array (pickled by NumPy) and whether it required grad."""

    __slots__ = ("array", "requires_grad")

    def __init__(self, array: Any, requires_grad: bool) -> None:
        self.array, self.requires_grad = array, requires_grad


def _map_leaves(fn: Callable[[Any], Any], obj: Any) -> Any:
    """``obj`` with ``fn`` applied to every leaf, keeping its nesting: lists, tuples, namedtuples and
    dicts are rebuilt as the same type (what ``collate_fn`` returns); anything else is a leaf."""
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*[_map_leaves(fn, o) for o in obj])
    if isinstance(obj, (list, tuple)):
        return type(obj)(_map_leaves(fn, o) for o in obj)
    if isinstance(obj, dict):
        return {k: _map_leaves(fn, v) for k, v in obj.items()}
    return fn(obj)


def _pack_leaf(obj: Any) -> Any:
    if isinstance(obj, Tensor):
        return _Arr(backend.transfer(array_of(obj), backend.CPU), obj.requires_grad)
    return obj


def _unpack_leaf(obj: Any) -> Any:
    if isinstance(obj, _Arr):
        t = from_array(obj.array)
        return t.requires_grad_(True) if obj.requires_grad else t
    return obj


def _pack(obj: Any) -> Any:
    """A batch ready to pickle to the main process: each Tensor as an :class:`_Arr` on the CPU."""
    return _map_leaves(_pack_leaf, obj)


def _unpack(obj: Any) -> Any:
    """The inverse of :func:`_pack`, in the main process: each :class:`_Arr` a Tensor again."""
    return _map_leaves(_unpack_leaf, obj)


class _WorkerError:
    """An exception raised in a worker, carried to the main process with its traceback text."""

    def __init__(self, worker_id: int, exc: BaseException) -> None:
        self.worker_id = worker_id
        self.exc_type = type(exc)
        self.text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))

    def reraise(self) -> None:
        msg = f"Caught {self.exc_type.__name__} in DataLoader worker process {self.worker_id}.\n{self.text}"
        try:
            err = self.exc_type(msg)
        except Exception:
            err = RuntimeError(msg)
        raise err


def _worker_loop(worker_id: int, num_workers: int, seed: int, dataset: Any, make_batch: Callable[[Any], Any],
                 worker_init_fn: Callable[[int], None] | None, index_queue: Any, result_queue: Any) -> None:
    """The body of one worker process: seed, init, then make batches until told to stop (None)."""
    global _worker_info
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # N workers each running N BLAS threads oversubscribe
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    backend.manual_seed(seed)
    init_error = None
    if worker_init_fn is not None:
        try:
            worker_init_fn(worker_id)
        except BaseException as e:  # reported with the first task, so the loader raises it
            init_error = _WorkerError(worker_id, e)
    while True:
        try:
            task = index_queue.get()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if task is None:
            return
        epoch, k, indices = task
        if init_error is not None:
            result_queue.put((epoch, k, init_error))
            continue
        try:
            result = _pack(make_batch(indices))
        except BaseException as e:
            result = _WorkerError(worker_id, e)
        result_queue.put((epoch, k, result))


class WorkerPool:
    """``num_workers`` processes making batches for one loader; reused across epochs when persistent."""

    def __init__(self, dataset: Any, make_batch: Callable[[Any], Any], num_workers: int, base_seed: int,
                 worker_init_fn: Callable[[int], None] | None, context: Any, timeout: float) -> None:
        ctx = _context(context)
        self.num_workers = num_workers
        self.timeout = timeout
        self.result_queue = ctx.Queue()
        self.index_queues = []
        self.workers = []
        self.epoch = 0
        for w in range(num_workers):
            q = ctx.Queue()
            p = ctx.Process(target=_worker_loop, name=f"nabla-dataloader-{w}", daemon=True,
                            args=(w, num_workers, base_seed + w, dataset, make_batch, worker_init_fn, q,
                                  self.result_queue))
            p.start()
            self.index_queues.append(q)
            self.workers.append(p)

    def run(self, batches: Iterator[Any], in_flight: int, in_order: bool) -> Iterator[Any]:
        """Feed the index lists of ``batches`` to the workers, yield the made batches."""
        self.epoch += 1
        epoch = self.epoch
        sent = received = 0
        pending: dict[int, Any] = {}
        next_out = 0
        exhausted = False
        while True:
            while not exhausted and sent - received < in_flight:
                try:
                    indices = next(batches)
                except StopIteration:
                    exhausted = True
                    break
                self.index_queues[sent % self.num_workers].put((epoch, sent, indices))
                sent += 1
            if in_order and next_out in pending:
                yield self._deliver(pending.pop(next_out))
                next_out += 1
                continue
            if received == sent:
                if exhausted:
                    return
                continue
            e, k, result = self._get()
            if e != epoch:  # left over from an epoch abandoned early (persistent workers)
                continue
            received += 1
            if in_order:
                pending[k] = result
            else:
                yield self._deliver(result)

    @staticmethod
    def _deliver(result: Any) -> Any:
        if isinstance(result, _WorkerError):
            result.reraise()
        return _unpack(result)

    def _get(self) -> tuple:
        waited = 0.0
        while True:
            try:
                return self.result_queue.get(timeout=_POLL_S)
            except queue.Empty:
                waited += _POLL_S
            dead = [p for p in self.workers if not p.is_alive()]
            if dead:
                p = dead[0]
                self.shutdown()
                raise RuntimeError(
                    f"DataLoader worker (pid {p.pid}) exited unexpectedly with exit code {p.exitcode}: it was killed "
                    "(out of memory?) or crashed. Try fewer workers or num_workers=0 to see the error in this process."
                )
            if self.timeout and waited >= self.timeout:
                self.shutdown()
                raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds waiting for a batch from its "
                                   "workers (timeout=)")

    def shutdown(self) -> None:
        """Stop the workers (each finishes its current batch), then make sure they are gone."""
        for q, p in zip(self.index_queues, self.workers):
            if p.is_alive():
                try:
                    q.put(None)
                except (OSError, ValueError):
                    pass
        for p in self.workers:
            p.join(timeout=2.0)
            if p.is_alive():
                p.terminate()
                p.join(timeout=1.0)
        for q in [*self.index_queues, self.result_queue]:
            q.cancel_join_thread()
            q.close()
        self.workers = []
        self.index_queues = []

    def __del__(self) -> None:
        if getattr(self, "workers", None):
            self.shutdown()


def _context(context: Any) -> Any:
    """A multiprocessing context: given, named ("fork", "spawn", "forkserver") or the default (fork on
    Linux, as PyTorch: workers inherit the dataset without pickling it)."""
    if context is None:
        methods = multiprocessing.get_all_start_methods()
        return multiprocessing.get_context("fork" if "fork" in methods else methods[0])
    if isinstance(context, str):
        try:
            return multiprocessing.get_context(context)
        except ValueError:
            raise ValueError(f"DataLoader: multiprocessing_context {context!r} is not a start method here; "
                             f"valid: {multiprocessing.get_all_start_methods()}") from None
    return context


def base_seed(generator: backend.Generator | None) -> int:
    """A fresh seed for a set of workers, drawn from ``generator`` (or nabla's default one)."""
    gen = (generator or backend.default_generator).numpy
    return int(gen.integers(0, 2**62, dtype=numpy.int64))
