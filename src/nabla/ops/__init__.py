"""nabla's primitive ops, one family per file; each op's forward and backward sit side by side.

``elementwise``  arithmetic, math, activations, comparisons
``reduce``       sum, mean, max/min, var/std, logsumexp, prod, argmax
``linalg``       matmul
``shape``        reshape, permute, expand, cat/stack, split/chunk, pad, flip, repeat
``index``        getitem/setitem, gather, scatter_add, index_select, one_hot, in-place rules
``nn``           softmax, log_softmax, cross_entropy
``convert``      dtype casts, device moves, clone
``conv``         conv1d, conv2d, conv_transpose2d (lowered to GEMM)
``pool``         max_pool2d, avg_pool2d, adaptive_avg_pool2d
``upsample``     interpolate (nearest, bilinear): separable resampling matrices
``recurrent``    one RNN / LSTM / GRU layer direction over a whole sequence, fused (nn.RNN/LSTM/GRU use it)
"""

from .common import normalize_dim
from .conv import conv1d, conv2d, conv_transpose2d
from .convert import cast, clone, to_device
from .elementwise import (
    abs,
    add,
    clamp,
    cos,
    div,
    elu,
    eq,
    erf,
    exp,
    ge,
    gelu,
    gt,
    isfinite,
    isnan,
    le,
    leaky_relu,
    log,
    log1p,
    logical_and,
    logical_not,
    logical_or,
    lt,
    masked_fill,
    maximum,
    minimum,
    mul,
    ne,
    neg,
    pow,
    relu,
    rsqrt,
    sigmoid,
    sign,
    sin,
    softplus,
    sqrt,
    sub,
    tanh,
    where,
)
from .index import fill_, gather, getitem, index_select, inplace, one_hot, scatter_add, setitem
from .linalg import bmm, dot, matmul, mm
from .nn import cross_entropy, log_softmax, softmax
from .pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from .reduce import all, amax, amin, any, argmax, argmin, logsumexp, max, mean, min, prod, std, sum, var
from .shape import (
    Transpose,
    broadcast_to,
    cat,
    chunk,
    concat,
    concatenate,
    expand,
    flatten,
    flip,
    pad,
    permute,
    repeat,
    reshape,
    split,
    squeeze,
    stack,
    swapaxes,
    transpose,
    unsqueeze,
    view,
)
from .upsample import interpolate
