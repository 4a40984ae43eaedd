"""The training pool: work leaves the event loop (processes), runs share a worker fairly, a dead worker is
replaced and its runs say so."""

from __future__ import annotations

import os
import signal

import pytest
from starlette.testclient import TestClient

from nabla.playground import create_app

from .conftest import csrf, wait_for


def _state(c, run_id):
    return c.get(f"/api/runs/{run_id}").json()


@pytest.mark.slow
def test_process_workers_train_and_a_killed_worker_is_replaced(tmp_path):
    app = create_app(f"sqlite:///{tmp_path / 'p.sqlite3'}", worker_mode="process", workers=2,
                     fast_password_hashing=True, frame_interval=0.05)
    with TestClient(app) as c:
        pool = app.state.pool
        tok = csrf(c)
        ids = [c.post("/api/runs", json={"config": {"layers": [4]}}, headers={"X-CSRF-Token": tok}).json()["run_id"]
               for _ in range(2)]
        assert {pool.runs[i].worker for i in ids} == {0, 1}  # least busy worker first
        for i in ids:
            c.post(f"/api/runs/{i}/play", headers={"X-CSRF-Token": tok})
        wait_for(lambda: all(_state(c, i)["epoch"] >= 5 for i in ids), timeout=60)
        pids = {w.pid for w in pool._workers}
        assert os.getpid() not in pids and len(pids) == 2  # training happens in other processes
        victim = pool.runs[ids[0]].worker
        os.kill(pool._workers[victim].pid, signal.SIGKILL)
        dead = wait_for(lambda: (s := _state(c, ids[0]))["status"] == "error" and s, timeout=30)
        assert "stopped unexpectedly" in dead["message"]
        survivor = _state(c, ids[1])["epoch"]
        wait_for(lambda: _state(c, ids[1])["epoch"] > survivor, timeout=30)  # the other run goes on
        c.post(f"/api/runs/{ids[0]}/reset", headers={"X-CSRF-Token": tok})  # starts again on the new worker
        wait_for(lambda: _state(c, ids[0])["status"] == "paused", timeout=60)
        c.post(f"/api/runs/{ids[0]}/step", headers={"X-CSRF-Token": tok})
        wait_for(lambda: _state(c, ids[0])["epoch"] == 1, timeout=30)
        assert c.get("/healthz").json()["runs"] == 2
    assert all(not w.is_alive() for w in pool._workers)  # shutdown stops the workers


def test_runs_on_one_worker_share_it_fairly(app, client):
    tok = csrf(client)
    ids = [client.post("/api/runs", json={"config": {"layers": [2]}}, headers={"X-CSRF-Token": tok}).json()["run_id"]
           for _ in range(3)]
    for i in ids:
        client.post(f"/api/runs/{i}/play", headers={"X-CSRF-Token": tok})
    wait_for(lambda: all(_state(client, i)["epoch"] >= 10 for i in ids), timeout=30)
    for i in ids:
        client.post(f"/api/runs/{i}/pause", headers={"X-CSRF-Token": tok})
    wait_for(lambda: all(_state(client, i)["status"] == "paused" for i in ids))
    epochs = [_state(client, i)["epoch"] for i in ids]
    assert max(epochs) - min(epochs) <= 0.5 * max(epochs) + 5, epochs


def test_pool_limits_and_idle_runs(app, client):
    pool = app.state.pool
    pool.max_runs = 2
    tok = csrf(client)
    for _ in range(2):
        assert client.post("/api/runs", json={"config": {}}, headers={"X-CSRF-Token": tok}).status_code == 201
    r = client.post("/api/runs", json={"config": {}}, headers={"X-CSRF-Token": tok})
    assert r.status_code == 503  # the server is full (this browser's own limit, 4, is not reached)
    pool.max_runs = 200
    ids = list(pool.runs)
    for info in pool.runs.values():
        info.last_seen -= 10_000
    assert sorted(pool.expire(600)) == sorted(ids)
    assert pool.runs == {}


def test_pool_full_is_503(app, client):
    app.state.pool.max_runs = 0
    r = client.post("/api/runs", json={"config": {}}, headers={"X-CSRF-Token": csrf(client)})
    assert r.status_code == 503 and "limit" in r.json()["error"] and r.headers["retry-after"] == "60"


def test_pool_rejects_unknown_mode():
    from nabla.playground.training import TrainingPool

    with pytest.raises(ValueError, match="mode must be 'process' or 'thread'"):
        TrainingPool(mode="fiber")
