"""nabla: a deep-learning framework written from scratch, readable and fast.

Reverse-mode autograd over NumPy (CPU) and CuPy (GPU) arrays, with PyTorch's names.
"""

from .tensor import Tensor  # first: it pulls in ops and autograd in the order they need

from . import autograd, backend, ops
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .backend import (
    bool_, device, double, float16, float32, float64, get_default_dtype, half, int8, int16, int32, int64,
    long, manual_seed, set_default_dtype, uint8, Generator, default_generator, get_rng_state, set_rng_state,
)
from .backend import cuda_is_available
from .creation import (
    arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like, linspace, ones, ones_like,
    rand, rand_like, randint, randint_like, randn, randn_like, randperm, tensor, zeros, zeros_like,
)
from .ops import (
    abs, add, all, amax, amin, any, argmax, argmin, bmm, broadcast_to, cat, chunk, clamp, clone, concat,
    concatenate, cos, cross_entropy, div, dot, elu, eq, erf, exp, expand, flatten, flip, gather, ge,
    gelu, gt, index_select, isfinite, isnan, le, leaky_relu, log, log1p, log_softmax, logical_and,
    logical_not, logical_or, logsumexp, lt, masked_fill, matmul, max, maximum, mean, min, minimum, mm,
    mul, ne, neg, one_hot, pad, permute, pow, prod, relu, repeat, reshape, rsqrt, scatter_add, sigmoid,
    sign, sin, softmax, softplus, split, sqrt, squeeze, stack, std, sub, sum, swapaxes, tanh, transpose,
    unsqueeze, var, view, where,
)

from . import data, io, models, nn, optim, train  # noqa: E402
from .io import load, save  # noqa: E402
from .nn import summary  # noqa: E402

bool = bool_  # noqa: A001 - nabla.bool mirrors torch.bool
float = float32  # noqa: A001
clip = clamp
multiply = mul
subtract = sub
divide = true_divide = div

__version__ = "0.1.0"
