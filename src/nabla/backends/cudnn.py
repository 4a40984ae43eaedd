"""``torch.backends.cudnn`` flags: accepted and stored, no effect (nabla does not call cuDNN).

``benchmark`` would let cuDNN time algorithms, ``deterministic`` pick only reproducible ones,
``allow_tf32`` use TF32 tensor cores: none applies to nabla's GEMM-lowered convolutions.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    """False: nabla's convolutions are GEMMs in CuPy, not cuDNN calls."""
    return False


def version() -> None:
    """None: no cuDNN is used."""
    return None


@contextlib.contextmanager
def flags(enabled: bool = False, benchmark: bool = False, deterministic: bool = False,
          allow_tf32: bool = True) -> Iterator[None]:
    """Set the flags inside a ``with`` block and restore them after (they remain no-ops)."""
    g = globals()
    saved = {k: g[k] for k in ("enabled", "benchmark", "deterministic", "allow_tf32")}
    g.update(enabled=enabled, benchmark=benchmark, deterministic=deterministic, allow_tf32=allow_tf32)
    try:
        yield
    finally:
        g.update(saved)
