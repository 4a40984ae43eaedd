"""The ``nabla`` command: train, evaluate and use models from the zoo on named data sets.

    nabla train mlp --dataset digits                 # progress bar, then runs/mlp-digits/{checkpoint,metrics,curves}
    nabla train mlp --dataset mnist --data-dir DIR --split test --holdout 2000
    nabla train --resume --out runs/mlp-digits       # carry on where the run stopped, with its own settings
    nabla evaluate runs/mlp-digits/checkpoint.safetensors
    nabla predict runs/mlp-digits/checkpoint.safetensors samples.npy
    nabla models | nabla datasets | nabla playground

Each command lives in its own module of this package (see ``parser.COMMANDS``).
Exit codes: 0 success, 1 failure while running (missing data, a broken file), 2 bad usage or input,
130 interrupted. Errors are one line on stderr (``NABLA_TRACEBACK=1`` shows the traceback of an
unexpected one).
``python -m nabla`` is the same command.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from .common import UsageError
from .parser import build_parser

__all__ = ["main", "build_parser", "UsageError"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except BrokenPipeError:  # `nabla models | head`: the reader left; not an error
        sys.stderr.close()
        return 0
    except UsageError as err:
        print(f"nabla {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # outside training (which says how to resume): just stop
        print(f"\nnabla {args.command}: interrupted", file=sys.stderr)
        return 130
    except (FileNotFoundError, ValueError, ImportError, OSError) as err:
        print(f"nabla {args.command}: error: {err}", file=sys.stderr)
        return 1
    except Exception as err:  # a bug or an unforeseen failure: one line, the traceback on request
        if os.environ.get("NABLA_TRACEBACK"):
            raise
        print(f"nabla {args.command}: error: {type(err).__name__}: {err} (unexpected; run with NABLA_TRACEBACK=1 "
              "for the traceback)", file=sys.stderr)
        return 1
