"""Subword embeddings in the style of FastText (Bojanowski et al., 2017): hashed character n-grams.

A word is wrapped as ``<word>`` and cut into its character n-grams of lengths ``min_n..max_n``
(``<wh``, ``whe``, ``her``, ``ere``, ``re>``, ``<whe``, ...). Each n-gram is hashed (32-bit FNV-1a on
its UTF-8 bytes, as FastText) into one of ``num_buckets`` rows of a table; a word's vector is the
mean of its n-grams' rows, plus its own row when the word is in the vocabulary. So:

* any string gets a vector, including words never seen in training (no ``[UNK]``);
* words that share most of their n-grams - a word and its misspelling, or its inflections - get
  nearby vectors, because they are averages of mostly the same rows;
* the table's size is fixed by ``num_buckets``, whatever the vocabulary (hash collisions are shared).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy

from ... import functional as F
from ...creation import empty, tensor
from ...tensor import Tensor
from .. import init
from ..module import Module
from ..parameter import Parameter

_FNV_OFFSET, _FNV_PRIME = 2166136261, 16777619


def fnv1a_32(text: str) -> int:
    """32-bit FNV-1a hash of ``text``'s UTF-8 bytes (FastText's n-gram hash)."""
    h = _FNV_OFFSET
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return h


def char_ngrams(word: str, min_n: int = 3, max_n: int = 6) -> list[str]:
    """The character n-grams of ``<word>`` with ``min_n <= n <= max_n`` (the whole ``<word>`` excluded)."""
    w = f"<{word}>"
    out = []
    for n in range(min_n, max_n + 1):
        for i in range(len(w) - n + 1):
            g = w[i:i + n]
            if g != w:
                out.append(g)
    return out


class SubwordEmbedding(Module):
    """FastText-style word vectors: the mean of the word's hashed character n-gram vectors.

    ``weight`` has ``len(vocab) + num_buckets + 1`` rows: one per vocabulary word, the n-gram buckets,
    and a zero padding row. ``forward(words)`` takes a sequence of strings (or a list of sequences
    of equal length) and returns (len(words), embedding_dim) (or (N, T, embedding_dim)). Rows start
    uniform in ``±1 / embedding_dim``, as in FastText.
    """

    def __init__(self, embedding_dim: int, num_buckets: int = 100_000, min_n: int = 3, max_n: int = 6,
                 vocab: Iterable[str] | None = None, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        for name, v in (("embedding_dim", embedding_dim), ("num_buckets", num_buckets), ("min_n", min_n),
                        ("max_n", max_n)):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"SubwordEmbedding: {name} must be a positive int, got {v!r}")
        if min_n > max_n:
            raise ValueError(f"SubwordEmbedding: min_n ({min_n}) must not exceed max_n ({max_n})")
        self.vocab = list(dict.fromkeys(vocab or []))
        self.word_index = {w: i for i, w in enumerate(self.vocab)}
        self.embedding_dim, self.num_buckets, self.min_n, self.max_n = embedding_dim, num_buckets, min_n, max_n
        self.padding_idx = len(self.vocab) + num_buckets
        self.weight = Parameter(empty(self.padding_idx + 1, embedding_dim, device=device, dtype=dtype))
        self._rows: dict[str, list[int]] = {}
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / self.embedding_dim
        init.uniform_(self.weight, -bound, bound)
        self.weight._data[self.padding_idx] = 0
        self.weight._version[0] += 1

    def rows(self, word: str) -> list[int]:
        """The table rows averaged for ``word``: its own row if in the vocabulary, then its n-gram buckets."""
        r = self._rows.get(word)
        if r is None:
            own = [self.word_index[word]] if word in self.word_index else []
            base = len(self.vocab)
            r = own + [base + fnv1a_32(g) % self.num_buckets for g in char_ngrams(word, self.min_n, self.max_n)]
            if not r:  # a word too short for any n-gram and not in the vocabulary: hash it whole
                r = [base + fnv1a_32(f"<{word}>") % self.num_buckets]
            self._rows[word] = r
        return r

    def forward(self, words: Sequence[str] | Sequence[Sequence[str]]) -> Tensor:
        if isinstance(words, str) or not isinstance(words, Sequence) or not len(words):
            raise TypeError("expected a non-empty sequence of strings (or of equal-length sequences of strings), "
                            f"got {type(words).__name__}; for one word pass [word]")
        if isinstance(words[0], str):
            return self._embed(list(words))
        lengths = {len(s) for s in words}
        if len(lengths) != 1 or any(isinstance(s, str) for s in words):
            raise ValueError(f"expected sequences of strings of one length (N, T), got lengths {sorted(lengths)}")
        flat = [w for s in words for w in s]
        return self._embed(flat).reshape(len(words), lengths.pop(), self.embedding_dim)

    def _embed(self, words: list[str]) -> Tensor:
        for w in words:
            if not isinstance(w, str):
                raise TypeError(f"words must be strings, got {type(w).__name__}")
        rows = [self.rows(w) for w in words]
        width = max(len(r) for r in rows)
        ids = numpy.full((len(rows), width), self.padding_idx, dtype=numpy.int64)
        for i, r in enumerate(rows):
            ids[i, :len(r)] = r
        counts = numpy.array([[len(r)] for r in rows], dtype=self.weight.dtype)
        summed = F.embedding(tensor(ids, device=self.weight.device), self.weight, self.padding_idx).sum(1)
        return summed / tensor(counts, device=self.weight.device)

    def extra_repr(self) -> str:
        return (f"vocab={len(self.vocab)}, num_buckets={self.num_buckets}, embedding_dim={self.embedding_dim}, "
                f"n={self.min_n}..{self.max_n}")
