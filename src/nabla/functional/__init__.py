"""Stateless differentiable functions (the "tf.nn level"): ``import nabla.nn.functional as F``.

Every function takes Tensors (and plain settings) and returns a Tensor; state such as a layer's
weights or BatchNorm's running statistics is passed in by the caller (the layers in ``nabla.nn``).
Names, arguments and results follow ``torch.nn.functional``. One file per family:

``activation``      relu, leaky_relu, elu, gelu, sigmoid, tanh, softplus, softmax, log_softmax, step, silu,
                    mish, hardtanh, relu6, hardsigmoid, hardswish, softsign, logsigmoid, softmin, selu, celu,
                    glu, tanhshrink, threshold
``distance``        normalize, cosine_similarity, pairwise_distance
``linear``          linear, embedding
``regularization``  dropout
``norm``            batch_norm, layer_norm
``attention``       scaled_dot_product_attention
``loss``            every loss (mse, l1, huber, binary cross-entropy, cross_entropy, nll, kl_div,
                    sequence_cross_entropy): the one home of the loss maths; ``nn.MSELoss`` and the
                    other loss modules call these
convolution, pooling, padding and resampling are the primitives of ``nabla.ops`` re-exported here.

This layer checks arguments and gives PyTorch's errors; the arithmetic is in ``nabla.ops``. Linear,
batch norm (training mode), layer norm, the embedding lookup and cross-entropy are fused ops there,
measured faster than their compositions (``benchmarks/bench_layers.py``).
"""

from ..ops import cross_entropy, one_hot
from ..ops.conv import conv1d, conv2d, conv_transpose2d
from ..ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from ..ops.shape import pad, pixel_shuffle, pixel_unshuffle
from ..ops.upsample import interpolate, upsample
from .activation import (
    celu,
    elu,
    gelu,
    glu,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    log_softmax,
    logsigmoid,
    mish,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    softmax,
    softmin,
    softplus,
    softsign,
    step,
    tanh,
    tanhshrink,
    threshold,
)
from .attention import scaled_dot_product_attention
from .distance import cosine_similarity, normalize, pairwise_distance
from .linear import embedding, linear
from .loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
    sequence_cross_entropy,
    smooth_l1_loss,
)
from .norm import batch_norm, group_norm, instance_norm, layer_norm
from .regularization import dropout, dropout1d, dropout2d, dropout3d

__all__ = [
    "linear", "relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softplus", "softmax", "log_softmax",
    "step", "dropout", "batch_norm", "layer_norm", "embedding", "cross_entropy",
    "mse_loss", "l1_loss", "huber_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "nll_loss", "kl_div", "sequence_cross_entropy",
    "conv1d", "conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "interpolate",
    "upsample", "pad",
    "scaled_dot_product_attention",
    "smooth_l1_loss", "group_norm", "instance_norm", "dropout1d", "dropout2d", "dropout3d", "pixel_shuffle",
    "pixel_unshuffle", "one_hot",
    "silu", "mish", "hardtanh", "relu6", "hardsigmoid", "hardswish", "softsign", "logsigmoid", "softmin", "selu",
    "celu", "glu", "tanhshrink", "threshold", "normalize", "cosine_similarity", "pairwise_distance",
]
