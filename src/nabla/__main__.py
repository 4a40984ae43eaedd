"""``python -m nabla ...``: the same as the ``nabla`` command."""

import sys

from .cli import main

sys.exit(main())
