"""Recurrent layers with PyTorch's semantics and weight layout: RNN, LSTM, GRU and their cells.

Weights are named and shaped as in PyTorch (``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``,
``bias_hh_l{k}``, with ``_reverse`` for the backward direction; gate rows in the order i, f, g, o
for the LSTM and r, z, n for the GRU), so a ``state_dict`` copies across both ways. Every weight
starts as U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as in PyTorch.

Each layer and direction runs as one graph node over the whole sequence (``nabla/ops/recurrent.py``
explains why and how). Variable-length batches: pass ``lengths=`` (one per sequence), or a
``PackedSequence`` from ``pack_padded_sequence`` (see ``nn/utils/rnn.py``); outputs are zero past
each sequence's end and the final states are the states at each sequence's last valid step.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

from ... import functional as F
from ...creation import empty
from ...ops import cat
from ...ops.recurrent import GRULayer, LSTMLayer, RNNLayer
from ...tensor import Tensor
from .. import init
from ..module import Module
from ..parameter import Parameter
from ..utils.rnn import PackedSequence, check_lengths

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _check_size(name: str, v: Any, where: str) -> None:
    if not isinstance(v, int) or isinstance(v, bool):
        raise TypeError(f"{where}: {name} should be of type int, got: {type(v).__name__}")
    if v <= 0:
        raise ValueError(f"{where}: {name} must be greater than zero, got {v}")


class RNNBase(Module):
    """The shared machinery of :class:`RNN`, :class:`LSTM` and :class:`GRU` (``mode`` picks the cell)."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        for arg, v in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            _check_size(arg, v, name)
        for arg, v in (("bias", bias), ("batch_first", batch_first), ("bidirectional", bidirectional)):
            if not isinstance(v, bool):
                raise TypeError(f"{name}: {arg} should be of type bool, got: {type(v).__name__}")
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError(
                f"{name}: dropout should be a number in [0, 1] (the probability of zeroing an element), got {dropout!r}"
            )
        if proj_size != 0:
            raise NotImplementedError(
                f"{name}: proj_size (LSTM projections) is not supported in nabla; use proj_size=0"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                f"{name}: dropout is applied between recurrent layers, so dropout={dropout} has no effect with "
                "num_layers=1", stacklevel=3,
            )
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.bidirectional = bias, batch_first, bidirectional
        self.dropout, self.proj_size = float(dropout), 0
        gate_size = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names: list[str] = []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else hidden_size * directions
            for d in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if d == 1 else "")
                shapes = [("weight_ih", (gate_size, layer_in)), ("weight_hh", (gate_size, hidden_size))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                for pname, shape in shapes:
                    self.register_parameter(pname + suffix, Parameter(empty(*shape, device=device, dtype=dtype)))
                    self._flat_weights_names.append(pname + suffix)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch."""
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """Nothing to do: nabla keeps the weights as separate arrays (kept for PyTorch code)."""

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """Per layer and direction, ``[weight_ih, weight_hh(, bias_ih, bias_hh)]``, as PyTorch."""
        per = 4 if self.bias else 2
        ws = [getattr(self, n) for n in self._flat_weights_names]
        return [ws[i:i + per] for i in range(0, len(ws), per)]

    # ------------------------------------------------------------------------------------ forward

    def forward(self, input: Tensor | PackedSequence, hx: Any = None, lengths: Any = None) -> tuple:
        """Run the layers over ``input``; returns ``(output, h_n)`` (LSTM: ``(output, (h_n, c_n))``).

        ``input``: (T, B, input_size), or (B, T, input_size) with ``batch_first``, or unbatched
        (T, input_size), or a :class:`PackedSequence`. ``hx``: the initial state(s),
        (num_layers * num_directions, B, hidden_size) each (zeros when omitted). ``lengths``: (B,)
        valid lengths of padded sequences. ``output`` holds the last layer's state at every step
        (both directions concatenated), ``h_n`` / ``c_n`` every layer's final state.
        """
        name = type(self).__name__
        packed = isinstance(input, PackedSequence)
        if packed:
            if lengths is not None:
                raise ValueError(f"{name}: pass lengths either in the PackedSequence or as lengths=, not both")
            x, lengths = input.data, input.lengths
        else:
            x = input
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}: expected a Tensor input, got {type(x).__name__}")
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{name}: expected input (T, B, {self.input_size})"
                + (" or (B, T, ...) with batch_first" if self.batch_first else "")
                + f" or unbatched (T, {self.input_size}), got {x.shape}"
            )
        self._check_dtype(x, name)
        batched = x.ndim == 3
        if not batched:
            if lengths is not None:
                raise ValueError(f"{name}: lengths need a batch; got an unbatched input of shape {x.shape}")
            x = x.unsqueeze(1)
        elif self.batch_first and not packed:
            x = x.transpose(0, 1)
        T, B = x.shape[0], x.shape[1]
        if lengths is not None:
            lengths = check_lengths(lengths, T, B, name)
        states = self._initial_states(hx, B, batched, x, name)
        output, finals = self._run(x, states, lengths)
        if packed:
            output = PackedSequence(output, lengths)
        elif not batched:
            output = output.squeeze(1)
            finals = [f.squeeze(1) for f in finals]
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, (tuple(finals) if self.mode == "LSTM" else finals[0])

    def _check_dtype(self, x: Tensor, name: str) -> None:
        w = getattr(self, self._flat_weights_names[0])
        if x.dtype != w.dtype:
            raise TypeError(
                f"{name}: input has dtype {x.dtype} but the weights are {w.dtype}; convert one of them "
                f"(x.to({w.dtype}) or layer.to({x.dtype}))"
            )
        if x.device != w.device:
            raise RuntimeError(f"{name}: input is on {x.device} but the weights are on {w.device}; move one of them")

    def _initial_states(self, hx: Any, B: int, batched: bool, x: Tensor, name: str) -> list[Tensor | None]:
        """hx as a list of one or two (L*D, B, H) tensors, or [None] (zeros) when omitted."""
        n_states = 2 if self.mode == "LSTM" else 1
        if hx is None:
            return [None] * n_states
        if self.mode == "LSTM":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{name}: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
            parts = list(hx)
        else:
            parts = [hx]
        want = (self.num_layers * (2 if self.bidirectional else 1), B, self.hidden_size)
        out = []
        for label, h in zip(("h_0", "c_0"), parts):
            if not isinstance(h, Tensor):
                raise TypeError(f"{name}: {label} must be a Tensor, got {type(h).__name__}")
            if not batched:
                if h.ndim != 2:
                    raise ValueError(
                        f"{name}: for unbatched input, {label} must be 2-D {(want[0], want[2])}, got {h.shape}"
                    )
                h = h.unsqueeze(1)
            if tuple(h.shape) != want:
                raise ValueError(
                    f"{name}: expected {label} of shape {want} (num_layers * num_directions, batch, hidden_size), "
                    f"got {h.shape}"
                )
            if h.dtype != x.dtype:
                raise TypeError(f"{name}: {label} has dtype {h.dtype} but the input is {x.dtype}")
            out.append(h)
        return out

    def _run(self, x: Tensor, states: list, lengths: Any) -> tuple[Tensor, list[Tensor]]:
        """Every layer and direction as one recurrent op each; returns (output, final states)."""
        T, B = x.shape[0], x.shape[1]
        directions = 2 if self.bidirectional else 1
        zeros = None
        per = 4 if self.bias else 2
        weights = [getattr(self, n) for n in self._flat_weights_names]
        finals: list[list[Tensor]] = [[] for _ in states]
        for layer in range(self.num_layers):
            outs = []
            for d in range(directions):
                k = layer * directions + d
                init_states = []
                for s in states:
                    if s is None:
                        if zeros is None:
                            zeros = Tensor._wrap(x._xp.zeros((B, self.hidden_size), dtype=x.dtype))
                        init_states.append(zeros)
                    else:
                        init_states.append(s[k])
                params = weights[k * per:(k + 1) * per]
                y = self._op(x, init_states, params, lengths, d == 1)
                outs.append(y[:T])
                for j, f in enumerate(finals):
                    f.append(y[T + j:T + j + 1])
            x = outs[0] if directions == 1 else cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        return x, [f[0] if len(f) == 1 else cat(f, 0) for f in finals]

    def _op(self, x: Tensor, states: list, params: list, lengths: Any, reverse: bool) -> Tensor:
        if self.mode == "LSTM":
            return LSTMLayer.apply(x, *states, *params, lengths=lengths, reverse=reverse)
        if self.mode == "GRU":
            return GRULayer.apply(x, *states, *params, lengths=lengths, reverse=reverse)
        nonlinearity = "tanh" if self.mode == "RNN_TANH" else "relu"
        return RNNLayer.apply(x, *states, *params, lengths=lengths, reverse=reverse, nonlinearity=nonlinearity)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN: ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` with act ``tanh`` or ``relu``.

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
    dropout=0.0, bidirectional=False)``; ``forward(input, hx=None, lengths=None) -> (output, h_n)``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}; choose 'tanh' or 'relu'")
        self_mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(self_mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory; gates i, f, g, o (PyTorch's order)::

        i, f, o = sigmoid(x W_i*^T + b_i* + h W_h*^T + b_h*),  g = tanh(...)
        c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)

    ``LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False)``; ``forward(input, (h_0, c_0)=None, lengths=None) -> (output, (h_n, c_n))``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device=device, dtype=dtype)


class GRU(RNNBase):
    """Gated recurrent unit; gates r, z, n (PyTorch's order)::

        r, z = sigmoid(x W_i*^T + b_i* + h W_h*^T + b_h*)
        n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)),   h_t = (1 - z) * n + z * h_{t-1}

    ``GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False)``; ``forward(input, hx=None, lengths=None) -> (output, h_n)``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)


# ------------------------------------------------------------------------------------------- cells


class RNNCellBase(Module):
    """One time step of a recurrent layer; the same weights (names without ``_l0``) and init."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool, device: Any, dtype: Any) -> None:
        super().__init__()
        name = type(self).__name__
        _check_size("input_size", input_size, name)
        _check_size("hidden_size", hidden_size, name)
        if not isinstance(bias, bool):
            raise TypeError(f"{name}: bias should be of type bool, got: {type(bias).__name__}")
        self.mode, self.input_size, self.hidden_size, self.bias = mode, input_size, hidden_size, bias
        gate_size = _GATES[mode] * hidden_size
        self.weight_ih = Parameter(empty(gate_size, input_size, device=device, dtype=dtype))
        self.weight_hh = Parameter(empty(gate_size, hidden_size, device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(gate_size, device=device, dtype=dtype))
            self.bias_hh = Parameter(empty(gate_size, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -stdv, stdv)

    def _step(self, input: Tensor, hx: Any) -> list[Tensor]:
        """Validate, run one step as a length-1 sequence, return the new state(s) (batched or not)."""
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor input, got {type(input).__name__}")
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise ValueError(
                f"{name}: expected input (B, {self.input_size}) or ({self.input_size},), got {input.shape}"
            )
        if input.dtype != self.weight_ih.dtype:
            raise TypeError(f"{name}: input has dtype {input.dtype} but the weights are {self.weight_ih.dtype}")
        batched = input.ndim == 2
        x = input.unsqueeze(0) if batched else input.reshape(1, 1, -1)
        B = x.shape[1]
        n_states = 2 if self.mode == "LSTM" else 1
        if hx is None:
            zeros = Tensor._wrap(x._xp.zeros((B, self.hidden_size), dtype=x.dtype))
            states = [zeros] * n_states
        else:
            if self.mode == "LSTM" and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
                raise TypeError(f"{name}: hx must be a tuple (h, c), got {type(hx).__name__}")
            parts = list(hx) if self.mode == "LSTM" else [hx]
            want = (B, self.hidden_size) if batched else (self.hidden_size,)
            states = []
            for h in parts:
                if not isinstance(h, Tensor) or tuple(h.shape) != want:
                    got = h.shape if isinstance(h, Tensor) else type(h).__name__
                    raise ValueError(f"{name}: expected a hidden state of shape {want}, got {got}")
                states.append(h if batched else h.reshape(1, -1))
        params = [self.weight_ih, self.weight_hh] + ([self.bias_ih, self.bias_hh] if self.bias else [])
        if self.mode == "LSTM":
            y = LSTMLayer.apply(x, *states, *params, lengths=None, reverse=False)
        elif self.mode == "GRU":
            y = GRULayer.apply(x, *states, *params, lengths=None, reverse=False)
        else:
            nl = "tanh" if self.mode == "RNN_TANH" else "relu"
            y = RNNLayer.apply(x, *states, *params, lengths=None, reverse=False, nonlinearity=nl)
        return [y[1 + j] if batched else y[1 + j, 0] for j in range(n_states)]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(RNNCellBase):
    """``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)``; ``forward(input, hx=None) -> h'``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device: Any = None, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r}; choose 'tanh' or 'relu'")
        super().__init__(
            "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, bias, device, dtype
        )
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx)[0]


class LSTMCell(RNNCellBase):
    """One LSTM step; ``forward(input, (h, c)=None) -> (h', c')``."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__("LSTM", input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        h, c = self._step(input, hx)
        return h, c


class GRUCell(RNNCellBase):
    """One GRU step; ``forward(input, hx=None) -> h'``."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__("GRU", input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx)[0]
