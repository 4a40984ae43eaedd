"""Data-parallel training on MPI: two ranks with batch B against one process with batch 2B, failure
handling, and `mpiexec -n 2 nabla train` (run through mpiexec in subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py", reason="nabla.distributed needs mpi4py: pip install 'nabla[mpi]'")

import nabla.distributed as dist

WORKER = Path(__file__).with_name("ddp_worker.py")
PY = sys.executable


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_", "PMIX_", "MPI_LOCAL"))}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", **extra)
    return env


@pytest.fixture(scope="module")
def mpiexec() -> str:
    try:
        exe = dist.mpiexec()
    except FileNotFoundError as e:
        pytest.skip(str(e))
    probe = subprocess.run([exe, "-n", "2", PY, "-c", "from mpi4py import MPI; assert MPI.COMM_WORLD.Get_size() == 2"],
                           capture_output=True, text=True, timeout=60, env=_env())
    if probe.returncode != 0:
        pytest.skip(f"mpiexec cannot start 2 processes here: {probe.stderr.strip()[-300:]}")
    return exe


def _run(cmd: list[str], timeout: float = 240, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_env(**env))


def test_two_ranks_batch_b_equal_one_process_batch_2b(mpiexec, tmp_path):
    r = _run([mpiexec, "-n", "2", PY, str(WORKER), "ddp", str(tmp_path / "ddp.npz")])
    assert r.returncode == 0, r.stderr
    assert "4 buckets" in r.stdout  # several buckets, so the reduction really is split up
    for mode in ("emulate", "big"):
        r = _run([PY, str(WORKER), mode, str(tmp_path / f"{mode}.npz")])
        assert r.returncode == 0, r.stderr
    rank0, rank1 = np.load(tmp_path / "ddp.rank0.npz"), np.load(tmp_path / "ddp.rank1.npz")
    emulate, big = np.load(tmp_path / "emulate.npz"), np.load(tmp_path / "big.npz")
    assert sorted(rank0) == sorted(big)
    for k in rank0:
        # the replicas stay identical (they started from different seeds: rank 0's weights were broadcast)
        np.testing.assert_array_equal(rank0[k], rank1[k])
        # bit-for-bit: one process averaging the two per-rank gradients ((g0 + g1) / 2 rounds the same)
        np.testing.assert_array_equal(rank0[k], emulate[k])
        # one batch of 2B sums its rows in another order: float64 rounding only, after 32 SGD steps
        np.testing.assert_allclose(rank0[k], big[k], rtol=0, atol=1e-12)
        assert not np.allclose(rank0[k], 0)


def test_a_rank_that_raises_stops_the_others_at_once(mpiexec, tmp_path):
    t0 = time.monotonic()
    r = _run([mpiexec, "-n", "2", PY, str(WORKER), "die", str(tmp_path / "x.npz")], timeout=120)
    assert r.returncode != 0
    assert "rank 1 of 2 failed: RuntimeError: simulated failure in rank 1; stopping all ranks" in r.stderr
    assert time.monotonic() - t0 < 60
    assert not (tmp_path / "x.rank0.npz").exists()


def test_a_rank_that_leaves_makes_the_others_time_out_not_hang(mpiexec, tmp_path):
    t0 = time.monotonic()
    r = _run([mpiexec, "-n", "2", PY, str(WORKER), "leave", str(tmp_path / "x.npz")], timeout=120,
             NABLA_DIST_TIMEOUT="3")
    assert r.returncode != 0
    assert "rank 0 of 2 failed" in r.stderr and "did not complete within 3 s (NABLA_DIST_TIMEOUT)" in r.stderr
    assert time.monotonic() - t0 < 60


def test_nabla_train_on_two_ranks_then_resume_on_one(mpiexec, tmp_path):
    pytest.importorskip("sklearn", reason="the digits data set comes with scikit-learn")
    out = tmp_path / "run"
    r = _run([mpiexec, "-n", "2", PY, "-m", "nabla", "train", "mlp", "--dataset", "digits", "--epochs", "2",
              "--out", str(out)])
    assert r.returncode == 0, r.stderr
    # rank 0 alone prints: one header, one line per epoch, one summary
    assert r.stderr.count("nabla train: mlp") == 1 and r.stderr.count("Epoch 2/2") == 1, r.stderr
    assert "batch 32 on each of 2 processes" in r.stderr
    assert r.stdout.count("test accuracy") == 1
    report = json.loads((out / "metrics.json").read_text())
    assert report["epochs_run"] == 2 and report["config"]["processes"] == 2 and (out / "curves.png").exists()
    r = _run([PY, "-m", "nabla", "train", "mlp", "--dataset", "digits", "--epochs", "3", "--out", str(out),
              "--resume"])
    assert r.returncode == 0, r.stderr
    report = json.loads((out / "metrics.json").read_text())
    assert report["epochs_run"] == 3 and report["test"]["accuracy"] > 0.85


def test_bad_usage_under_mpiexec_exits_2_without_hanging(mpiexec, tmp_path):
    r = _run([mpiexec, "-n", "2", PY, "-m", "nabla", "train", "mlp", "--dataset", "digits", "--optimizer", "nope",
              "--out", str(tmp_path / "r")], timeout=120)
    assert r.returncode == 2
    assert "unknown optimizer 'nope'" in r.stderr


def test_a_killed_two_rank_run_resumes_bit_for_bit_and_also_on_one_process(mpiexec, tmp_path):
    def fit(out: str, ckpt: str, *kill: str, ranks: int = 2) -> subprocess.CompletedProcess:
        cmd = [mpiexec, "-n", str(ranks), PY] if ranks > 1 else [PY]
        return _run(cmd + [str(WORKER), "fit", str(tmp_path / out), str(tmp_path / ckpt), *kill])

    full = fit("full.npz", "full.safetensors")
    assert full.returncode == 0, full.stderr
    fit("x.npz", "ckpt.safetensors", "11")  # every rank killed after 11 of the 16 batches (2 epochs x 8)
    assert (tmp_path / "ckpt.safetensors").exists() and not (tmp_path / "x.npz").exists()
    (tmp_path / "copy.safetensors").write_bytes((tmp_path / "ckpt.safetensors").read_bytes())
    resumed = fit("resumed.npz", "ckpt.safetensors")
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed_from (1, 1)" in resumed.stdout  # the last save: epoch 1, batch 1 (every 3 batches)
    a, b = np.load(tmp_path / "full.npz"), np.load(tmp_path / "resumed.npz")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    # the same checkpoint carried on by one process: its step is rescaled (1 batch of 2 ranks = 2 of one)
    one = fit("one.npz", "copy.safetensors", ranks=1)
    assert one.returncode == 0, one.stderr
    assert "epochs [0, 1] resumed_from (1, 1)" in one.stdout
    c = np.load(tmp_path / "one.npz")
    assert all(np.isfinite(c[k]).all() for k in c)
