"""Neural-network building blocks with PyTorch's names: ``nabla.nn.Module``, ``nn.Linear``, ...

Modules and containers, layers, losses, initializers (``nn.init``), stateless functions
(``nn.functional``) and training utilities (``nn.utils``); see docs/architecture.md.
"""

from . import functional, init, utils
from .containers import ModuleDict, ModuleList, Sequential
from .layers import (
    ELU,
    GELU,
    BatchNorm1d,
    BatchNorm2d,
    Dropout,
    Embedding,
    Flatten,
    Identity,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Step,
    Tanh,
)
from .losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .module import Module
from .parameter import Parameter
from .summary import summary

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "summary"]
__all__ += [
    "functional", "init", "Linear", "Identity", "Flatten", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "GELU",
    "Softplus", "Softmax", "LogSoftmax", "Step", "Dropout", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "Embedding",
]
__all__ += [
    "utils", "MSELoss", "L1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss",
    "KLDivLoss", "SmoothL1Loss",
]
from .layers import (  # noqa: E402
    AdaptiveAvgPool2d,
    AvgPool2d,
    ConstantPad2d,
    Conv1d,
    Conv2d,
    ConvTranspose2d,
    MaxPool2d,
    Upsample,
    ZeroPad2d,
)

__all__ += [
    "Conv1d", "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "Upsample", "ZeroPad2d",
    "ConstantPad2d",
]
from .layers import (  # noqa: E402
    LearnedPositionalEncoding,
    MultiheadAttention,
    SinusoidalPositionalEncoding,
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

__all__ += [
    "MultiheadAttention", "SinusoidalPositionalEncoding", "LearnedPositionalEncoding", "Transformer",
    "TransformerEncoder", "TransformerDecoder", "TransformerEncoderLayer", "TransformerDecoderLayer",
]
from .layers import (  # noqa: E402
    CELU,
    GLU,
    SELU,
    CircularPad1d,
    CircularPad2d,
    CosineSimilarity,
    Dropout1d,
    Dropout2d,
    Dropout3d,
    GroupNorm,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    InstanceNorm1d,
    InstanceNorm2d,
    LogSigmoid,
    Mish,
    PairwiseDistance,
    PixelShuffle,
    PixelUnshuffle,
    ReflectionPad1d,
    ReflectionPad2d,
    ReLU6,
    ReplicationPad1d,
    ReplicationPad2d,
    SiLU,
    Softmin,
    Softsign,
    Tanhshrink,
    Threshold,
)

__all__ += [
    "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d", "CircularPad1d", "CircularPad2d",
    "PixelShuffle", "PixelUnshuffle", "Dropout1d", "Dropout2d", "Dropout3d", "GroupNorm", "InstanceNorm1d",
    "InstanceNorm2d", "SiLU", "Mish", "ReLU6", "Hardsigmoid", "Hardswish", "SELU", "Softsign", "LogSigmoid",
    "Tanhshrink", "Hardtanh", "CELU", "GLU", "Softmin", "Threshold", "CosineSimilarity", "PairwiseDistance",
]
from .layers import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase  # noqa: E402

__all__ += ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]
from .layers import AdditiveAttention, MultiplicativeAttention  # noqa: E402

__all__ += ["AdditiveAttention", "MultiplicativeAttention"]
from .layers import SubwordEmbedding  # noqa: E402

__all__ += ["SubwordEmbedding"]

from . import modules  # noqa: E402  (torch.nn.modules.* paths; needs the names above)
