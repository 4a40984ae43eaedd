"""``nabla playground``: start the playground web app.

Everything that can be wrong is found before the "serving at" line: a bad ``--port``/``--host``/
``--db`` or proxy option is one line and exit 2; a database that cannot be opened or a port in use
is one line and exit 1 (see :mod:`nabla.playground.server`).
"""

from __future__ import annotations

import argparse
import sys

from .common import UsageError


def port_number(text: str) -> int:
    """argparse type: a TCP port, 1 to 65535."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number (1 to 65535), got {text!r}") from None
    if not 1 <= v <= 65535:
        raise argparse.ArgumentTypeError(f"a TCP port is 1 to 65535, got {v}")
    return v


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "playground", help="start the playground web app",
        description="Serve the playground (train small networks in the browser, save and share experiments). "
                    "For a public deployment run it behind a TLS reverse proxy with PostgreSQL: see the README.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0: every interface)")
    p.add_argument("--port", type=port_number, default=8000, help="TCP port to listen on, 1-65535 (default 8000)")
    p.add_argument("--db", default=None, metavar="URL",
                   help="database: postgresql://user:password@host/dbname, sqlite:///path/to/file.sqlite3 or a file "
                        "path (default: SQLite in the user data folder)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="training worker processes (default: the number of cores, at most 8)")
    p.add_argument("--proxy-headers", action="store_true",
                   help="trust X-Forwarded-For/-Proto from the reverse proxy named by --forwarded-allow-ips "
                        "(off by default: client addresses drive the login and quota limits)")
    p.add_argument("--forwarded-allow-ips", default=None, metavar="IPS",
                   help="comma-separated addresses/networks of the reverse proxy (with --proxy-headers), "
                        "e.g. 127.0.0.1")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        from ..playground import PlaygroundStartError, PlaygroundUsageError, serve
    except ImportError as err:
        print(f"nabla playground: needs the web app's dependencies ({err}); pip install 'nabla[playground]'",
              file=sys.stderr)
        return 1
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    options = {} if args.workers is None else {"workers": args.workers}
    try:
        serve(host=args.host, port=args.port, db=args.db, proxy_headers=args.proxy_headers,
              forwarded_allow_ips=args.forwarded_allow_ips, **options)
    except PlaygroundUsageError as err:
        raise UsageError(str(err)) from None
    except PlaygroundStartError as err:
        print(f"nabla playground: error: {err}", file=sys.stderr)
        return 1
    return 0
