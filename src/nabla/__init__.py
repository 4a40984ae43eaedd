"""nabla: a deep-learning framework written from scratch, readable and fast.

Reverse-mode autograd over NumPy (CPU) and CuPy (GPU) arrays, with PyTorch's names.

``import nabla`` loads the core: tensors, autograd, ops, ``functional``, ``nn`` and ``optim``. The
heavier layers above them (``data``, ``models``, ``train``, ``io``, ``viz``, ``playground``, ...)
load on first use (``nabla.models``, ``nabla.save``, ...) through the module ``__getattr__`` below, so
``import nabla`` stays fast and a layer is only loaded by what uses it (docs/architecture.md).
"""

from .tensor import Tensor, is_tensor, numel  # first: it pulls in ops and autograd in the order they need

# isort: split

from . import accelerator, autograd, backend, backends, cuda, functional, nn, ops, optim, utils
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .backend import (
    Generator,
    bool_,
    cuda_is_available,
    default_generator,
    device,
    double,
    float16,
    float32,
    float64,
    get_default_device,
    get_default_dtype,
    get_rng_state,
    half,
    int8,
    int16,
    int32,
    int64,
    long,
    manual_seed,
    set_default_device,
    set_default_dtype,
    set_rng_state,
    uint8,
)
from .creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    multinomial,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .mixed_precision import autocast, get_autocast_dtype, is_autocast_enabled
from .nn import summary
from .ops import (
    abs,
    acos,
    add,
    all,
    allclose,
    amax,
    amin,
    any,
    argmax,
    argmin,
    argsort,
    asin,
    atan,
    atan2,
    bmm,
    broadcast_to,
    cat,
    ceil,
    chunk,
    clamp,
    clone,
    concat,
    concatenate,
    cos,
    cosh,
    cross_entropy,
    cumsum,
    div,
    dot,
    elu,
    eq,
    equal,
    erf,
    exp,
    expand,
    expm1,
    flatten,
    flip,
    floor,
    gather,
    ge,
    gelu,
    gt,
    index_select,
    isfinite,
    isinf,
    isnan,
    le,
    leaky_relu,
    log,
    log1p,
    log2,
    log10,
    log_softmax,
    logical_and,
    logical_not,
    logical_or,
    logsumexp,
    lt,
    masked_fill,
    matmul,
    max,
    maximum,
    mean,
    meshgrid,
    min,
    minimum,
    mm,
    msort,
    mul,
    narrow,
    ne,
    neg,
    one_hot,
    outer,
    pad,
    permute,
    pow,
    prod,
    reciprocal,
    relu,
    repeat,
    reshape,
    round,
    rsqrt,
    scatter_add,
    sigmoid,
    sign,
    sin,
    sinh,
    softmax,
    softplus,
    sort,
    split,
    sqrt,
    squeeze,
    stack,
    std,
    sub,
    sum,
    swapaxes,
    tan,
    tanh,
    topk,
    transpose,
    tril,
    triu,
    trunc,
    unbind,
    unsqueeze,
    var,
    view,
    where,
)
from .ops.reduce import norm

bool = bool_
float = float32
clip = clamp
multiply = mul
subtract = sub
divide = true_divide = div

__version__ = "0.1.0"

# ------------------------------------------------------------------------------- lazy layers
# Subpackages above nn/optim, imported on first attribute access (PEP 562), and the names they give.
_LAZY_MODULES = frozenset({"amp", "compiler", "data", "models", "train", "io", "viz", "playground", "labs",
                           "distributed", "cli"})
_LAZY_NAMES = {"load": "io", "save": "io", "compile": "compiler", "CompileError": "compiler"}


def __getattr__(name: str):
    import importlib

    if name in _LAZY_MODULES:
        return importlib.import_module(f"{__name__}.{name}")  # the import also sets it on this package
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY_NAMES[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY_MODULES | set(_LAZY_NAMES))


def _keras_forwarder(name: str):
    """``Module.<name>`` until nabla.train is imported: import it (which binds the real Keras-style
    method onto nn.Module, see nabla/train/keras.py) and call that. nn itself never imports train."""

    def method(self, *args, **kwargs):
        from .train import keras

        return keras.KERAS_METHODS[name](self, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"Keras-style ``{name}``: see :func:`nabla.train.keras.{name}` (loads nabla.train)."
    return method


for _name in ("compile", "fit", "evaluate", "predict"):
    if _name not in nn.Module.__dict__:
        setattr(nn.Module, _name, _keras_forwarder(_name))
del _name
