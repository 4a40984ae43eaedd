"""``DistributedSampler``: each rank's disjoint share of a data set (``torch.utils.data.distributed``)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy

from ..data import Sampler
from . import comm

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler):
    """The indices of ``dataset`` that rank ``rank`` of ``num_replicas`` reads this epoch.

    All ranks draw the same permutation (seeded by ``seed + epoch``, not by nabla's global generator,
    so every rank agrees without talking) and rank ``r`` takes positions ``r, r + N, r + 2N, ...``:
    the shares are disjoint and together cover the data set. The list is padded by wrapping around to
    a multiple of ``N`` so every rank runs the same number of steps (``drop_last=True`` cuts the tail
    instead). Because rank ``r`` takes every ``N``-th index, the ``k``-th batches of size ``B`` of all
    ranks together are exactly the ``k``-th batch of size ``N*B`` of the one-process order.

    Call :meth:`set_epoch` at the start of each epoch (:class:`~nabla.train.Trainer` does) for a new
    shuffle; without it every epoch repeats the first one's order.
    """

    def __init__(self, dataset: Any, num_replicas: int | None = None, rank: int | None = None, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None:
            num_replicas = comm.world_size()
        if rank is None:
            rank = comm.rank()
        if isinstance(num_replicas, bool) or not isinstance(num_replicas, int) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive int, got {num_replicas!r}")
        if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: rank must be in 0..{num_replicas - 1}, got {rank!r}")
        n = len(dataset)
        if n == 0:
            raise ValueError("DistributedSampler: the data set is empty; every rank needs samples")
        if drop_last and n < num_replicas:
            raise ValueError(f"DistributedSampler: drop_last with {n} samples for {num_replicas} ranks leaves some "
                             "ranks without data; use drop_last=False (pads by repeating samples) or fewer ranks")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.shuffle = shuffle
        self.seed = int(seed)
        self.drop_last = drop_last
        self.epoch = 0
        self.num_samples = n // num_replicas if drop_last else math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Use the shuffle of epoch ``epoch`` (all ranks must pass the same number)."""
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            order = numpy.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            order = numpy.arange(n)
        if self.total_size > n:  # pad by wrapping around (as often as needed when n < num_replicas)
            order = numpy.resize(order, self.total_size)
        else:
            order = order[: self.total_size]
        return iter(order[self.rank: self.total_size: self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.num_samples
