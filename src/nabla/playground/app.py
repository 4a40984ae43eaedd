"""The playground's ASGI app (Starlette): middleware, routes, the training pool's lifetime; and ``serve``.

Middleware, outermost first: security headers (and ``Cache-Control: no-store`` on everything
private), NUL characters in URLs (400), the body-size limit (413), sessions (a signed cookie; a
database row only once someone signs in). Quotas and limits: limits.py; serving: server.py.
Routes: routes_auth.py (pages, login, tokens) and routes_api.py (uploads, runs, experiments).
Errors from routes are JSON ``{"error": ..., "detail": [...]}``; an
unexpected exception is logged and answered with 500, and the server goes on serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import html
import logging
import threading
import time
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import routes_api, routes_auth
from .auth import Authenticator, LocalStrategy, LoginRateLimiter, Passwords, SessionMiddleware, TokenStrategy
from .auth.passwords import HashGate
from .datasets import MAX_UPLOAD_BYTES
from .limits import Limits
from .pages import STATIC_DIR
from .routes_auth import _SignupGuard
from .store import Store
from .training import TrainingPool
from .web import BodyLimitMiddleware, HTTPError, NulGuardMiddleware, SecurityHeadersMiddleware

__all__ = ["create_app", "serve"]

log = logging.getLogger("nabla.playground")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPError)
    return exc.response()


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("error in %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"error": "internal server error; the server keeps running"}, status_code=500)


async def _healthz(request: Request) -> Response:
    return JSONResponse({"ok": True, "runs": len(request.app.state.pool.runs)})


def create_app(db_url: str | None = None, *, store: Store | None = None, workers: int | None = None,
               worker_mode: str = "process", frame_interval: float = 0.1, max_runs: int | None = None,
               max_runs_per_client: int | None = None, run_idle_timeout: float | None = None,
               secret_key: str | None = None, secure_cookies: bool | None = None, fast_password_hashing: bool = False,
               rate_limiter: LoginRateLimiter | None = None, sse_keepalive: float = 15.0,
               limits: Limits | None = None) -> Starlette:
    """The playground app.

    Args:
        db_url: ``sqlite:///file``, ``postgresql://...`` or a file path; None: SQLite in the user's data folder.
        store: an open :class:`Store` to use instead of ``db_url`` (tests share one).
        workers, worker_mode: size and kind (``"process"`` or ``"thread"``) of the training pool.
        frame_interval: seconds between frames of a playing run.
        limits: every quota (runs, hashing, sign-ups, uploads, tokens...): see :class:`Limits`.
        max_runs / max_runs_per_client / run_idle_timeout: shortcuts for the same fields of ``limits``.
        secret_key: signs session cookies; None: a random key kept in the database.
        secure_cookies: force the cookie's ``Secure`` flag on/off (None: on for HTTPS requests).
        fast_password_hashing: cheap argon2 parameters (tests only).
        rate_limiter: the failed-login limiter (tests pass one with a fake clock).
    """
    limits = limits or Limits()
    shortcuts = {"max_runs": max_runs, "runs_per_client": max_runs_per_client, "run_idle": run_idle_timeout}
    limits = dataclasses.replace(limits, **{k: v for k, v in shortcuts.items() if v is not None})
    store = store or Store(db_url)
    passwords = Passwords(fast=fast_password_hashing)
    hashing = HashGate(limits.hash_slots, limits.hash_queue, limits.hash_wait, limits.hash_reserved_for_login)
    limiter = rate_limiter or LoginRateLimiter()
    auth = Authenticator(store)
    auth.use(LocalStrategy(store, passwords, limiter, hashing)).use(TokenStrategy(store))
    pool = TrainingPool(workers=workers, mode=worker_mode, frame_interval=frame_interval, max_runs=limits.max_runs,
                        max_pending=limits.max_pending)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        pool.start()
        store.delete_expired(limits.upload_unreferenced_ttl)
        task = asyncio.create_task(_housekeeping(pool, store, limits))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await asyncio.get_running_loop().run_in_executor(None, pool.close)

    middleware = [
        Middleware(SecurityHeadersMiddleware),
        Middleware(NulGuardMiddleware),
        Middleware(BodyLimitMiddleware, limit=64 * 1024, limits={"/api/uploads": MAX_UPLOAD_BYTES + 1024},
                   timeout=limits.body_timeout),
        Middleware(SessionMiddleware, store=store, secret=secret_key or store.secret(), secure=secure_cookies,
                   skip_prefixes=("/static/", "/labs", "/healthz")),
    ]
    routes = [*routes_auth.routes, *routes_api.routes, Route("/healthz", _healthz),
              Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
              Mount("/labs", app=LabsSite(), name="labs")]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                    exception_handlers={HTTPError: _http_error, Exception: _server_error})
    app.state.store = store
    app.state.auth = auth
    app.state.passwords = passwords
    app.state.hashing = hashing
    app.state.limiter = limiter
    app.state.limits = limits
    app.state.signups = _SignupGuard(limits.registrations_in_flight_per_address,
                                     limits.registrations_per_hour_per_address)
    app.state.pool = pool
    app.state.sse_keepalive = sse_keepalive
    return app


async def _housekeeping(pool: TrainingPool, store: Store, limits: Limits) -> None:
    """Every ``housekeeping_interval`` close runs nobody uses (see :meth:`TrainingPool.expire`); about
    every hour drop expired sessions and uploads no saved experiment refers to."""
    last_clean = time.monotonic()
    while True:
        await asyncio.sleep(limits.housekeeping_interval)
        pool.expire(limits.run_idle, max_age=limits.run_max_age, command_idle=limits.run_command_idle)
        if time.monotonic() - last_clean > 3600:
            last_clean = time.monotonic()
            try:
                await asyncio.get_running_loop().run_in_executor(None, store.delete_expired,
                                                                 limits.upload_unreferenced_ttl)
            except Exception:  # the database may be briefly away; try again next hour
                log.exception("cleaning expired sessions failed")


class LabsSite:
    """``/labs``: the labs report site (``nabla.labs.report.default_site()``), served as static files.

    Mounted lazily: the folder is found (and built, if needed) at the first request, in a thread, so
    the server starts at once and works without the labs. While ``nabla.labs`` cannot be imported
    (or building fails) ``/labs`` answers a 404 page that says so, and tries again on the next request.
    """

    def __init__(self) -> None:
        self._files: StaticFiles | None = None
        self._lock = threading.Lock()

    def _load(self) -> StaticFiles | str:
        with self._lock:
            if self._files is not None:
                return self._files
            try:
                from nabla.labs.report import default_site
            except ImportError as exc:
                return f"the labs site is not built: nabla.labs is not available ({exc})"
            try:
                folder = default_site()
            except Exception as exc:
                log.exception("building the labs site failed")
                return f"the labs site is not built: building it failed ({type(exc).__name__}: {exc})"
            self._files = StaticFiles(directory=str(folder), html=True)
            return self._files

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        files = self._files or await run_in_threadpool(self._load)
        if isinstance(files, str):
            page = HTMLResponse(f"<!doctype html><title>nabla labs</title><h1>Not found</h1><p>{html.escape(files)}."
                                "</p>", status_code=404)
            await page(scope, receive, send)
            return
        await files(scope, receive, send)


def serve(host: str = "127.0.0.1", port: int = 8000, db: str | None = None, **options: Any) -> None:
    """Run the playground until interrupted (blocking): ``nabla playground [--host] [--port] [--db]``.

    See :func:`nabla.playground.server.serve` (the options, the errors it raises before serving).
    """
    from .server import serve as _serve

    _serve(host, port, db, **options)
