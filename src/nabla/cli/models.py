"""``nabla models``: list the model zoo."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("models", help="list the model zoo",
                              description="List the models 'nabla train' can build.")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..models import describe_model, list_models

    names = list_models()
    width = max(map(len, names))
    for name in names:
        print(f"{name:<{width}}  {describe_model(name)}")
    return 0
