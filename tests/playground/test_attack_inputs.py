"""Attacks through input and storage (issue 19 items 8 and 10), on SQLite and on PostgreSQL."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from .conftest import PASSWORD, csrf, login, register

CSV = "x1,x2,label\n" + "".join(f"{i % 7 / 7:.3f},{i % 5 / 5:.3f},{i % 2}\n" for i in range(40))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_app(request, tmp_path, clock):
    """The app on SQLite, and again on a PostgreSQL schema (skipped without a server)."""
    from nabla.playground import create_app
    from nabla.playground.auth import LoginRateLimiter
    from nabla.playground.limits import Limits

    url = f"sqlite:///{tmp_path / 'db.sqlite3'}" if request.param == "sqlite" else \
        request.getfixturevalue("postgres_schema_url")
    app = create_app(url, worker_mode="thread", workers=1, fast_password_hashing=True,
                     rate_limiter=LoginRateLimiter(clock=clock),
                     limits=Limits(experiments_per_user=3, uploads_per_day_anonymous=5, uploads_per_day_user=8))
    yield app
    app.state.store.close()


@pytest.fixture
def db_client(db_app):
    with TestClient(db_app) as c:
        yield c


def _rows(app, table: str) -> int:
    with app.state.store.engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


# ------------------------------------------------------------------------------------ item 8


def test_cookieless_requests_create_no_session_rows(db_app, db_client):
    """500 cookie-less ``GET /`` created 500 session rows; sessions are now stored only once someone
    signs in (an anonymous session is its signed cookie alone)."""
    for _ in range(500):
        r = TestClient(db_app).get("/")
        assert r.status_code == 200 and "nabla_session=" in r.headers["set-cookie"]
    assert _rows(db_app, "sessions") == 0
    # the anonymous cookie still works: the CSRF token it implies is accepted, and runs are its own
    tok = csrf(db_client)
    assert db_client.post("/api/runs", json={"config": {}}, headers={"X-CSRF-Token": tok}).status_code == 201
    assert _rows(db_app, "sessions") == 0
    register(db_client, "stored")
    assert _rows(db_app, "sessions") == 1
    assert db_client.post("/logout", json={}, headers={"X-CSRF-Token": csrf(db_client)}).status_code == 200
    assert _rows(db_app, "sessions") == 0


def test_upload_quotas_and_garbage_collection(db_app, db_client):
    """Anonymous uploads grew the database at 6.9 MB/s and uploads used by any experiment were kept
    forever. Now: a per-address daily quota (5 here), a larger per-account one (8 here), and
    uploads that no saved experiment refers to are deleted by the housekeeping."""
    anon = TestClient(db_app, client=("192.0.2.50", 1))
    tok = csrf(anon)
    codes = [anon.post("/api/uploads", content=CSV, headers={"X-CSRF-Token": tok, "Content-Type": "text/csv"})
             .status_code for _ in range(12)]
    assert codes == [201] * 5 + [429] * 7
    assert _rows(db_app, "uploads") == 5
    register(db_client, "uploader")
    tok = csrf(db_client)
    ids = [db_client.post("/api/uploads", content=CSV, headers={"X-CSRF-Token": tok}).json()["upload_id"]
           for _ in range(2)]
    cfg = {"dataset": "upload", "upload_id": ids[0], "problem": "classification"}
    keep = db_client.post("/api/experiments", json={"name": "keeps", "config": cfg}, headers={"X-CSRF-Token": tok})
    assert keep.status_code == 201, keep.text
    cfg2 = {**cfg, "upload_id": ids[1]}
    gone = db_client.post("/api/experiments", json={"name": "deleted", "config": cfg2}, headers={"X-CSRF-Token": tok})
    assert db_client.delete(f"/api/experiments/{gone.json()['id']}", headers={"X-CSRF-Token": tok}).status_code == 204
    db_app.state.store.delete_expired(upload_age=-1)  # the housekeeping, with every upload counted as old
    assert _rows(db_app, "uploads") == 1
    assert db_app.state.store.get_upload(ids[0]) is not None and db_app.state.store.get_upload(ids[1]) is None


def test_experiments_per_user_are_capped(db_app, db_client):
    register(db_client, "saver")
    tok = csrf(db_client)
    codes = [db_client.post("/api/experiments", json={"name": f"e{i}", "config": {}}, headers={"X-CSRF-Token": tok})
             .status_code for i in range(5)]
    assert codes == [201, 201, 201, 429, 429]
    assert _rows(db_app, "experiments") == 3


# ------------------------------------------------------------------------------------ item 10


DEEP = "[" * 20000 + "]" * 20000


@pytest.mark.parametrize("path", ["/login", "/register", "/api/runs", "/api/experiments", "/api/tokens"])
def test_deeply_nested_json_is_400(db_client, path):
    """Deeply nested JSON raised RecursionError (500) on these routes."""
    register(db_client, "deep")
    r = db_client.post(path, content=DEEP, headers={"X-CSRF-Token": csrf(db_client),
                                                     "Content-Type": "application/json"})
    assert r.status_code == 400 and "nested more than 32 levels" in r.json()["error"], r.text
    ok = json.dumps({"config": {"layers": [4, 2]}, "x": [[[[1]]]]})  # moderate nesting still parses
    r = db_client.post("/api/runs", content=ok, headers={"X-CSRF-Token": csrf(db_client),
                                                          "Content-Type": "application/json"})
    assert r.status_code == 422  # ... and is judged on its content ("x" is not a field)


def test_csv_with_a_huge_cell_is_400(db_client):
    tok = csrf(db_client)
    huge = "x1,x2,label\n" + "1" * 200_000 + ",0,1\n" + CSV.split("\n", 1)[1]
    r = db_client.post("/api/uploads", content=huge, headers={"X-CSRF-Token": tok})
    assert r.status_code == 400 and "characters" in r.json()["error"]
    r = db_client.post("/api/uploads", content='x1,x2,label\n"1,2,3\n' + "1,2,3\n" * 20, headers={"X-CSRF-Token": tok})
    assert r.status_code in (400, 422) and r.status_code != 500


def test_nul_bytes_are_400_on_every_database(db_app, db_client):
    """On PostgreSQL any NUL in a name or username, or ``%00`` in an experiment id, was a 500."""
    tok = csrf(db_client)
    r = db_client.post("/register", json={"username": "nul\x00name", "password": PASSWORD},
                       headers={"X-CSRF-Token": tok})
    assert r.status_code == 400 and "NUL" in r.json()["error"]
    r = db_client.post("/register", data={"username": "nul\x00name", "password": PASSWORD, "csrf_token": tok})
    assert r.status_code == 400
    r = login(db_client, "nul\x00name")
    assert r.status_code == 400
    register(db_client, "clean")
    tok = csrf(db_client)
    for path, body in [("/api/experiments", {"name": "bad\x00name", "config": {}}),
                       ("/api/tokens", {"name": "bad\x00token"}),
                       ("/api/runs", {"config": {"dataset": "circle\x00"}})]:
        r = db_client.post(path, json=body, headers={"X-CSRF-Token": tok})
        assert r.status_code == 400 and "NUL" in r.json()["error"], (path, r.text)
    for path in ("/api/experiments/%00", "/api/experiments/a%00b/export/code.py", "/api/runs/%00",
                 "/?experiment=%00"):
        r = db_client.get(path)
        assert r.status_code == 400, (path, r.text)
    exp = db_client.post("/api/experiments", json={"name": "fine", "config": {}}, headers={"X-CSRF-Token": tok})
    r = db_client.patch(f"/api/experiments/{exp.json()['id']}", json={"name": "x\x00"}, headers={"X-CSRF-Token": tok})
    assert r.status_code == 400
    assert db_client.get("/healthz").status_code == 200
