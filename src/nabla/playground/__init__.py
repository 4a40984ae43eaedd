"""nabla playground: train small networks live in the browser, with user accounts.

``nabla playground`` (or :func:`serve`) starts the web server; :func:`create_app` builds the ASGI app
(tests drive it directly). The web parts need the ``playground`` extra (``pip install nabla[playground]``)
and are imported on first use, so ``nabla.playground.datasets`` (which the exported training scripts
import) works with nabla alone.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "serve"]


def create_app(db_url: str | None = None, **options: Any):
    """The playground's Starlette app; see :func:`nabla.playground.app.create_app` for the options."""
    from .app import create_app as _create_app

    return _create_app(db_url, **options)


def serve(host: str = "127.0.0.1", port: int = 8000, db: str | None = None) -> None:
    """Serve the playground on ``host:port`` until interrupted (blocking; uvicorn).

    ``db``: ``postgresql://...``, ``sqlite:///path`` or a file path; None: SQLite in the user's data folder.
    """
    try:
        from .app import serve as _serve
    except ImportError as exc:
        raise SystemExit(f"nabla playground needs its extra dependencies ({exc.name} is missing): "
                         "pip install 'nabla[playground]'") from None
    _serve(host, port, db)
