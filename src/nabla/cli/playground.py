"""``nabla playground``: start the playground web app."""

from __future__ import annotations

import argparse
import sys

from .common import positive_int


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("playground", help="start the playground web app",
                              description="Serve the playground (train small models in the browser, share runs).")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=positive_int, default=8000, help="TCP port to listen on (default 8000)")
    p.add_argument("--db", default=None, metavar="URL", help="database URL (default: SQLite in the user data folder)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        from ..playground import serve
    except ImportError as err:
        print(f"nabla playground: needs the web app's dependencies ({err}); pip install 'nabla[playground]'",
              file=sys.stderr)
        return 1
    serve(host=args.host, port=args.port, db=args.db)
    return 0
