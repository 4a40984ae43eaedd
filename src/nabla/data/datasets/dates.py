"""The date-normalisation task for sequence-to-sequence models: human-written dates -> ISO dates.

:func:`make_date_pairs`: a date written in one of many human formats ("3 May 1998", "05/03/98",
"Sunday, May 3, 1998", "3rd of may 1998", ...) maps to ISO ``1998-05-03``. Slashes are month-first
(US), dots day-first (European), so every input has one reading; two-digit years mean 1950-2049.
:func:`dates` gives it as train/test datasets of ``(src ids, src lengths, decoder input, target)``
with held-out dates that never occur in training.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence

import numpy

from ...creation import tensor
from ...tensor import Tensor
from ..dataset import TensorDataset

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
FIRST_DATE, LAST_DATE = datetime.date(1950, 1, 1), datetime.date(2049, 12, 31)


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _fmt(d: datetime.date) -> dict:
    return {"d": d.day, "dd": f"{d.day:02d}", "m": d.month, "mm": f"{d.month:02d}", "yyyy": d.year,
            "yy": f"{d.year % 100:02d}", "Month": _MONTHS[d.month - 1], "Mon": _MONTHS[d.month - 1][:3],
            "Day": _DAYS[d.weekday()], "Dy": _DAYS[d.weekday()][:3], "dth": _ordinal(d.day)}


# Each format writes a date one way; ``date_formats()`` lists them for tests and examples.
_FORMATS: list[Callable[[dict], str]] = [
    lambda f: f"{f['d']} {f['Month']} {f['yyyy']}",  # 3 May 1998
    lambda f: f"{f['dd']} {f['Mon']} {f['yyyy']}",  # 03 May 1998
    lambda f: f"{f['Month']} {f['d']}, {f['yyyy']}",  # May 3, 1998
    lambda f: f"{f['Day']}, {f['Month']} {f['d']}, {f['yyyy']}",  # Sunday, May 3, 1998
    lambda f: f"{f['Dy']}, {f['d']} {f['Mon']} {f['yyyy']}",  # Sun, 3 May 1998
    lambda f: f"{f['mm']}/{f['dd']}/{f['yy']}",  # 05/03/98
    lambda f: f"{f['m']}/{f['d']}/{f['yyyy']}",  # 5/3/1998
    lambda f: f"{f['dd']}.{f['mm']}.{f['yyyy']}",  # 03.05.1998
    lambda f: f"{f['d']}.{f['m']}.{f['yy']}",  # 3.5.98
    lambda f: f"{f['dth']} of {f['Month'].lower()} {f['yyyy']}",  # 3rd of may 1998
    lambda f: f"{f['Month'].upper()} {f['d']}, {f['yyyy']}",  # MAY 3, 1998
    lambda f: f"{f['d']}-{f['Mon']}-{f['yy']}",  # 3-May-98
    lambda f: f"{f['yyyy']}/{f['mm']}/{f['dd']}",  # 1998/05/03
    lambda f: f"{f['Day'].lower()} {f['dth']} {f['Month'].lower()} {f['yy']}",  # sunday 3rd may 98
]


def date_formats() -> int:
    """How many input formats the task uses."""
    return len(_FORMATS)


def format_date(d: datetime.date, which: int) -> str:
    """``d`` written in input format number ``which`` (0 <= which < date_formats())."""
    return _FORMATS[which](_fmt(d))


def make_date_pairs(n: int, seed: int = 0, exclude: set[datetime.date] | None = None) -> list[tuple[str, str]]:
    """``n`` (human date, ISO date) pairs: uniform dates in 1950-2049, uniform formats. Dates in
    ``exclude`` are never drawn (keep the held-out dates apart from the training dates)."""
    rng = numpy.random.default_rng(seed)
    span = (LAST_DATE - FIRST_DATE).days + 1
    pairs: list[tuple[str, str]] = []
    while len(pairs) < n:
        d = FIRST_DATE + datetime.timedelta(days=int(rng.integers(span)))
        if exclude is not None and d in exclude:
            continue
        pairs.append((format_date(d, int(rng.integers(len(_FORMATS)))), d.isoformat()))
    return pairs


class CharVocab:
    """Characters <-> ids with ``<pad>`` = 0 and ``<s>`` = 1; ``encode_batch`` pads a list of strings."""

    PAD, BOS = 0, 1

    def __init__(self, chars: str) -> None:
        self.itos = ["<pad>", "<s>"] + sorted(set(chars))
        self.stoi = {c: i for i, c in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, s: str) -> list[int]:
        try:
            return [self.stoi[c] for c in s]
        except KeyError as e:
            raise ValueError(f"CharVocab: character {e.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.itos[int(i)] for i in ids if int(i) > self.BOS)

    def encode_batch(self, strings: Sequence[str]) -> tuple[Tensor, numpy.ndarray]:
        """Padded ids (B, max length) and the lengths (B,)."""
        ids = [self.encode(s) for s in strings]
        lengths = numpy.array([len(i) for i in ids], dtype=numpy.int64)
        out = numpy.zeros((len(ids), int(lengths.max())), dtype=numpy.int64)
        for row, i in zip(out, ids):
            row[:len(i)] = i
        return tensor(out), lengths


def date_vocabs() -> tuple[CharVocab, CharVocab]:
    """The source vocabulary (every character any format can write) and the target one (digits and '-')."""
    chars = set("0123456789 ,./-")
    for words in (_MONTHS, _DAYS):
        for w in words:
            chars |= set(w) | set(w.lower()) | set(w.upper())
    chars |= set("stndrhof")  # ordinals and "of"
    return CharVocab("".join(chars)), CharVocab("0123456789-")




def dates(n_train: int = 20_000, n_test: int = 2_000, seed: int = 0) -> tuple[TensorDataset, TensorDataset]:
    """``(train, test)`` TensorDatasets of ``(src (N, S) ids padded with 0, src lengths (N,), decoder
    input (N, 10) = <s> + target[:-1], target (N, 10))``; the test dates never occur in training.
    Both carry ``src_vocab`` and ``tgt_vocab`` (:class:`CharVocab`)."""
    if not isinstance(n_train, int) or n_train < 1 or not isinstance(n_test, int) or n_test < 1:
        raise ValueError(f"dates: n_train and n_test must be positive ints, got {n_train!r}, {n_test!r}")
    test_pairs = make_date_pairs(n_test, seed=seed + 1)
    held_out = {datetime.date.fromisoformat(t) for _, t in test_pairs}
    train_pairs = make_date_pairs(n_train, seed=seed, exclude=held_out)
    src_vocab, tgt_vocab = date_vocabs()
    width = max(len(s) for s, _ in train_pairs + test_pairs)

    def build(pairs: list[tuple[str, str]]) -> TensorDataset:
        src = numpy.zeros((len(pairs), width), dtype=numpy.int64)
        lengths = numpy.array([len(s) for s, _ in pairs], dtype=numpy.int64)
        for row, (s, _) in zip(src, pairs):
            row[:len(s)] = src_vocab.encode(s)
        tgt = numpy.array([tgt_vocab.encode(t) for _, t in pairs], dtype=numpy.int64)
        tgt_in = numpy.concatenate([numpy.full((len(tgt), 1), CharVocab.BOS, dtype=numpy.int64), tgt[:, :-1]], 1)
        ds = TensorDataset(src, lengths, tgt_in, tgt)
        ds.src_vocab, ds.tgt_vocab, ds.pairs = src_vocab, tgt_vocab, pairs
        return ds

    return build(train_pairs), build(test_pairs)
