"""``nabla datasets``: list the named data sets."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("datasets", help="list the data sets",
                              description="List the data sets 'nabla train --dataset' accepts, with the shape of "
                              "a sample, the number of classes and where the files come from.")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data.datasets import DATASETS

    width = max(map(len, DATASETS))
    for name in sorted(DATASETS):
        s = DATASETS[name]
        kind = f"{s.num_classes} classes" if s.num_classes else "regression"
        print(f"{name:<{width}}  {'x'.join(map(str, s.input_shape)):<7} {kind:<11} {s.description}; needs: {s.source}")
    return 0
