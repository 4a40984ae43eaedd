"""Run by tests/distributed/test_ddp.py, under ``mpiexec -n 2`` or alone: trains a float64 MLP and saves
its final weights, so the test can compare data-parallel training with one process.

    python ddp_worker.py MODE OUT.npz
    ddp      (under mpiexec -n N) DistributedDataParallel, each rank a per-rank batch B
    big      one process, batch N*B in the same sample order
    emulate  one process computing the N ranks' per-rank gradients and averaging them
    die      (under mpiexec) rank 1 raises at its third step
    leave    (under mpiexec) rank 1 leaves without an error before the first all-reduce
    fit      Trainer.fit with a BackupAndRestore checkpoint (CKPT, argv[3]) every 3 batches, resuming from it
             when it exists; argv[4], if given, kills every rank right after that many batches
"""

from __future__ import annotations

import sys

import numpy as np

import nabla as nb
import nabla.distributed as dist
from nabla import nn
from nabla.data import DataLoader, TensorDataset
from nabla.nn import functional as F

B, N, EPOCHS, SEED = 16, 2, 2, 3


def data() -> TensorDataset:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 20))
    y = (x[:, :10].argmax(1) + (x[:, 10] > 0)) % 10
    return TensorDataset(nb.tensor(x), nb.tensor(y.astype(np.int64)))


def model(seed: int) -> nn.Module:
    nb.manual_seed(seed)
    return nn.Sequential(nn.Linear(20, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 10)).double()


def loader(ds, rank: int, replicas: int, batch: int, epoch: int) -> DataLoader:
    s = dist.DistributedSampler(ds, num_replicas=replicas, rank=rank, shuffle=True, seed=SEED)
    s.set_epoch(epoch)
    return DataLoader(ds, batch_size=batch, sampler=s)


def save(m: nn.Module, out: str) -> None:
    np.savez(out, **{k: v.numpy() for k, v in m.state_dict().items()})


class _Kill(nb.train.Callback):
    order = 200  # after BackupAndRestore (100) has saved this batch

    def __init__(self, after: int) -> None:
        self.after, self.seen = after, 0

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.seen += 1
        if self.seen == self.after:
            import os

            os._exit(0)  # as a kill would: no clean-up, mid-epoch


def fit(out: str, ckpt: str, kill: int | None) -> None:
    from nabla.train import BackupAndRestore, Trainer

    m = model(seed=0)
    trainer = Trainer(m, nb.optim.SGD(m.parameters(), lr=0.1, momentum=0.9), nn.CrossEntropyLoss(), ["accuracy"])
    callbacks = [BackupAndRestore(ckpt, save_freq=3)] + ([_Kill(kill)] if kill else [])
    history = trainer.fit(DataLoader(data(), batch_size=B, shuffle=True), epochs=EPOCHS, callbacks=callbacks,
                          verbose=0)
    if dist.rank() == 0:
        save(m, out)
        print("epochs", history.epoch, "resumed_from", callbacks[0].resumed_from)


def main(mode: str, out: str) -> None:
    if mode == "fit":
        fit(out, sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else None)
        return
    ds = data()
    if mode in ("ddp", "die", "leave"):
        dist.init()
        r, n = dist.rank(), dist.world_size()
        if mode == "leave" and r == 1:
            sys.exit(0)
        m = model(seed=r)  # different on each rank: DDP must broadcast rank 0's
        ddp = dist.DistributedDataParallel(m, bucket_cap_mb=0.004)  # ~1,000 values a bucket: several buckets
        opt = nb.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        step = 0
        for epoch in range(EPOCHS):
            for x, y in loader(ds, r, n, B, epoch):
                opt.zero_grad()
                F.cross_entropy(ddp(x), y).backward()
                step += 1
                if mode == "die" and r == 1 and step == 3:
                    raise RuntimeError("simulated failure in rank 1")
                opt.step()
        save(m, out.replace(".npz", f".rank{r}.npz"))
        print(f"rank {r}: {len(ddp.bucket_sizes)} buckets {ddp.bucket_sizes}")
        return
    m = model(seed=0)
    opt = nb.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    for epoch in range(EPOCHS):
        if mode == "big":
            for x, y in loader(ds, 0, 1, N * B, epoch):
                opt.zero_grad()
                F.cross_entropy(m(x), y).backward()
                opt.step()
        elif mode == "emulate":
            for batches in zip(*(loader(ds, r, N, B, epoch) for r in range(N))):
                grads = []
                for x, y in batches:
                    opt.zero_grad()
                    F.cross_entropy(m(x), y).backward()
                    grads.append([p.grad.numpy().copy() for p in m.parameters()])
                for p, *gs in zip(m.parameters(), *grads):
                    total = gs[0]
                    for g in gs[1:]:
                        total = total + g
                    p.grad = nb.tensor(total / N)
                opt.step()
        else:
            raise SystemExit(f"unknown mode {mode!r}")
    save(m, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
