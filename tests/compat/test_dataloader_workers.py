"""DataLoader(num_workers=...) runs real worker processes; RandomSampler(replacement, num_samples)."""

from __future__ import annotations

import os
import random
import time

import numpy as np
import pytest
import torch

import nabla
from nabla.data import DataLoader, Dataset, RandomSampler, TensorDataset, get_worker_info


class Squares(Dataset):
    """Each sample records the process that made it, so the test can see the workers."""

    def __init__(self, n: int = 23) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        return nabla.tensor([float(i), float(i * i)]), i, os.getpid()


def _batches(loader):
    return [(x.numpy().copy(), y.tolist(), pids.tolist()) for x, y, pids in loader]


@pytest.mark.parametrize("workers", [1, 3])
def test_workers_give_the_same_batches_in_the_same_order(workers):
    ds = Squares()
    plain = _batches(DataLoader(ds, batch_size=4))
    par = _batches(DataLoader(ds, batch_size=4, num_workers=workers, pin_memory=True, prefetch_factor=1))
    assert [b[1] for b in par] == [b[1] for b in plain]
    for (a, _, _), (b, _, _) in zip(plain, par):
        np.testing.assert_array_equal(a, b)
    pids = {p for b in par for p in b[2]}
    assert os.getpid() not in pids and len(pids) == workers  # made in the worker processes


def test_shuffle_with_workers_matches_in_process_shuffle_and_torch_length():
    ds = Squares(30)
    nabla.manual_seed(5)
    a = [y for _, y, _ in DataLoader(ds, batch_size=7, shuffle=True)]
    nabla.manual_seed(5)
    b = [y for _, y, _ in DataLoader(ds, batch_size=7, shuffle=True, num_workers=2)]
    assert [t.tolist() for t in a] == [t.tolist() for t in b]
    assert len(DataLoader(ds, batch_size=7, num_workers=2)) == len(torch.utils.data.DataLoader(range(30), 7)) == 5


class Seeds(Dataset):
    def __len__(self) -> int:
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return info.id, info.seed, random.random(), nabla.rand(1).item(), getattr(info, "tag", None)


def test_worker_seeding_and_worker_init_fn():
    def init(worker_id):
        info = get_worker_info()
        assert info.id == worker_id and info.num_workers == 2 and isinstance(info.dataset, Seeds)
        object.__setattr__(info, "tag", f"w{worker_id}")

    nabla.manual_seed(0)
    rows = [s for batch in DataLoader(Seeds(), batch_size=1, num_workers=2, worker_init_fn=init) for s in zip(*batch)]
    by_worker = {}
    for wid, seed, py, nb, tag in rows:
        by_worker.setdefault(int(wid), []).append((int(seed), float(py), float(nb), tag))
    seeds = {w: v[0][0] for w, v in by_worker.items()}
    assert seeds[1] == seeds[0] + 1  # base_seed + worker_id, as PyTorch
    assert {v[0][3] for v in by_worker.values()} == {"w0", "w1"}
    first = {w: v[0][1:3] for w, v in by_worker.items()}
    assert first[0] != first[1]  # workers draw different random numbers
    nabla.manual_seed(0)  # the same loader seed -> the same draws
    again = [s for batch in DataLoader(Seeds(), batch_size=1, num_workers=2, worker_init_fn=init) for s in zip(*batch)]
    assert [float(r[2]) for r in again] == [float(r[2]) for r in rows]
    assert get_worker_info() is None


class Fails(Dataset):
    def __len__(self) -> int:
        return 10

    def __getitem__(self, i):
        if i == 6:
            raise KeyError(f"sample {i} is broken")
        return nabla.tensor([i])


def test_worker_exception_is_raised_with_its_traceback():
    with pytest.raises(KeyError, match="Caught KeyError in DataLoader worker process .*sample 6 is broken"):
        list(DataLoader(Fails(), batch_size=2, num_workers=2))


class Dies(Dataset):
    def __len__(self) -> int:
        return 4

    def __getitem__(self, i):
        os._exit(3)


def test_dead_worker_raises_instead_of_hanging():
    t = time.perf_counter()
    with pytest.raises(RuntimeError, match="exited unexpectedly with exit code 3"):
        list(DataLoader(Dies(), batch_size=1, num_workers=1))
    assert time.perf_counter() - t < 10


class Slow(Dataset):
    def __len__(self) -> int:
        return 2

    def __getitem__(self, i):
        time.sleep(3)
        return i


def test_timeout():
    with pytest.raises(RuntimeError, match="timed out after 0.5 seconds"):
        list(DataLoader(Slow(), batch_size=1, num_workers=1, timeout=0.5))


def test_persistent_workers_survive_epochs_and_early_exit():
    dl = DataLoader(Squares(12), batch_size=3, num_workers=2, persistent_workers=True)
    first = _batches(dl)
    pool = dl._pool
    pids = [p.pid for p in pool.workers]
    for _batch in dl:  # leave an epoch early: its batches in flight must not leak into the next
        break
    second = _batches(dl)
    assert dl._pool is pool and [p.pid for p in pool.workers] == pids
    assert [b[1] for b in first] == [b[1] for b in second]
    del dl
    time.sleep(0.2)


def test_fast_path_dataset_and_in_order_false():
    x = nabla.arange(40, dtype=nabla.float32).reshape(20, 2)
    ds = TensorDataset(x, nabla.arange(20))
    got = sorted(int(y[0]) for _, y in DataLoader(ds, batch_size=5, num_workers=2, in_order=False))
    assert got == [0, 5, 10, 15]
    batches = list(DataLoader(ds, batch_size=5, num_workers=2))
    np.testing.assert_array_equal(batches[1][0].numpy(), x.numpy()[5:10])


def test_loader_argument_errors_match_torch():
    ds = Squares(4)
    cases = [dict(num_workers=-1), dict(prefetch_factor=2), dict(persistent_workers=True), dict(timeout=-1)]
    for kw in cases:
        with pytest.raises(ValueError) as en:
            DataLoader(ds, **kw)
        with pytest.raises(ValueError) as et:
            torch.utils.data.DataLoader(range(4), **kw)
        assert str(et.value).split(";")[0].split(".")[0] in str(en.value)


# ------------------------------------------------------------------------------------ RandomSampler

def test_random_sampler_replacement_and_num_samples():
    data = range(10)
    s = RandomSampler(data, replacement=True, num_samples=5000)
    draws = list(s)
    assert len(s) == len(draws) == len(torch.utils.data.RandomSampler(data, True, 5000)) == 5000
    counts = np.bincount(draws, minlength=10)
    assert counts.min() > 400 and counts.max() < 600  # uniform
    assert len(set(draws)) == 10
    no_rep = list(RandomSampler(data, num_samples=25))
    assert len(no_rep) == 25 and sorted(no_rep[:10]) == list(range(10)) and sorted(no_rep[10:20]) == list(range(10))
    assert sorted(RandomSampler(data)) == list(range(10))
    g = nabla.Generator(3)
    assert list(RandomSampler(data, generator=g)) == list(RandomSampler(data, generator=nabla.Generator(3)))


def test_random_sampler_errors_match_torch():
    for kw, err in [({"replacement": 1}, TypeError), ({"num_samples": 0}, ValueError)]:
        with pytest.raises(err) as en:
            RandomSampler(range(3), **kw)
        with pytest.raises(err) as et:
            torch.utils.data.RandomSampler(range(3), **kw)
        assert str(en.value) == str(et.value)


def test_data_parallel_shard_keeps_the_worker_settings():
    from nabla.distributed.training import shard_loader

    dl = DataLoader(Squares(20), batch_size=4, shuffle=True, num_workers=2, persistent_workers=True, prefetch_factor=3)
    shard = shard_loader(dl)  # one process: the whole data set, through the same worker settings
    assert (shard.num_workers, shard.prefetch_factor, shard.persistent_workers) == (2, 3, True)
    assert sorted(i for _, y, _ in shard for i in y.tolist()) == list(range(20))
