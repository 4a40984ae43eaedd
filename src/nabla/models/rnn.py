"""Character-level recurrent language models (char-rnn), trained with truncated backpropagation through time.

``CharRNN``: ``Embedding -> RNN / LSTM / GRU (num_layers) -> Dropout -> Linear`` to next-character
logits. Registered in the zoo as ``char_rnn`` (tanh RNN), ``char_lstm`` and ``char_gru``.

Truncated BPTT (:func:`fit_tbptt`): the text is cut into ``batch_size`` parallel streams read
chunk by chunk (:func:`stream_batches`), so chunk ``k + 1`` of a stream continues chunk ``k``. The
final state of one chunk becomes the initial state of the next, **detached** (:func:`detach_state`):
the model remembers across chunk boundaries, but gradients stop there, so each step costs
``seq_len`` timesteps of backward however long the text. Gradients are clipped by their global
norm, the classic remedy for the exploding gradients of recurrent nets.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy

from .. import backend, functional as F, nn
from ..autograd import no_grad
from ..creation import tensor
from ..tensor import Tensor
from .registry import register_model

_CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class CharRNN(nn.Module):
    """Next-character model: ids (N, T) -> logits (N, T, vocab_size).

    ``forward(idx, state=None, return_state=False)``: ``state`` is the recurrent layer's state from
    a previous call (``h`` or, for the LSTM, ``(h, c)``); with ``return_state=True`` the result is
    ``(logits, state)`` so the next call can carry on where this one stopped.
    """

    def __init__(self, vocab_size: int = 65, embed_dim: int = 64, hidden_size: int = 256, num_layers: int = 2,
                 cell: str = "lstm", dropout: float = 0.0) -> None:
        super().__init__()
        if cell not in _CELLS:
            raise ValueError(f"CharRNN: unknown cell {cell!r}; choose one of {', '.join(_CELLS)}")
        for name, v in (("vocab_size", vocab_size), ("embed_dim", embed_dim), ("hidden_size", hidden_size),
                        ("num_layers", num_layers)):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"CharRNN: {name} must be a positive int, got {v!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"CharRNN: dropout must lie in [0, 1), got {dropout}")
        self.vocab_size, self.cell = vocab_size, cell
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.rnn = _CELLS[cell](embed_dim, hidden_size, num_layers, batch_first=True,
                                dropout=dropout if num_layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, idx: Tensor, state: Any = None, return_state: bool = False) -> Any:
        if not isinstance(idx, Tensor) or idx.ndim != 2 or idx.dtype.kind not in "iu":
            got = f"{idx.dtype} {idx.shape}" if isinstance(idx, Tensor) else type(idx).__name__
            raise ValueError(f"CharRNN: expected integer character ids (N, T), got {got}")
        out, state = self.rnn(self.embed(idx), state)
        logits = self.head(self.drop(out))
        return (logits, state) if return_state else logits

    @no_grad()
    def generate(self, idx: Tensor, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None) -> Tensor:
        """Extend each row of ``idx`` (N, T) by ``max_new_tokens`` sampled characters; returns (N, T + new).

        The prompt runs through the network once; then each new character costs one step (the
        recurrent state carries the context, so there is no window to re-read). ``temperature``
        divides the logits: below 1 the text gets safer and more repetitive, above 1 more surprising;
        0 always picks the most likely character. ``top_k`` samples among the k most likely only.
        Draws come from nabla's generator (``nabla.manual_seed`` makes them repeatable).
        """
        if not isinstance(max_new_tokens, int) or max_new_tokens < 0:
            raise ValueError(f"generate: max_new_tokens must be a non-negative int, got {max_new_tokens!r}")
        if not isinstance(idx, Tensor) or idx.ndim != 2 or idx.shape[1] == 0:
            raise ValueError(
                "generate: idx must be a non-empty Tensor of ids (N, T); for one prompt use ids.reshape(1, -1)"
            )
        if not isinstance(temperature, (int, float)) or temperature < 0:
            raise ValueError(f"generate: temperature must be >= 0 (0 = greedy), got {temperature!r}")
        if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
            raise ValueError(f"generate: top_k must be a positive int or None, got {top_k!r}")
        was_training = self.training
        self.eval()
        try:
            logits, state = self(idx, return_state=True)
            new = []
            for _ in range(max_new_tokens):
                nxt = sample(logits[:, -1], temperature, top_k)
                new.append(nxt)
                logits, state = self(nxt.reshape(-1, 1), state, return_state=True)
        finally:
            self.train(was_training)
        if not new:
            return idx
        return tensor(numpy.concatenate([idx.cpu().numpy()] + [n.cpu().numpy()[:, None] for n in new], axis=1),
                      device=idx.device)


def sample(logits: Tensor, temperature: float = 1.0, top_k: int | None = None) -> Tensor:
    """One id per row of ``logits`` (N, V): the argmax at temperature 0, else a draw from
    ``softmax(logits / temperature)`` restricted to the ``top_k`` largest (all when None)."""
    z = logits.detach().cpu().numpy().astype(numpy.float64)
    if temperature == 0:
        ids = z.argmax(axis=-1)
    else:
        z = z / temperature
        if top_k is not None and top_k < z.shape[-1]:
            kth = numpy.partition(z, -top_k, axis=-1)[:, -top_k][:, None]
            z = numpy.where(z < kth, -numpy.inf, z)
        p = numpy.exp(z - z.max(axis=-1, keepdims=True))
        cdf = numpy.cumsum(p, axis=-1)
        u = backend.default_generator.numpy.random(z.shape[0]) * cdf[:, -1]
        ids = numpy.minimum((cdf < u[:, None]).sum(axis=-1), z.shape[-1] - 1)
    return tensor(ids.astype(numpy.int64), device=logits.device)


def detach_state(state: Any) -> Any:
    """The recurrent state cut from the graph (a Tensor, or a tuple of them for the LSTM): the values
    carry on into the next chunk, the gradients stop here (truncated BPTT)."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def stream_batches(data: numpy.ndarray, batch_size: int, seq_len: int) -> Iterator[tuple[Tensor, Tensor]]:
    """Cut ``data`` (1-D ids) into ``batch_size`` equal streams and yield ``(x, y)`` chunks (batch_size, seq_len),
    ``y`` shifted by one character; row ``b`` of chunk ``k + 1`` continues row ``b`` of chunk ``k``."""
    data = numpy.asarray(data)
    per = (len(data) - 1) // batch_size
    if per < 1:
        raise ValueError(f"stream_batches: {len(data)} ids are too few for batch_size {batch_size}")
    x = data[:per * batch_size].reshape(batch_size, per)
    y = data[1:per * batch_size + 1].reshape(batch_size, per)
    for s in range(0, per, seq_len):
        yield tensor(x[:, s:s + seq_len]), tensor(y[:, s:s + seq_len])


def lm_loss(logits: Tensor, targets: Tensor) -> Tensor:
    """Mean next-character cross-entropy (nats per character) of logits (N, T, V) against ids (N, T)."""
    return F.sequence_cross_entropy(logits, targets, name="lm_loss")


def fit_tbptt(
    model: CharRNN,
    data: numpy.ndarray,
    optimizer: Any,
    batch_size: int = 32,
    seq_len: int = 64,
    max_steps: int | None = None,
    max_seconds: float | None = None,
    clip: float | None = 1.0,
    callback: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Train ``model`` on the id stream ``data`` with truncated BPTT; returns the loss of every step.

    Epochs repeat over the streams until ``max_steps`` steps or ``max_seconds`` have passed (at
    least one must be given). Each step: forward one chunk from the carried (detached) state,
    backward through its ``seq_len`` steps, clip the global gradient norm to ``clip``, update.
    ``callback(step, loss)`` runs after every step.
    """
    if max_steps is None and max_seconds is None:
        raise ValueError("fit_tbptt: give max_steps or max_seconds (or both)")
    model.train()
    losses: list[float] = []
    start = time.perf_counter()
    while True:
        state = None  # each epoch starts the streams from a zero state
        for x, y in stream_batches(data, batch_size, seq_len):
            logits, state = model(x, detach_state(state), return_state=True)
            loss = lm_loss(logits, y)
            optimizer.zero_grad()
            loss.backward()
            if clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            losses.append(float(loss))
            if callback is not None:
                callback(len(losses), losses[-1])
            if (max_steps is not None and len(losses) >= max_steps) or (
                max_seconds is not None and time.perf_counter() - start >= max_seconds
            ):
                return losses


@no_grad()
def evaluate_lm(model: CharRNN, data: numpy.ndarray, batch_size: int = 32, seq_len: int = 256) -> float:
    """Mean nats per character over ``data``, reading it as streams with the state carried along."""
    was_training = model.training
    model.eval()
    total, count, state = 0.0, 0, None
    try:
        for x, y in stream_batches(data, batch_size, seq_len):
            logits, state = model(x, state, return_state=True)
            total += float(lm_loss(logits, y)) * y.numel()
            count += y.numel()
    finally:
        model.train(was_training)
    return total / count if count else math.nan


def _builder(cell: str):
    def build(vocab_size: int = 65, embed_dim: int = 64, hidden_size: int = 256, num_layers: int = 2,
              dropout: float = 0.0) -> CharRNN:
        return CharRNN(vocab_size, embed_dim, hidden_size, num_layers, cell, dropout)

    return build


char_rnn = register_model("char_rnn")(_builder("rnn"))
char_rnn.__doc__ = (
    """Character-level language model with a tanh RNN: ids (N, T) -> next-character logits (N, T, vocab_size)."""
)
char_lstm = register_model("char_lstm")(_builder("lstm"))
char_lstm.__doc__ = (
    """Character-level language model with an LSTM: ids (N, T) -> next-character logits (N, T, vocab_size)."""
)
char_gru = register_model("char_gru")(_builder("gru"))
char_gru.__doc__ = (
    """Character-level language model with a GRU: ids (N, T) -> next-character logits (N, T, vocab_size)."""
)
