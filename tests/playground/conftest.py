"""Fixtures for the playground tests: an app on a fresh SQLite file with thread workers, test clients
(one per "browser"), a live uvicorn server for streams and the browser, and PostgreSQL when available.

PostgreSQL: set ``NABLA_TEST_POSTGRES_URL`` (``.ci/run`` starts Debian's server and exports it); each
test gets its own schema, so parallel test workers never meet.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import socket
import threading
import time

import pytest

NEEDED = ("starlette", "uvicorn", "sqlalchemy", "argon2", "pydantic", "multipart", "platformdirs", "httpx",
          "zxcvbn")
MISSING = [m for m in NEEDED if importlib.util.find_spec(m) is None]
if MISSING:  # test_extra_installed.py alone runs, and says why the rest did not
    collect_ignore_glob = ["test_[!e]*.py", "test_e2e.py"]

PASSWORD = "correct horse battery"


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(tmp_path, clock):
    from nabla.playground import create_app
    from nabla.playground.auth import LoginRateLimiter

    return create_app(f"sqlite:///{tmp_path / 'playground.sqlite3'}", worker_mode="thread", workers=1,
                      fast_password_hashing=True, frame_interval=0.02, sse_keepalive=0.5,
                      rate_limiter=LoginRateLimiter(free_per_pair=5, free_per_address=20, base_delay=1.0,
                                                    max_delay=900.0, window=900.0, clock=clock))


@pytest.fixture
def client(app):
    """The first browser; it runs the app's startup and shutdown."""
    from starlette.testclient import TestClient

    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def browser(app, client):
    """Make more browsers (separate cookie jars) on the same running app."""
    from starlette.testclient import TestClient

    def make() -> TestClient:
        return TestClient(app, base_url="http://testserver")
    return make


def csrf(c) -> str:
    return c.get("/api/session").json()["csrf_token"]


def register(c, username: str, password: str = PASSWORD):
    r = c.post("/register", json={"username": username, "password": password}, headers={"X-CSRF-Token": csrf(c)})
    assert r.status_code == 201, r.text
    return r.json()


def login(c, username: str, password: str = PASSWORD):
    return c.post("/login", json={"username": username, "password": password}, headers={"X-CSRF-Token": csrf(c)})


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def wait_until_serving(base: str, proc, timeout: float = 60.0) -> None:
    """Poll ``base``/healthz until the server started as ``proc`` (a subprocess) answers 200; if the
    process exits first, fail with its output."""
    import httpx

    def up() -> bool:
        try:
            return httpx.get(base + "/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            assert proc.poll() is None, proc.communicate()
            return False

    wait_for(up, timeout=timeout, interval=0.2)


def postgres_url() -> str | None:
    return os.environ.get("NABLA_TEST_POSTGRES_URL") or None


@pytest.fixture
def postgres_schema_url():
    """A PostgreSQL URL whose search_path is a fresh schema (dropped afterwards); skips without a server."""
    url = postgres_url()
    if url is None:
        pytest.skip("no PostgreSQL server: set NABLA_TEST_POSTGRES_URL (.ci/run starts one when apt is available)")
    import sqlalchemy as sa

    from nabla.playground.store import normalize_url

    schema = "t_" + secrets.token_hex(6)
    try:
        engine = sa.create_engine(normalize_url(url))
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:  # server down, wrong password, ...
        pytest.skip(f"PostgreSQL at NABLA_TEST_POSTGRES_URL is not reachable: {type(exc).__name__}: {exc}")
    sep = "&" if "?" in url else "?"
    yield f"{url}{sep}options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """uvicorn serving an app in a background thread, on a free loopback port. ``make_config(app, host,
    port)`` gives the ``uvicorn.Config`` (default: a plain one, quiet, with lifespan)."""

    def __init__(self, app, make_config=None) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        if make_config is None:
            config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on",
                                    timeout_graceful_shutdown=1)
        else:
            config = make_config(app, "127.0.0.1", self.port)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        wait_for(lambda: self.server.started, timeout=20)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(app):
    with LiveServer(app) as server:
        yield server
