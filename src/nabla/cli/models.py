"""``nabla models [NAME]``: list the model zoo, or show one model's arguments."""

from __future__ import annotations

import argparse

from .common import UsageError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("models", help="list the model zoo, or show a model's arguments",
                              description="List the models 'nabla train' can build; with NAME, show that model's "
                              "arguments (what 'nabla train NAME -a KEY=VALUE' accepts), their types and defaults.")
    p.add_argument("name", metavar="NAME", nargs="?", default=None, help="a model name: show its arguments")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..models import describe_model, list_models

    names = list_models()
    if args.name is None:
        width = max(map(len, names))
        for name in names:
            print(f"{name:<{width}}  {describe_model(name)}")
        return 0
    if args.name not in names:
        raise UsageError(f"unknown model {args.name!r}; valid names: {', '.join(names)}")
    from .model_args import describe_arguments

    rows = describe_arguments(args.name)
    print(f"{args.name}: {describe_model(args.name)}")
    print(f"arguments (nabla train {args.name} --dataset NAME -a KEY=VALUE ...):")
    head = ("argument", "type", "default")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(2)]
    print(f"  {head[0]:<{widths[0]}}  {head[1]:<{widths[1]}}  {head[2]}")
    for name, kind, default in rows:
        print(f"  {name:<{widths[0]}}  {kind:<{widths[1]}}  {default}")
    return 0
