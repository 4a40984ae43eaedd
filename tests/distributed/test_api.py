"""nabla.distributed in one process (no launcher): the API degrades to a world of one; the sampler; resume maths."""

import numpy as np
import pytest

import nabla as nb
import nabla.distributed as dist
from nabla.data import TensorDataset


def test_single_process_is_rank_0_of_1_and_collectives_are_identities():
    assert dist.launched() == 1 and dist.rank() == 0 and dist.world_size() == 1 and dist.is_main_process()
    t = nb.tensor([1.0, 2.0])
    assert dist.all_reduce(t, "mean") is t and t.tolist() == [1.0, 2.0]
    assert dist.broadcast(t, 0) is t
    dist.barrier()
    with pytest.raises(ValueError, match="op must be one of sum, mean, max, min, prod"):
        dist.all_reduce(t, "avg")
    with pytest.raises(ValueError, match=r"src must be a rank in 0..0"):
        dist.broadcast(t, 1)
    assert dist.all_reduce_floats({"loss": 0.5}) == {"loss": 0.5}


def test_timeout_setting_is_checked(monkeypatch):
    monkeypatch.setenv("NABLA_DIST_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="NABLA_DIST_TIMEOUT must be a number of seconds"):
        dist.timeout()
    monkeypatch.setenv("NABLA_DIST_TIMEOUT", "2.5")
    assert dist.timeout() == 2.5


def _ds(n):
    return TensorDataset(nb.arange(n))


@pytest.mark.parametrize("n, replicas", [(10, 2), (11, 2), (10, 3), (2, 4)])
def test_shares_are_disjoint_cover_the_data_and_have_equal_length(n, replicas):
    shares = [list(dist.DistributedSampler(_ds(n), replicas, r, seed=5)) for r in range(replicas)]
    assert len({len(s) for s in shares}) == 1 and len(shares[0]) == -(-n // replicas)
    flat = [i for s in shares for i in s]
    assert set(flat) == set(range(n))  # all covered
    if n % replicas == 0:
        assert len(flat) == len(set(flat))  # disjoint (padding repeats only when n is not a multiple)


def test_rank_batches_together_are_the_one_process_batch():
    ds = _ds(24)
    one = list(dist.DistributedSampler(ds, 1, 0, seed=7))
    shares = [list(dist.DistributedSampler(ds, 3, r, seed=7)) for r in range(3)]
    for k in range(2):  # per-rank batch 4, global batch 12
        assert sorted(i for s in shares for i in s[4 * k: 4 * k + 4]) == sorted(one[12 * k: 12 * k + 12])


def test_set_epoch_reshuffles_the_same_way_on_every_rank():
    a, b = dist.DistributedSampler(_ds(50), 2, 0, seed=1), dist.DistributedSampler(_ds(50), 2, 0, seed=1)
    first = list(a)
    a.set_epoch(1)
    b.set_epoch(1)
    assert list(a) == list(b) != first
    assert list(dist.DistributedSampler(_ds(6), 2, 1, shuffle=False)) == [1, 3, 5]


def test_sampler_errors_say_what_is_valid():
    with pytest.raises(ValueError, match=r"rank must be in 0..1"):
        dist.DistributedSampler(_ds(4), 2, 2)
    with pytest.raises(ValueError, match="empty"):
        dist.DistributedSampler(_ds(0), 2, 0)
    with pytest.raises(ValueError, match="leaves some ranks without data"):
        dist.DistributedSampler(_ds(1), 2, 0, drop_last=True)


def test_resume_point_rescales_to_another_rank_count():
    saved = {"epoch": 3, "step": 10, "world_size": 2, "running": {"loss": 5.0, "batches": 10}, "rng": None}
    out = dist.rescale_resume(saved, 4)
    assert out["step"] == 5 and out["running"] == {"loss": 2.5, "batches": 5}
    assert dist.rescale_resume(saved, 2) is saved
    assert dist.rescale_resume({**saved, "step": 0}, 1)["step"] == 0


def test_ddp_in_one_process_leaves_gradients_alone():
    m = nb.nn.Linear(3, 2)
    ddp = dist.DistributedDataParallel(m)
    x = nb.tensor(np.ones((4, 3), dtype=np.float32))
    ddp(x).sum().backward()
    np.testing.assert_allclose(m.bias.grad.numpy(), [4.0, 4.0])
    assert ddp.finished() and sum(ddp.bucket_sizes) == 8
    ddp.remove_hooks()
    with pytest.raises(TypeError, match="expected a nabla.nn.Module"):
        dist.DistributedDataParallel(object())


def test_trainers_with_a_step_of_their_own_are_refused_for_data_parallel_training():
    from nabla.models import perceptron
    from nabla.train import PerceptronTrainer, Trainer

    with pytest.raises(ValueError, match="PerceptronTrainer has a train_step of its own"):
        dist.wrap(PerceptronTrainer(perceptron(2), lr=0.1))
    model = nb.nn.Linear(2, 1)
    ddp = dist.wrap(Trainer(model, nb.optim.SGD(model.parameters(), lr=0.1), nb.nn.MSELoss()))
    assert isinstance(ddp, dist.DistributedDataParallel) and ddp.module is model
    assert dist.end_epoch(ddp, {"loss": 1.5, "note": "x"}) == {"loss": 1.5, "note": "x"}
    ddp.remove_hooks()


def test_a_launcher_that_does_not_match_mpi4py_is_named_with_the_fix():
    import os
    import subprocess
    import sys

    pytest.importorskip("mpi4py", reason="nabla.distributed needs mpi4py: pip install 'nabla[mpi]'")
    env = {**os.environ, "OMPI_COMM_WORLD_SIZE": "4"}  # as if Open MPI's mpirun had started it
    r = subprocess.run([sys.executable, "-c", "import nabla.distributed as d; d.init()"], capture_output=True,
                       text=True, timeout=120, env=env)
    assert r.returncode != 0
    assert "the launcher started 4 processes but MPI sees 1" in r.stderr and "Launch with" in r.stderr
