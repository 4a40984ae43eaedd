"""``DistributedDataParallel``: the same model on every rank, each on its own share of every batch.

Data parallelism in one line of maths: with the loss a mean over a global batch split evenly over
``N`` ranks, ``grad L = (1/N) * sum_r grad L_r``, so averaging the ranks' gradients before the
optimizer step makes every rank take the step one process would take on the whole global batch,
and the replicas stay identical (they start identical: rank 0's weights are broadcast).

The averaging is an all-reduce of every gradient. It is done in *buckets* of parameters (about
``bucket_cap_mb`` each, in the reverse order of ``parameters()``, roughly the order backward finishes
them): a post-accumulate-grad hook on each parameter counts it ready, and once a bucket's last
gradient is in, its gradients are packed into one flat buffer and a non-blocking all-reduce starts
while backward carries on with earlier layers. Buckets start in index order on every rank (MPI
collectives must match up), and when the last one has started the step waits for all of them and
writes the averaged gradients back into ``.grad``, all before ``backward()`` returns.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy

from .. import backend
from ..nn import Module
from . import comm

__all__ = ["DistributedDataParallel"]


class _Bucket:
    __slots__ = ("params", "offsets", "size", "dtype", "ready", "buffer", "request")

    def __init__(self, params: list, dtype: numpy.dtype) -> None:
        self.params = params
        self.offsets = []
        n = 0
        for p in params:
            self.offsets.append(n)
            n += p.numel()
        self.size = n
        self.dtype = dtype
        self.ready = 0
        self.buffer = numpy.empty(n, dtype=dtype)
        self.request = None


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training over the ranks of an MPI job.

    On construction rank 0's parameters and buffers are copied to every rank. After each
    ``backward()`` every parameter's ``.grad`` holds the mean of the ranks' gradients. Call the
    wrapper like the module (it broadcasts rank 0's buffers, e.g. BatchNorm statistics, before each
    forward when ``broadcast_buffers``); ``.module`` is the wrapped model (its ``state_dict()`` has no
    ``module.`` prefix). Inside :meth:`no_sync` gradients only accumulate locally (gradient
    accumulation); the next backward outside it averages the accumulated gradients.

    Every parameter that requires grad must receive a gradient in every backward on every rank;
    a parameter left out is reported by name at the next forward.
    """

    def __init__(self, module: Module, bucket_cap_mb: float = 25.0, broadcast_buffers: bool = True) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected a nabla.nn.Module, got {type(module).__name__}")
        if not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be > 0, got {bucket_cap_mb!r}")
        comm.init()
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.world_size = comm.world_size()
        names = {id(p): n for n, p in module.named_parameters()}
        params = [p for p in module.parameters() if p.requires_grad]
        self._names = [names[id(p)] for p in params]
        for t in list(module.parameters()) + list(module.buffers()):
            comm.broadcast(t, 0)
        self._buckets = self._make_buckets(params, bucket_cap_mb * 2**20)
        self._where = {}
        for bi, b in enumerate(self._buckets):
            for pi, p in enumerate(b.params):
                self._where[id(p)] = (bi, pi)
        self._next = 0  # the next bucket to start (buckets start in order on every rank)
        self._seen: set[int] = set()
        self._sync = True
        self._handles = [p.register_post_accumulate_grad_hook(self._grad_ready) for p in params]
        self.comm_seconds = 0.0  # time spent waiting for all-reduces to finish after backward's last gradient

    @staticmethod
    def _make_buckets(params: list, cap_bytes: float) -> list[_Bucket]:
        buckets: list[_Bucket] = []
        current: list = []
        size = 0
        dtype = None
        for p in reversed(params):
            d = numpy.dtype(p.dtype)
            if current and (d != dtype or size + p.numel() * d.itemsize > cap_bytes):
                buckets.append(_Bucket(current, dtype))
                current, size = [], 0
            current.append(p)
            dtype = d
            size += p.numel() * d.itemsize
        if current:
            buckets.append(_Bucket(current, dtype))
        return buckets

    @property
    def bucket_sizes(self) -> list[int]:
        """Number of gradient values in each bucket, in the order they are reduced."""
        return [b.size for b in self._buckets]

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        self._check_finished("forward")
        if self.broadcast_buffers:
            self.sync_buffers()
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes inside only accumulate ``.grad`` locally (no communication)."""
        old, self._sync = self._sync, False
        try:
            yield
        finally:
            self._sync = old

    # ------------------------------------------------------------------------------ the hooks

    def _grad_ready(self, p: Any) -> None:
        if not self._sync or self.world_size == 1:
            return
        if id(p) in self._seen:
            raise RuntimeError(f"DistributedDataParallel: parameter {self._names[self._index(p)]!r} received a "
                               "gradient twice before the ranks averaged them (backward through the same "
                               "parameters twice per step needs no_sync() around all but the last backward)")
        self._seen.add(id(p))
        bi, _ = self._where[id(p)]
        self._buckets[bi].ready += 1
        buckets = self._buckets
        while self._next < len(buckets) and buckets[self._next].ready == len(buckets[self._next].params):
            self._start(buckets[self._next])
            self._next += 1
        if self._next == len(self._buckets):
            self._finish()
        else:  # let MPI move the started reductions along while backward continues
            started = [b.request for b in self._buckets[: self._next] if b.request is not None]
            if started:
                comm._state.MPI.Request.Testall(started)

    def _index(self, p: Any) -> int:
        bi, pi = self._where[id(p)]
        return sum(len(b.params) for b in self._buckets[:bi]) + pi

    def _start(self, b: _Bucket) -> None:
        for p, off in zip(b.params, b.offsets):
            g = p.grad._data
            if not isinstance(g, numpy.ndarray):
                g = backend.transfer(g, backend.CPU)
            b.buffer[off: off + g.size] = g.reshape(-1)
        MPI = comm._state.MPI
        b.request = comm._comm().Iallreduce(MPI.IN_PLACE, b.buffer, op=MPI.SUM)

    def _finish(self) -> None:
        import time

        t0 = time.perf_counter()
        comm.wait([b.request for b in self._buckets], f"DistributedDataParallel's gradient all-reduce "
                  f"({len(self._buckets)} buckets, {sum(self.bucket_sizes):,} values)")
        self.comm_seconds += time.perf_counter() - t0
        for b in self._buckets:
            b.buffer /= self.world_size
            for p, off in zip(b.params, b.offsets):
                avg = b.buffer[off: off + p.numel()].reshape(p.shape)
                g = p.grad._data
                if isinstance(g, numpy.ndarray) and g.flags.writeable:
                    numpy.copyto(g, avg)
                else:
                    g[...] = backend.transfer(avg, backend.device_of(g))
            b.ready = 0
            b.request = None
        self._next = 0
        self._seen.clear()

    def _check_finished(self, where: str) -> None:
        if not self._seen:
            return
        missing = [n for b in self._buckets for p, n in zip(b.params, self._bucket_names(b)) if id(p) not in self._seen]
        raise RuntimeError(f"DistributedDataParallel ({where}): the previous backward gave no gradient to "
                           f"{', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}, so the ranks could not "
                           "average the gradients. Every parameter that requires grad must be used in every step "
                           "on every rank; freeze unused ones with requires_grad_(False) before wrapping")

    def _bucket_names(self, b: _Bucket) -> list[str]:
        return [self._names[self._index(p)] for p in b.params]

    def sync_buffers(self) -> None:
        """Copy rank 0's buffers (e.g. BatchNorm running statistics) to every rank."""
        if self.world_size > 1:
            for t in self.module.buffers():
                comm.broadcast(t, 0)

    def finished(self) -> bool:
        """True when no gradient average is half done (every parameter got its gradient last backward)."""
        return not self._seen

    def check_finished(self) -> None:
        """Raise (naming the parameters) if the last backward left some parameters without a gradient."""
        self._check_finished("after the step")

    def remove_hooks(self) -> None:
        """Take the gradient hooks off the wrapped module's parameters (it then trains alone again)."""
        for h in self._handles:
            h.remove()
        self._handles = []
