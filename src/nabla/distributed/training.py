"""What :class:`~nabla.train.Trainer` does differently when ``mpiexec -n N`` started it: the pieces it
calls, kept here so the training loop stays one loop.

- each rank reads its own share of the training data (:func:`shard_loader`, a :class:`DistributedSampler`
  in place of the loader's sampler; the per-rank batch stays the loader's, the global batch is N times it);
- the model is wrapped in :class:`DistributedDataParallel` (weights broadcast, gradients averaged);
- the epoch's training logs are averaged over the ranks (:func:`reduce_logs`: every rank runs the same
  number of equal batches, so the mean of the ranks' mean loss is the mean over all batches); the
  validation set is evaluated whole on every rank, so validation metrics need no reduction;
- rank 0 alone prints and writes (the Trainer drops the other ranks' progress and logging callbacks;
  checkpoints are written by rank 0 only);
- a checkpoint records the number of ranks, and :func:`rescale_resume` maps a mid-epoch resume point
  to another number of ranks (the same samples done; epoch-end checkpoints resume exactly).
"""

from __future__ import annotations

from typing import Any

import numpy

from .. import backend
from ..data import DataLoader, RandomSampler
from . import comm
from .ddp import DistributedDataParallel
from .sampler import DistributedSampler

__all__ = ["wrap", "shard_loader", "reduce_logs", "end_epoch", "rescale_resume"]


def wrap(trainer: Any) -> DistributedDataParallel:
    """``DistributedDataParallel`` around the trainer's model, for a trainer whose step is the plain one
    (loss, ``backward()``, ``optimizer.step()``): a step of its own (a GAN's two optimizers, the perceptron
    rule) would not average its updates the way the gradient hooks assume, so it is refused."""
    from ..train.trainer import Trainer

    if type(trainer).train_step is not Trainer.train_step or hasattr(trainer.model, "train_step"):
        who = type(trainer.model).__name__ if hasattr(trainer.model, "train_step") else type(trainer).__name__
        raise ValueError(f"data-parallel training (mpiexec -n {comm.world_size()}) supports Trainer's own step "
                         f"(loss.backward(), optimizer.step()); {who} has a train_step of its own. Run it in one "
                         "process, or average its gradients yourself with nabla.distributed.all_reduce")
    return DistributedDataParallel(trainer.model)


def shard_loader(loader: Any) -> Any:
    """``loader`` with each rank reading a disjoint share of its data set.

    A DataLoader that already has a :class:`DistributedSampler` is returned as is; a DataLoader with a
    random or sequential sampler gets a DistributedSampler that shuffles (with a seed drawn on rank 0
    from nabla's generator and shared) or keeps the order. Anything else cannot be split safely.
    """
    if isinstance(loader, DataLoader) and isinstance(loader.sampler, DistributedSampler):
        return loader
    if not isinstance(loader, DataLoader) or loader.batch_size is None or (
            loader.batch_sampler is not None and not hasattr(loader.batch_sampler, "sampler")):
        raise ValueError(f"data-parallel training (world size {comm.world_size()}) needs a DataLoader with a "
                         f"batch size to split between the ranks, got {type(loader).__name__}; pass "
                         "DataLoader(dataset, batch_size=B, sampler=nabla.distributed.DistributedSampler(dataset))")
    shuffle = isinstance(loader.sampler, RandomSampler)
    seed = numpy.array([int(backend.default_generator.numpy.integers(2**31)) if shuffle else 0], dtype=numpy.int64)
    comm.broadcast(seed, 0)
    sampler = DistributedSampler(loader.dataset, shuffle=shuffle, seed=int(seed[0]))
    workers = getattr(loader, "num_workers", 0)  # the loader's worker processes carry over to the shard
    return DataLoader(loader.dataset, batch_size=loader.batch_size, sampler=sampler, drop_last=loader.drop_last,
                      collate_fn=loader.collate_fn, prefetch=loader.prefetch, num_workers=workers,
                      prefetch_factor=loader.prefetch_factor if workers else None,
                      persistent_workers=loader.persistent_workers, worker_init_fn=loader.worker_init_fn,
                      timeout=loader.timeout, multiprocessing_context=loader.multiprocessing_context,
                      pin_memory=loader.pin_memory)


def reduce_logs(logs: dict[str, Any]) -> dict[str, Any]:
    """The ranks' epoch logs averaged (numbers only; anything else is rank 0's)."""
    numbers = {k: float(v) for k, v in logs.items() if isinstance(v, (int, float, numpy.number))
               and not isinstance(v, bool)}
    out = dict(logs)
    out.update(comm.all_reduce_floats(numbers, "mean"))
    return out


def end_epoch(ddp: DistributedDataParallel, logs: dict[str, Any]) -> dict[str, Any]:
    """After an epoch: the ranks' logs averaged, rank 0's buffers copied to all, and a check that the
    replicas still hold the same weights (a sum of every parameter, compared across ranks)."""
    logs = reduce_logs(logs)
    ddp.sync_buffers()
    total = numpy.array([sum(float(numpy.asarray(p.detach().numpy(), dtype=numpy.float64).sum())
                             for p in ddp.module.parameters())])
    low, high = total.copy(), total.copy()
    comm.all_reduce(low, "min")
    comm.all_reduce(high, "max")
    if not low[0] == high[0]:
        raise RuntimeError(f"data-parallel training: the ranks' weights differ after the epoch (parameter sums "
                           f"{low[0]!r} to {high[0]!r}); every rank must run the same steps on the same model")
    return logs


def rescale_resume(resume: dict[str, Any], world: int) -> dict[str, Any]:
    """A resume point saved by ``resume["world_size"]`` ranks, for ``world`` ranks: the batches done in
    the interrupted epoch scale so the same number of samples counts as done."""
    saved = int(resume.get("world_size", 1))
    if saved == world or not resume.get("step"):
        return resume
    out = dict(resume)
    out["step"] = resume["step"] * saved // world
    running = dict(resume.get("running") or {})
    if running.get("batches"):
        mean = float(running["loss"]) / int(running["batches"])
        running["batches"] = out["step"]
        running["loss"] = mean * out["step"]
    out["running"] = running
    return out
