"""nabla.distributed: data-parallel training over the processes of an MPI job (``torch.distributed``'s names).

    mpiexec -n 2 nabla train mlp --dataset digits        # the Trainer shards the data and averages gradients

    import nabla.distributed as dist                     # or by hand, in a script started by mpiexec -n N
    dist.init()
    model = dist.DistributedDataParallel(model)
    sampler = dist.DistributedSampler(train_set)
    loader = nabla.data.DataLoader(train_set, batch_size=64, sampler=sampler)

``pip install 'nabla[mpi]'`` installs mpi4py and MPICH (with ``mpiexec``; :func:`mpiexec` finds it).
"""

from .comm import (
    abort,
    abort_on_error,
    all_reduce,
    all_reduce_floats,
    barrier,
    broadcast,
    init,
    is_initialized,
    is_main_process,
    launched,
    mpiexec,
    rank,
    timeout,
    world_size,
)
from .ddp import DistributedDataParallel
from .sampler import DistributedSampler
from .training import end_epoch, reduce_logs, rescale_resume, shard_loader, wrap

__all__ = [
    "init", "is_initialized", "launched", "rank", "world_size", "is_main_process", "all_reduce", "broadcast",
    "barrier", "all_reduce_floats", "abort", "abort_on_error", "mpiexec", "timeout", "DistributedDataParallel",
    "DistributedSampler", "wrap", "shard_loader", "reduce_logs", "end_epoch", "rescale_resume",
]
