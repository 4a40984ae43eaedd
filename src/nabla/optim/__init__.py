"""nabla.optim: optimizers, learning-rate schedules, weight constraints, gradient clipping.

``opt = nabla.optim.Adam(model.parameters(), lr=1e-3)``; per training step ``opt.zero_grad()``,
``loss.backward()``, ``opt.step()``. Names and update rules are PyTorch's (``torch.optim``), and
``state_dict()`` has PyTorch's layout.
"""

from ..nn.utils import clip_grad_norm_, clip_grad_value_, l1_penalty  # their home is nn.utils, as in PyTorch
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .constraints import Constraint, MaxNorm, NonNeg, UnitNorm, apply_constraint
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "Optimizer", "SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "Adamax", "NAdam", "LBFGS", "lr_scheduler",
    "Constraint", "MaxNorm", "UnitNorm", "NonNeg", "apply_constraint",
    "clip_grad_norm_", "clip_grad_value_", "l1_penalty",
]
