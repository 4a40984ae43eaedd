"""Tokenizers: text to integer ids and back.

* :class:`CharTokenizer` (built in) - one id per character: special tokens first, then the sorted
  characters of the text it was built from. Nothing to train, never an unknown word, long sequences.
* :class:`BPETokenizer` - byte-level byte-pair encoding (GPT-2's scheme) through Hugging Face's
  ``tokenizers`` library, an optional dependency (``pip install "nabla[text]"``). Training starts from
  the 256 byte values and repeatedly merges the most frequent adjacent pair into a new token until
  ``vocab_size`` is reached, so frequent words become one token and rare ones a few pieces; since
  every byte is a token, any text encodes and decodes back exactly.

Both have ``encode(text) -> list[int]``, ``decode(ids) -> str``, ``vocab_size``, ``token_to_id``,
``id_to_token``, ``save(path)`` and ``load(path)``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any


class CharTokenizer:
    """Character-level tokenizer: ``specials`` get ids ``0..k-1``, then each character one id.

    ``unk_token`` (one of ``specials``) stands for characters outside the vocabulary; without it
    an unknown character is an error that names it.
    """

    def __init__(self, chars: Iterable[str], specials: Sequence[str] = (), unk_token: str | None = None) -> None:
        chars = sorted(set(chars))
        for c in chars:
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"CharTokenizer: characters must be single-character strings, got {c!r}")
        specials = list(dict.fromkeys(specials))
        if unk_token is not None and unk_token not in specials:
            raise ValueError(f"CharTokenizer: unk_token {unk_token!r} must be one of the special tokens {specials}")
        self.specials, self.unk_token = specials, unk_token
        self.itos = specials + [c for c in chars if c not in specials]
        self.stoi = {t: i for i, t in enumerate(self.itos)}

    @classmethod
    def from_text(cls, text: str, specials: Sequence[str] = (), unk_token: str | None = None) -> CharTokenizer:
        """A tokenizer for the characters that occur in ``text``."""
        if not isinstance(text, str) or not text:
            raise ValueError("CharTokenizer.from_text: expected a non-empty string")
        return cls(set(text), specials, unk_token)

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def token_to_id(self, token: str) -> int | None:
        return self.stoi.get(token)

    def id_to_token(self, i: int) -> str | None:
        return self.itos[i] if 0 <= i < len(self.itos) else None

    def encode(self, text: str) -> list[int]:
        """One id per character of ``text`` (special tokens are not parsed out of the text)."""
        if not isinstance(text, str):
            raise TypeError(f"CharTokenizer.encode: expected a string, got {type(text).__name__}")
        stoi, unk = self.stoi, self.stoi.get(self.unk_token) if self.unk_token is not None else None
        out = []
        for c in text:
            i = stoi.get(c, unk)
            if i is None:
                raise ValueError(
                    f"CharTokenizer.encode: character {c!r} is not in the vocabulary of {self.vocab_size} tokens; "
                    "build the tokenizer from text that contains it, or pass unk_token"
                )
            out.append(i)
        return out

    def decode(self, ids: Any, skip_special_tokens: bool = False) -> str:
        """The text of ``ids`` (a list, array or Tensor of ints)."""
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        n = len(self.itos)
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < n:
                raise ValueError(f"CharTokenizer.decode: id {i} is outside the vocabulary [0, {n})")
            if skip_special_tokens and i < len(self.specials):
                continue
            out.append(self.itos[i])
        return "".join(out)

    def save(self, path: str | Path) -> None:
        """Write the vocabulary as JSON."""
        data = {"type": "char", "specials": self.specials, "unk_token": self.unk_token,
                "chars": self.itos[len(self.specials):]}
        Path(path).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> CharTokenizer:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("type") != "char":
            raise ValueError(f"CharTokenizer.load: {path} does not hold a character tokenizer")
        return cls(data["chars"], data["specials"], data["unk_token"])

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size}, specials={self.specials})"


def _tokenizers_lib():
    try:
        import tokenizers
    except ImportError:
        raise ImportError(
            "BPETokenizer needs the optional `tokenizers` library (Hugging Face): pip install \"nabla[text]\" "
            "(or pip install tokenizers)"
        ) from None
    return tokenizers


class BPETokenizer:
    """Byte-level BPE through Hugging Face ``tokenizers``; see the module docstring.

    Build with :meth:`train` (or :meth:`load` a saved one). ``special_tokens`` get the first ids.
    """

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int = 1000, min_frequency: int = 2,
              special_tokens: Sequence[str] = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")) -> BPETokenizer:
        """Learn merges from ``texts`` (strings, e.g. lines of a corpus) up to ``vocab_size`` tokens."""
        lib = _tokenizers_lib()
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(vocab_size, int) or vocab_size < 1:
            raise ValueError(f"BPETokenizer.train: vocab_size must be a positive int, got {vocab_size!r}")
        byte_level = lib.pre_tokenizers.ByteLevel
        tok = lib.Tokenizer(lib.models.BPE())
        tok.pre_tokenizer = byte_level(add_prefix_space=False)
        tok.decoder = lib.decoders.ByteLevel()
        trainer = lib.trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                          special_tokens=list(special_tokens), initial_alphabet=byte_level.alphabet(),
                                          show_progress=False)
        tok.train_from_iterator(texts, trainer=trainer)
        return cls(tok)

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()

    def token_to_id(self, token: str) -> int | None:
        return self.tokenizer.token_to_id(token)

    def id_to_token(self, i: int) -> str | None:
        return self.tokenizer.id_to_token(i)

    def tokenize(self, text: str) -> list[str]:
        """The token strings of ``text`` (bytes shown as GPT-2's printable characters, e.g. ``Ġ`` for a space)."""
        return self.tokenizer.encode(text).tokens

    def encode(self, text: str) -> list[int]:
        if not isinstance(text, str):
            raise TypeError(f"BPETokenizer.encode: expected a string, got {type(text).__name__}")
        return self.tokenizer.encode(text).ids

    def decode(self, ids: Any, skip_special_tokens: bool = True) -> str:
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        return self.tokenizer.decode([int(i) for i in ids], skip_special_tokens=skip_special_tokens)

    def save(self, path: str | Path) -> None:
        """Write the tokenizer (vocabulary, merges, settings) as the library's JSON."""
        self.tokenizer.save(str(path))

    @classmethod
    def load(cls, path: str | Path) -> BPETokenizer:
        return cls(_tokenizers_lib().Tokenizer.from_file(str(path)))

    def __repr__(self) -> str:
        return f"BPETokenizer(vocab_size={self.vocab_size})"
