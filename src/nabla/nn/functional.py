"""``nabla.nn.functional`` is ``nabla.functional``: ``import nabla.nn.functional as F`` works as in PyTorch."""

from ..functional import *  # noqa: F403
from ..functional import __all__  # noqa: F401
