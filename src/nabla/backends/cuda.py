"""``torch.backends.cuda`` switches: ``matmul.allow_tf32`` and friends are stored, with no effect
(CuPy's GEMMs use the precision of their dtype)."""

from __future__ import annotations

from .. import backend


class _MatmulFlags:
    """``backends.cuda.matmul``: ``allow_tf32``, ``allow_fp16_reduced_precision_reduction``."""

    def __init__(self) -> None:
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True


matmul = _MatmulFlags()


def is_built() -> bool:
    """Whether CUDA support is present: CuPy imports and sees a GPU."""
    return backend.cuda_is_available()
