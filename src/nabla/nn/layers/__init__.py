"""Layers, one family per file: linear, activation, dropout, norm, embedding."""

from .activation import (
    CELU,
    ELU,
    GELU,
    GLU,
    SELU,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softmin,
    Softplus,
    Softsign,
    Step,
    Tanh,
    Tanhshrink,
    Threshold,
)
from .distance import CosineSimilarity, PairwiseDistance
from .dropout import Dropout, Dropout1d, Dropout2d, Dropout3d
from .embedding import Embedding
from .linear import Flatten, Identity, Linear
from .norm import BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm1d, InstanceNorm2d, LayerNorm

__all__ = [
    "Linear", "Identity", "Flatten", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "GELU", "Softplus", "Softmax",
    "LogSoftmax", "Step", "Dropout", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "Embedding",
]

from .conv import Conv1d, Conv2d, ConvTranspose2d
from .padding import (
    CircularPad1d,
    CircularPad2d,
    ConstantPad2d,
    ReflectionPad1d,
    ReflectionPad2d,
    ReplicationPad1d,
    ReplicationPad2d,
    ZeroPad2d,
)
from .pixelshuffle import PixelShuffle, PixelUnshuffle
from .pool import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d, Upsample

__all__ += [
    "Conv1d", "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "Upsample", "ZeroPad2d",
    "ConstantPad2d", "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d", "CircularPad1d",
    "CircularPad2d", "PixelShuffle", "PixelUnshuffle", "Dropout1d", "Dropout2d", "Dropout3d", "GroupNorm",
    "InstanceNorm1d", "InstanceNorm2d",
    "SiLU", "Mish", "ReLU6", "Hardsigmoid", "Hardswish", "SELU", "Softsign", "LogSigmoid", "Tanhshrink", "Hardtanh",
    "CELU", "GLU", "Softmin", "Threshold", "CosineSimilarity", "PairwiseDistance",
]

from .attention import MultiheadAttention  # noqa: E402
from .positional import LearnedPositionalEncoding, SinusoidalPositionalEncoding, sinusoidal_encoding  # noqa: E402
from .transformer import (  # noqa: E402
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

__all__ += [
    "MultiheadAttention", "SinusoidalPositionalEncoding", "LearnedPositionalEncoding", "sinusoidal_encoding",
    "Transformer", "TransformerEncoder", "TransformerDecoder", "TransformerEncoderLayer", "TransformerDecoderLayer",
]

from ..utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence, pad_sequence  # noqa: E402
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase  # noqa: E402

__all__ += ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]
from .rnn_attention import AdditiveAttention, MultiplicativeAttention  # noqa: E402

__all__ += ["AdditiveAttention", "MultiplicativeAttention"]

from .subword import SubwordEmbedding  # noqa: E402

__all__ += ["SubwordEmbedding"]
