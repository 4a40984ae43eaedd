"""``nabla.backends``: PyTorch's ``torch.backends`` switches, so scripts that set them run unchanged.

nabla's GPU arithmetic is CuPy's (cuBLAS GEMMs; convolutions are lowered to GEMMs), not cuDNN, and it
has no Apple-GPU backend. So ``cudnn.benchmark``, ``cudnn.deterministic`` and the TF32 switches are
accepted and stored but change nothing; ``cudnn.is_available()`` and ``mps.is_available()`` say False.
"""

from . import cuda, cudnn, mps

__all__ = ["cuda", "cudnn", "mps"]
