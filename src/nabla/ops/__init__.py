"""nabla's primitive ops, one family per file; each op's forward and backward sit side by side.

``arithmetic``   add, sub, mul, div, pow, neg
``math``         exp, log, sqrt, sin/cos, abs, erf, sign, maximum/minimum, clamp, tan/sinh/cosh, asin/acos/atan,
                 atan2, expm1, log2/log10, reciprocal, floor/ceil/round/trunc
``comparison``   eq/ne/lt/le/gt/ge, logical_*, isnan/isfinite, where, masked_fill
``activation``   tanh, sigmoid, relu, leaky_relu, elu, gelu, softplus, step
``reduce``       sum, mean, max/min, var/std, logsumexp, prod, argmax, cumsum, norm (``ops.reduce.norm``:
                 the name ``ops.norm`` is the normalisation module below)
``linalg``       matmul, bmm, mm, dot, tril/triu, and the fused Linear (``x @ w.T + b``)
``shape``        reshape, permute, expand, cat/stack, split/chunk/narrow, pad, flip, repeat
``sort``         sort, argsort, topk (the order on arrays, the values by gather)
``index``        getitem/setitem, gather, scatter_add, index_select, one_hot, in-place rules
``softmax``      softmax, log_softmax
``loss``         cross_entropy (fused log-softmax + NLL); the other losses compose ops in nabla.functional
``norm``         fused batch norm (training) and layer norm
``embedding``    the embedding lookup and its scatter-add backward
``attention``    fused scaled-dot-product attention
``convert``      dtype casts, device moves, clone
``common``       shared argument checks, dtype promotion, unbroadcast, the Mask op
``conv``         conv1d, conv2d, conv_transpose2d (lowered to GEMM)
``pool``         max_pool2d, avg_pool2d, adaptive_avg_pool2d
``upsample``     interpolate (nearest, bilinear): separable resampling matrices
``recurrent``    one RNN / LSTM / GRU layer direction over a whole sequence, fused (nn.RNN/LSTM/GRU use it)
"""

from .activation import elu, gelu, leaky_relu, relu, sigmoid, softplus, tanh
from .arithmetic import add, div, mul, neg, pow, sub
from .common import normalize_dim
from .comparison import (
    allclose,
    eq,
    equal,
    ge,
    gt,
    isfinite,
    isinf,
    isnan,
    le,
    logical_and,
    logical_not,
    logical_or,
    lt,
    masked_fill,
    ne,
    where,
)
from .conv import conv1d, conv2d, conv_transpose2d
from .convert import cast, clone, to_device
from .index import fill_, gather, getitem, index_select, inplace, one_hot, scatter_add, setitem
from .linalg import bmm, dot, matmul, mm, outer, tril, triu
from .loss import cross_entropy
from .math import (
    abs,
    acos,
    asin,
    atan,
    atan2,
    ceil,
    clamp,
    cos,
    cosh,
    erf,
    exp,
    expm1,
    floor,
    log,
    log1p,
    log2,
    log10,
    maximum,
    minimum,
    reciprocal,
    round,
    rsqrt,
    sign,
    sin,
    sinh,
    sqrt,
    tan,
    trunc,
)
from .pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from .reduce import (
    all,
    amax,
    amin,
    any,
    argmax,
    argmin,
    cumsum,
    logsumexp,
    max,
    mean,
    min,
    prod,
    std,
    sum,
    var,
)
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
    meshgrid,
    narrow,
    pad,
    permute,
    repeat,
    reshape,
    split,
    squeeze,
    stack,
    swapaxes,
    transpose,
    unbind,
    unsqueeze,
    view,
)
from .softmax import log_softmax, softmax
from .sort import argsort, msort, sort, topk
from .upsample import interpolate
