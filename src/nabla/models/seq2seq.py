"""Sequence-to-sequence with attention, and the date-normalisation task it learns.

:class:`Seq2Seq`: a bidirectional GRU encoder reads the source characters (padded batches with
their lengths); a GRU decoder, started from the encoder's final states, reads the target shifted
right (``<s>`` first); at every decoder step an attention module (additive/Bahdanau or
multiplicative/Luong) weighs the encoder states, and ``tanh(W [decoder state; context])`` predicts
the next character (Luong et al., 2015: attention after the recurrent step). Teacher-forced training
runs the whole target in one pass (one GRU op, one attention call over all steps); decoding is greedy,
one step at a time with the decoder's state carried along. Registered as ``seq2seq``.

The task (:func:`make_date_pairs`, kept in :mod:`nabla.data.datasets.dates` and re-exported here): a
date written in one of many human formats ("3 May 1998", "05/03/98", "Sunday, May 3, 1998", ...) maps
to ISO ``1998-05-03``; ``nabla train seq2seq --dataset dates`` trains on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy

from .. import nn
from ..autograd import no_grad
from ..creation import tensor
from ..data.datasets.dates import (  # noqa: F401 - the task lives with the data sets; re-exported here
    FIRST_DATE,
    LAST_DATE,
    CharVocab,
    date_formats,
    date_vocabs,
    format_date,
    make_date_pairs,
)
from ..ops import cat
from ..tensor import Tensor
from .registry import register_model

# ------------------------------------------------------------------------------------------ model


class Seq2Seq(nn.Module):
    """Encoder-decoder with attention over character ids.

    ``forward(src, src_lengths, tgt_in) -> logits`` (B, Tt, tgt_vocab) with teacher forcing
    (``tgt_in`` = the target shifted right, ``<s>`` first); :meth:`greedy_decode` for inference.
    ``attention``: "additive" (Bahdanau) or "multiplicative" (Luong, general).
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, embed_dim: int = 32, hidden_size: int = 64,
                 attention: str = "additive", pad_id: int = CharVocab.PAD) -> None:
        super().__init__()
        if attention not in ("additive", "multiplicative"):
            raise ValueError(f"Seq2Seq: attention must be 'additive' or 'multiplicative', got {attention!r}")
        H = hidden_size
        self.src_embed = nn.Embedding(src_vocab, embed_dim, padding_idx=pad_id)
        self.encoder = nn.GRU(embed_dim, H, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * H, H)
        self.tgt_embed = nn.Embedding(tgt_vocab, embed_dim)
        self.decoder = nn.GRU(embed_dim, H, batch_first=True)
        if attention == "additive":
            self.attention = nn.AdditiveAttention(H, 2 * H, H)
        else:
            self.attention = nn.MultiplicativeAttention(H, 2 * H, "general")
        self.combine = nn.Linear(3 * H, H)
        self.out = nn.Linear(H, tgt_vocab)

    def encode(self, src: Tensor, src_lengths: Any) -> tuple[Tensor, Tensor, numpy.ndarray]:
        """Encoder states (B, Ts, 2H), the decoder's initial state (1, B, H) and the padding mask (B, Ts)."""
        lengths = numpy.asarray(src_lengths.numpy() if isinstance(src_lengths, Tensor) else src_lengths)
        states, h_n = self.encoder(self.src_embed(src), lengths=lengths)
        h0 = self.bridge(cat([h_n[0], h_n[1]], -1)).tanh().unsqueeze(0)
        mask = numpy.arange(src.shape[1])[None, :] >= lengths[:, None]
        return states, h0, mask

    def decode_steps(
        self, tgt_in: Tensor, h: Tensor, states: Tensor, mask: numpy.ndarray
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Logits (B, Tt, V), the decoder's last state and the attention weights (B, Tt, Ts) for ``tgt_in``."""
        dec, h = self.decoder(self.tgt_embed(tgt_in), h)
        context, weights = self.attention(dec, states, key_padding_mask=mask)
        logits = self.out(self.combine(cat([dec, context], -1)).tanh())
        return logits, h, weights

    def forward(self, src: Tensor, src_lengths: Any, tgt_in: Tensor) -> Tensor:
        states, h0, mask = self.encode(src, src_lengths)
        return self.decode_steps(tgt_in, h0, states, mask)[0]

    @no_grad()
    def greedy_decode(
        self, src: Tensor, src_lengths: Any, max_len: int, bos: int = CharVocab.BOS
    ) -> tuple[Tensor, Tensor]:
        """The most likely character at each step, fed back as the next input; returns the ids
        (B, max_len) and the attention weights (B, max_len, Ts)."""
        was_training = self.training
        self.eval()
        try:
            states, h, mask = self.encode(src, src_lengths)
            prev = tensor(numpy.full((src.shape[0], 1), bos, dtype=numpy.int64))
            ids, weights = [], []
            for _ in range(max_len):
                logits, h, w = self.decode_steps(prev, h, states, mask)
                prev = logits.argmax(-1)
                ids.append(prev)
                weights.append(w)
        finally:
            self.train(was_training)
        return cat(ids, 1), cat(weights, 1)


@register_model("seq2seq")
def seq2seq(src_vocab: int = 70, tgt_vocab: int = 13, embed_dim: int = 32, hidden_size: int = 64,
            attention: str = "additive") -> Seq2Seq:
    """GRU encoder-decoder with additive or multiplicative attention.

    Source ids (B, Ts) -> target logits (B, Tt, tgt_vocab).
    """
    return Seq2Seq(src_vocab, tgt_vocab, embed_dim, hidden_size, attention)


# -------------------------------------------------------------------------------- train / evaluate


def batch_tensors(pairs: Sequence[tuple[str, str]], src_vocab: CharVocab, tgt_vocab: CharVocab):
    """(src ids, src lengths, decoder input ids, target ids) for a list of (source, target) strings."""
    src, lengths = src_vocab.encode_batch([s for s, _ in pairs])
    tgt = numpy.array([tgt_vocab.encode(t) for _, t in pairs], dtype=numpy.int64)
    tgt_in = numpy.concatenate([numpy.full((len(tgt), 1), CharVocab.BOS, dtype=numpy.int64), tgt[:, :-1]], axis=1)
    return src, lengths, tensor(tgt_in), tensor(tgt)


def exact_match(model: Seq2Seq, pairs: Sequence[tuple[str, str]], src_vocab: CharVocab, tgt_vocab: CharVocab,
                batch_size: int = 256) -> float:
    """Fraction of ``pairs`` whose greedy decoding equals the target exactly."""
    right = 0
    for s in range(0, len(pairs), batch_size):
        chunk = pairs[s:s + batch_size]
        src, lengths = src_vocab.encode_batch([a for a, _ in chunk])
        ids, _ = model.greedy_decode(src, lengths, max_len=len(chunk[0][1]))
        right += sum(tgt_vocab.decode(row) == b for row, (_, b) in zip(ids.numpy(), chunk))
    return right / len(pairs)
