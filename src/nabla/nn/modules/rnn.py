"""``torch.nn.modules.rnn``'s path for code that imports from it; the classes are :mod:`nabla.nn`'s."""

from ..layers.recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase

__all__ = [
    "RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell",
]
