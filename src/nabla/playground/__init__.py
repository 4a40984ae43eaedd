"""nabla playground: train small networks live in the browser, with user accounts.

``nabla playground`` (or :func:`serve`) starts the web server; :func:`create_app` builds the ASGI app
(tests drive it directly). The web parts need the ``playground`` extra (``pip install nabla[playground]``)
and are imported on first use, so ``nabla.playground.datasets`` (which the exported training scripts
import) works with nabla alone.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PlaygroundStartError", "PlaygroundUsageError", "create_app", "serve"]


def create_app(db_url: str | None = None, **options: Any):
    """The playground's Starlette app; see :func:`nabla.playground.app.create_app` for the options."""
    from .app import create_app as _create_app

    return _create_app(db_url, **options)


def serve(host: str = "127.0.0.1", port: int = 8000, db: str | None = None, **options: Any) -> None:
    """Serve the playground on ``host:port`` until interrupted (blocking; uvicorn).

    ``db``: ``postgresql://...``, ``sqlite:///path`` or a file path; None: SQLite in the user's data folder.
    Options: ``proxy_headers`` and ``forwarded_allow_ips`` (trust ``X-Forwarded-For`` from a reverse
    proxy at those addresses), ``max_connections``, ``header_timeout``, and :func:`create_app`'s.
    Raises :class:`PlaygroundUsageError` (bad argument) or :class:`PlaygroundStartError` (cannot
    start: database unreachable, port in use) before printing the "serving at" line.
    """
    try:
        from .server import serve as _serve
    except ImportError as exc:
        raise SystemExit(f"nabla playground needs its extra dependencies ({exc.name} is missing): "
                         "pip install 'nabla[playground]'") from None
    _serve(host, port, db, **options)


class PlaygroundUsageError(ValueError):
    """A bad argument to :func:`serve` (port, host, proxy options, database URL): the CLI exits 2."""


class PlaygroundStartError(RuntimeError):
    """The server cannot start (database unreachable, port already in use): the CLI exits 1."""
