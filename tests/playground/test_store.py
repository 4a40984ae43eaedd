"""The store against SQLite and against a real PostgreSQL server (skipped with the reason when none runs)."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa

from nabla.playground.store import SCHEMA_VERSION, Store, StoreError, UserExists, normalize_url


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    return request.getfixturevalue("postgres_schema_url")


@pytest.fixture
def store(url):
    s = Store(url)
    yield s
    s.close()


def test_fresh_database_is_migrated_and_migrating_again_changes_nothing(store, url):
    assert store.schema_version() == SCHEMA_VERSION
    tables = set(sa.inspect(store.engine).get_table_names())
    assert {"schema_version", "users", "sessions", "api_tokens", "experiments", "uploads", "settings"} <= tables
    store.create_user("ann", "hash")
    again = Store(url)  # a second start on the same database
    assert again.schema_version() == SCHEMA_VERSION
    assert again.get_login("ann")[0].username == "ann"
    again.close()


def test_a_new_migration_is_applied_once_and_keeps_data(store):
    store.create_user("ben", "hash")
    calls = []

    def add_column(conn):
        calls.append(1)
        conn.execute(sa.text("ALTER TABLE users ADD COLUMN display_name VARCHAR(64)"))

    from nabla.playground.store import MIGRATIONS

    assert store.migrate([*MIGRATIONS, add_column]) == SCHEMA_VERSION + 1
    assert store.migrate([*MIGRATIONS, add_column]) == SCHEMA_VERSION + 1
    assert calls == [1]
    assert store.schema_version() == SCHEMA_VERSION + 1
    cols = {c["name"] for c in sa.inspect(store.engine).get_columns("users")}
    assert "display_name" in cols
    assert store.get_login("ben")[0].username == "ben"


def test_a_failing_migration_rolls_back_and_keeps_the_version(store):
    from nabla.playground.store import MIGRATIONS

    def broken(conn):
        conn.execute(sa.text("CREATE TABLE half_done (id INTEGER)"))
        raise RuntimeError("migration bug")

    with pytest.raises(RuntimeError, match="migration bug"):
        store.migrate([*MIGRATIONS, broken])
    assert store.schema_version() == SCHEMA_VERSION
    if store.dialect == "postgresql":  # transactional DDL: the half-made table is gone too
        assert "half_done" not in sa.inspect(store.engine).get_table_names()


def test_a_database_from_a_newer_version_is_refused(store, url):
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE schema_version SET version = 99"))
    with pytest.raises(StoreError, match="schema version 99, newer than"):
        Store(url)


def test_users(store):
    u = store.create_user("cat", "h1")
    assert store.get_user(u.id) == u
    with pytest.raises(UserExists):
        store.create_user("cat", "h2")
    assert store.get_login("cat") == (u, "h1")
    assert store.get_login("nobody") is None
    store.set_password_hash(u.id, "h3")
    assert store.get_login("cat")[1] == "h3"


def test_sessions_expire_and_are_deleted(store):
    u = store.create_user("dan", "h")
    store.save_session("a" * 64, {"csrf": "t", "user": u.id}, u.id, time.time() + 60)
    assert store.load_session("a" * 64) == ({"csrf": "t", "user": u.id}, u.id)
    store.save_session("a" * 64, {"csrf": "t2"}, None, time.time() + 60)  # update in place
    assert store.load_session("a" * 64) == ({"csrf": "t2"}, None)
    store.save_session("b" * 64, {}, None, time.time() - 1)
    assert store.load_session("b" * 64) is None  # expired
    store.delete_expired()
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM sessions")).scalar() == 1
    store.delete_session("a" * 64)
    assert store.load_session("a" * 64) is None


def test_tokens(store):
    u = store.create_user("eve", "h")
    other = store.create_user("fay", "h")
    t = store.create_token(u.id, "ci", "f" * 64, "nbl_abcd")
    assert store.user_for_token("f" * 64) == u
    assert store.list_tokens(u.id)[0]["last_used_at"] is not None
    assert store.list_tokens(other.id) == []
    assert not store.revoke_token(other.id, t["id"])  # not fay's token
    assert store.revoke_token(u.id, t["id"])
    assert store.user_for_token("f" * 64) is None
    assert store.list_tokens(u.id) == []


def test_experiments(store):
    u = store.create_user("gus", "h")
    e = store.create_experiment(u.id, "first", {"dataset": "xor"}, {"test_loss": 0.1}, 12, b"\x89PNG", b"w")
    assert e["config"] == {"dataset": "xor"} and e["metrics"] == {"test_loss": 0.1} and e["epoch"] == 12
    assert e["has_thumbnail"] and e["has_weights"] and "thumbnail" not in e
    full = store.get_experiment(e["id"], with_blobs=True)
    assert full["thumbnail"] == b"\x89PNG" and full["weights"] == b"w"
    store.create_experiment(u.id, "second", {}, None, 0, None, None)
    assert [x["name"] for x in store.list_experiments(u.id)] == ["second", "first"]
    store.update_experiment(e["id"], name="renamed", shared=True)
    got = store.get_experiment(e["id"])
    assert got["name"] == "renamed" and got["shared"] is True
    with pytest.raises(ValueError, match="only"):
        store.update_experiment(e["id"], owner_id=5)
    assert store.delete_experiment(e["id"]) and not store.delete_experiment(e["id"])
    assert store.get_experiment(e["id"]) is None


def test_uploads_are_pruned_unless_an_experiment_uses_them(store):
    user = store.create_user("uploader", "h")
    keep = store.create_upload({"x": [[0, 0]], "y": [0]}, 1, owner="anon:1.2.3.4")
    drop = store.create_upload({"x": [], "y": []}, 0, owner="anon:1.2.3.4")
    freed = store.create_upload({"x": [], "y": []}, 0)
    store.create_experiment(user.id, "uses keep", {"dataset": "upload", "upload_id": keep}, None, 0, None, None)
    gone = store.create_experiment(user.id, "uses freed", {"dataset": "upload", "upload_id": freed}, None, 0, None,
                                   None)
    store.delete_experiment(gone["id"])  # its upload is referenced no more
    assert store.count_uploads("anon:1.2.3.4", since=0) == 2
    store.delete_expired(upload_age=-1)  # everything counts as old
    assert store.get_upload(keep) == {"x": [[0, 0]], "y": [0]}
    assert store.get_upload(drop) is None and store.get_upload(freed) is None


def test_migration_2_keeps_accounts_that_differ_only_in_case(url):
    """A version-1 database may hold ``Admin`` and ``admin``: both keep logging in by their exact
    names after migration 2, other spellings find the older one, and no new case-variant can be made."""
    from nabla.playground.store import MIGRATIONS, T

    old = Store(url, migrate=False)
    old.migrate(MIGRATIONS[:1])
    with old.engine.begin() as conn:
        for name in ("Admin", "admin"):
            conn.execute(sa.text("INSERT INTO users (username, password_hash, created_at) VALUES (:u, 'h', 0)"),
                         {"u": name})
        uid = conn.execute(sa.text("SELECT id FROM users WHERE username = 'Admin'")).scalar_one()
        conn.execute(sa.text("INSERT INTO experiments (id, owner_id, name, config, epoch, shared, created_at, "
                             "updated_at) VALUES ('e1', :o, 'x', :c, 0, false, 0, 0)"),
                     {"o": uid, "c": json.dumps({"dataset": "upload", "upload_id": "u1"})})
    old.close()
    store = Store(url)
    assert store.schema_version() == 2
    assert store.get_login("Admin")[0].username == "Admin" and store.get_login("admin")[0].username == "admin"
    assert store.get_login("ADMIN")[0].username == "Admin"
    with pytest.raises(UserExists):
        store.create_user("aDmIn", "h")
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(T["experiments"].c.upload_id)).scalar_one() == "u1"
    store.close()


def test_secret_is_made_once(store, url):
    s = store.secret()
    assert len(s) == 64 and store.secret() == s
    other = Store(url)
    assert other.secret() == s
    other.close()


def test_urls():
    assert normalize_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalize_url("postgres://h/db") == "postgresql+psycopg://h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"
    assert normalize_url("/tmp/x.sqlite3") == "sqlite:////tmp/x.sqlite3"
    with pytest.raises(StoreError, match="unsupported database URL scheme 'mysql'"):
        normalize_url("mysql://h/db")


def test_default_url_is_in_the_user_data_folder(monkeypatch, tmp_path):
    from nabla.playground.store import default_db_url

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    url = default_db_url()
    assert url == f"sqlite:///{tmp_path}/nabla/playground.sqlite3"
    assert (tmp_path / "nabla").is_dir()


def test_the_app_runs_on_postgresql(postgres_schema_url):
    """The same flow as on SQLite: register, train, save, list — through the app, on PostgreSQL."""
    from starlette.testclient import TestClient

    from nabla.playground import create_app

    from .conftest import csrf, register, wait_for

    app = create_app(postgres_schema_url, worker_mode="thread", workers=1, fast_password_hashing=True)
    with TestClient(app) as c:
        register(c, "pgu")
        tok = csrf(c)
        run_id = c.post("/api/runs", json={"config": {"layers": [2]}}, headers={"X-CSRF-Token": tok}).json()["run_id"]
        c.post(f"/api/runs/{run_id}/step", headers={"X-CSRF-Token": tok})
        wait_for(lambda: c.get(f"/api/runs/{run_id}").json()["epoch"] == 1)
        r = c.post("/api/experiments", json={"name": "on pg", "run_id": run_id}, headers={"X-CSRF-Token": tok})
        assert r.status_code == 201
        assert c.get(r.json()["thumbnail"]).content.startswith(b"\x89PNG")
        assert [e["name"] for e in c.get("/api/experiments").json()["experiments"]] == ["on pg"]
    app.state.store.close()
