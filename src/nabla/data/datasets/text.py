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
    """Sample ``i`` is ``(x, y)`` with ``x = data[s:s+block_size]``, ``y = data[s+1:s+block_size+1]``
    and ``s = i * stride`` (int64 Tensors); the vocabulary attributes of ``corpus`` are available here
    too. ``stride=1`` (default) gives every window; ``stride=block_size`` cuts the text into
    non-overlapping windows, so one epoch reads each character once. ``data`` may be a slice of
    ``corpus.data`` (e.g. a 90/10 split sharing one vocabulary)."""

    def __init__(self, corpus: CharCorpus, block_size: int, stride: int = 1,
                 data: numpy.ndarray | None = None) -> None:
        if not isinstance(block_size, int) or block_size < 1:
            raise ValueError(f"block_size must be an int >= 1, got {block_size!r}")
        if not isinstance(stride, int) or stride < 1:
            raise ValueError(f"stride must be an int >= 1, got {stride!r}")
        data = corpus.data if data is None else numpy.asarray(data, dtype=numpy.int64)
        if len(data) <= block_size:
            raise ValueError(f"text of {len(data)} characters is too short for block_size {block_size}")
        self.corpus, self.block_size, self.stride = corpus, block_size, stride
        self.stoi, self.itos, self.data = corpus.stoi, corpus.itos, data
        self.encode, self.decode, self.vocab_size = corpus.encode, corpus.decode, corpus.vocab_size

    def __len__(self) -> int:
        return (len(self.data) - self.block_size - 1) // self.stride + 1

    def __getitem__(self, index: int):
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"index {index} out of range for {n} windows")
        start = index * self.stride
        chunk = self.data[start:start + self.block_size + 1]
        return Tensor._wrap(chunk[:-1].copy()), Tensor._wrap(chunk[1:].copy())

    def _batch(self, indices: numpy.ndarray) -> tuple[Tensor, Tensor]:
        """A whole batch with one fancy index (the DataLoader's fast path)."""
        rows = (indices * self.stride)[:, None] + numpy.arange(self.block_size + 1)
        chunk = self.data[rows]
        return Tensor._wrap(numpy.ascontiguousarray(chunk[:, :-1])), Tensor._wrap(numpy.ascontiguousarray(chunk[:, 1:]))


def text_corpus(path, block_size: int | None = None):
    """Read a UTF-8 text file as a character-level corpus: a ``CharCorpus``, or with ``block_size``
    a ``CharBlocks`` dataset of shifted ``(x, y)`` windows for next-character prediction."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"text_corpus: no file {path} (for tiny-shakespeare, put input.txt there)")
    corpus = CharCorpus(path.read_text(encoding="utf-8"))
    return corpus if block_size is None else CharBlocks(corpus, block_size)


_SHAKESPEARE_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/"
_SHAKESPEARE_MD5 = {"input.txt": "6fb458f1232090904fb40fe944165e91"}


def tinyshakespeare(root=None, block_size: int = 128, train_ratio: float = 0.9, download: bool = True,
                    verify: bool = True) -> tuple[CharBlocks, CharBlocks]:
    """Tiny-shakespeare (1,115,394 characters, 65 distinct) as ``(train, test)`` next-character sets:
    the first ``train_ratio`` of the text and the rest, cut into non-overlapping ``block_size``
    windows, one vocabulary for both. Reads ``input.txt`` from ``root`` (default
    ``$NABLA_DATA/tinyshakespeare``), downloading it (MD5-checked) when missing and allowed."""
    from ._common import check_md5, default_root, fetch

    if not 0 < train_ratio < 1:
        raise ValueError(f"tinyshakespeare: train_ratio must lie in (0, 1), got {train_ratio}")
    root = Path(root).expanduser() if root is not None else default_root("tinyshakespeare")
    fetch("tinyshakespeare", root, ["input.txt"], [_SHAKESPEARE_URL], download, _SHAKESPEARE_MD5, verify)
    if verify:
        check_md5(root / "input.txt", _SHAKESPEARE_MD5["input.txt"])
    corpus = text_corpus(root / "input.txt")
    cut = int(len(corpus.data) * train_ratio)
    return (CharBlocks(corpus, block_size, block_size, corpus.data[:cut]),
            CharBlocks(corpus, block_size, block_size, corpus.data[cut:]))
