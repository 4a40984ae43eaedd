"""The model zoo: ``nabla.models.get_model("mlp", in_features=784, num_classes=10)``.

Each model file registers its builders with ``register_model``; later issues add the CNNs and
sequence models.
"""

from .mlp import mlp, perceptron
from .gpt import GPT, GPTConfig, gpt
from .registry import build_model, describe_model, get_model, list_models, register_model

__all__ = ["build_model", "describe_model", "get_model", "list_models", "register_model", "mlp", "perceptron"]
from .rnn import CharRNN, char_gru, char_lstm, char_rnn  # noqa: E402

__all__ += ["CharRNN", "char_rnn", "char_lstm", "char_gru"]
__all__ += ["GPT", "GPTConfig", "gpt"]
