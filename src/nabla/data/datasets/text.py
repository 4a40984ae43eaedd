"""Character-level text corpora (e.g. tiny-shakespeare) with a vocabulary and (x, y) windows."""

from __future__ import annotations

from pathlib import Path

import numpy

from ...tensor import Tensor
from ..dataset import Dataset


class CharCorpus:
    """A text and its character vocabulary: ``itos`` (sorted distinct characters), ``stoi``,
    ``encode(str) -> int64 array``, ``decode(ints) -> str``, ``data`` (the whole text encoded)."""

    def __init__(self, text: str) -> None:
        if not text:
            raise ValueError("CharCorpus: empty text")
        self.text = text
        self.itos = sorted(set(text))
        self.stoi = {c: i for i, c in enumerate(self.itos)}
        self.data = self.encode(text)

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def encode(self, s: str) -> numpy.ndarray:
        try:
            return numpy.fromiter((self.stoi[c] for c in s), dtype=numpy.int64, count=len(s))
        except KeyError as e:
            raise ValueError(f"encode: character {e.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids) -> str:
        if isinstance(ids, Tensor):
            ids = ids.numpy()
        return "".join(self.itos[int(i)] for i in numpy.asarray(ids).reshape(-1))

    def __len__(self) -> int:
        return len(self.data)


class CharBlocks(Dataset):
    """Sample ``i`` is ``(x, y)`` with ``x = data[i:i+block_size]``, ``y = data[i+1:i+block_size+1]``
    (int64 Tensors); the vocabulary attributes of ``corpus`` are available here too."""

    def __init__(self, corpus: CharCorpus, block_size: int) -> None:
        if not isinstance(block_size, int) or block_size < 1:
            raise ValueError(f"block_size must be an int >= 1, got {block_size!r}")
        if len(corpus.data) <= block_size:
            raise ValueError(f"text of {len(corpus.data)} characters is too short for block_size {block_size}")
        self.corpus, self.block_size = corpus, block_size
        self.stoi, self.itos, self.data = corpus.stoi, corpus.itos, corpus.data
        self.encode, self.decode, self.vocab_size = corpus.encode, corpus.decode, corpus.vocab_size

    def __len__(self) -> int:
        return len(self.data) - self.block_size

    def __getitem__(self, index: int):
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"index {index} out of range for {n} windows")
        chunk = self.data[index:index + self.block_size + 1]
        return Tensor._wrap(chunk[:-1].copy()), Tensor._wrap(chunk[1:].copy())


def text_corpus(path, block_size: int | None = None):
    """Read a UTF-8 text file as a character-level corpus: a ``CharCorpus``, or with ``block_size``
    a ``CharBlocks`` dataset of shifted ``(x, y)`` windows for next-character prediction."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"text_corpus: no file {path} (for tiny-shakespeare, put input.txt there)")
    corpus = CharCorpus(path.read_text(encoding="utf-8"))
    return corpus if block_size is None else CharBlocks(corpus, block_size)
