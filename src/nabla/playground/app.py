"""The playground's ASGI app (Starlette): middleware, routes, the training pool's lifetime; and ``serve``.

Middleware, outermost first: security headers, the body-size limit (413), sessions (a signed
cookie, data in the database). Routes: routes_auth.py (pages, login, tokens) and routes_api.py
(uploads, runs, experiments). Errors from routes are JSON ``{"error": ..., "detail": [...]}``; an
unexpected exception is logged and answered with 500, and the server goes on serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import routes_api, routes_auth
from .auth import Authenticator, LocalStrategy, LoginRateLimiter, Passwords, SessionMiddleware, TokenStrategy
from .datasets import MAX_UPLOAD_BYTES
from .pages import STATIC_DIR
from .store import Store
from .training import TrainingPool
from .web import BodyLimitMiddleware, HTTPError, SecurityHeadersMiddleware

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
               worker_mode: str = "process", frame_interval: float = 0.1, max_runs: int = 200,
               max_runs_per_client: int = 4, run_idle_timeout: float = 600.0, secret_key: str | None = None,
               secure_cookies: bool | None = None, fast_password_hashing: bool = False,
               rate_limiter: LoginRateLimiter | None = None, sse_keepalive: float = 15.0) -> Starlette:
    """The playground app.

    Args:
        db_url: ``sqlite:///file``, ``postgresql://...`` or a file path; None: SQLite in the user's data folder.
        store: an open :class:`Store` to use instead of ``db_url`` (tests share one).
        workers, worker_mode: size and kind (``"process"`` or ``"thread"``) of the training pool.
        frame_interval: seconds between frames of a playing run.
        max_runs / max_runs_per_client: live runs on the server / per browser (the oldest make room).
        run_idle_timeout: a run nobody watches or touches for this long is closed.
        secret_key: signs session cookies; None: a random key kept in the database.
        secure_cookies: force the cookie's ``Secure`` flag on/off (None: on for HTTPS requests).
        fast_password_hashing: cheap argon2 parameters (tests only).
        rate_limiter: the failed-login limiter (tests pass one with a fake clock).
    """
    store = store or Store(db_url)
    passwords = Passwords(fast=fast_password_hashing)
    limiter = rate_limiter or LoginRateLimiter()
    auth = Authenticator(store)
    auth.use(LocalStrategy(store, passwords, limiter)).use(TokenStrategy(store))
    pool = TrainingPool(workers=workers, mode=worker_mode, frame_interval=frame_interval, max_runs=max_runs)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        pool.start()
        store.delete_expired()
        task = asyncio.create_task(_housekeeping(pool, store, run_idle_timeout))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await asyncio.get_running_loop().run_in_executor(None, pool.close)

    middleware = [
        Middleware(SecurityHeadersMiddleware),
        Middleware(BodyLimitMiddleware, limit=64 * 1024, limits={"/api/uploads": MAX_UPLOAD_BYTES + 1024}),
        Middleware(SessionMiddleware, store=store, secret=secret_key or store.secret(), secure=secure_cookies),
    ]
    routes = [*routes_auth.routes, *routes_api.routes, Route("/healthz", _healthz),
              Mount("/static", StaticFiles(directory=STATIC_DIR), name="static")]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                    exception_handlers={HTTPError: _http_error, Exception: _server_error})
    app.state.store = store
    app.state.auth = auth
    app.state.passwords = passwords
    app.state.limiter = limiter
    app.state.pool = pool
    app.state.max_runs_per_client = max_runs_per_client
    app.state.sse_keepalive = sse_keepalive
    return app


async def _housekeeping(pool: TrainingPool, store: Store, idle: float) -> None:
    """Every half minute close unwatched runs; every hour drop expired sessions and old uploads."""
    ticks = 0
    while True:
        await asyncio.sleep(30)
        ticks += 1
        pool.expire(idle)
        if ticks % 120 == 0:
            try:
                await asyncio.get_running_loop().run_in_executor(None, store.delete_expired)
            except Exception:  # the database may be briefly away; try again next hour
                log.exception("cleaning expired sessions failed")


def serve(host: str = "127.0.0.1", port: int = 8000, db: str | None = None, **options: Any) -> None:
    """Run the playground until interrupted (blocking): ``nabla playground [--host] [--port] [--db]``.

    ``db``: a database URL or SQLite file path; None keeps the data in SQLite under the user's data
    folder. Other keyword arguments go to :func:`create_app`.
    """
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = create_app(db, **options)
    shown = f"[{host}]" if ":" in host else host
    print(f"nabla playground: http://{shown}:{port}/  (database: {app.state.store._safe_url()})", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
