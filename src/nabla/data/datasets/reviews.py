"""A toy language of reviews for BERT: nouns, fillers, positive and negative adjectives and verbs.

A review is ``[CLS] A [SEP] B [SEP]``: two segments of one polarity, e.g.
``[CLS] the hotel was very superb [SEP] i adored this hotel [SEP]``. Nothing says which words are
positive; words of one polarity merely share contexts. :class:`ToyReviews` generates text for
masked-LM pre-training and labelled sentences (``examples/bert_finetune.py``); :func:`reviews` is the
labelled set ``nabla train bert --dataset reviews`` uses: ``(ids, segment ids, attention mask, polarity)``.
"""

from __future__ import annotations

import numpy as np

from ..dataset import TensorDataset

SPECIALS = ["[PAD]", "[CLS]", "[SEP]", "[MASK]"]
PAD, CLS, SEP, MASK = range(4)
NOUNS = "movie film book show play song album story game meal hotel trip class phone car".split()
FILLERS = "the a this that was is and so i it really very quite , !".split()
POSITIVE = ("good great excellent superb wonderful lovely brilliant amazing fantastic delightful charming "
            "splendid").split()
NEGATIVE = "bad awful terrible poor horrible dreadful boring dull lousy mediocre annoying tedious".split()
VERBS = {1: "loved enjoyed liked adored".split(), 0: "hated disliked regretted despised".split()}
WORDS = SPECIALS + NOUNS + FILLERS + POSITIVE + NEGATIVE + VERBS[1] + VERBS[0]
ID = {w: i for i, w in enumerate(WORDS)}
ADJECTIVES = {1: POSITIVE, 0: NEGATIVE}
SEEN = 6  # the first SEEN adjectives of each polarity appear in labelled data; the rest never do


class ToyReviews:
    """Generates the toy language (see the module docstring) with its own NumPy generator."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def pick(self, words):
        return words[self.rng.integers(len(words))]

    def adverb(self) -> list:
        return [self.pick(["very", "really", "quite"])] if self.rng.random() < 0.5 else []

    def sentence(self, polarity: int, adjectives=None) -> list:
        adj = lambda: self.pick(adjectives or ADJECTIVES[polarity])  # noqa: E731
        noun, verb = self.pick(NOUNS), self.pick(VERBS[polarity])
        form = self.rng.integers(4)
        if form == 0:
            return ["the", noun, "was"] + self.adverb() + [adj(), "and", adj()]
        if form == 1:
            return ["i", verb, "this", adj(), noun]
        if form == 2:
            return [adj(), noun, ",", adj(), "and", adj()]
        return ["a"] + self.adverb() + [adj(), ",", adj(), noun]

    def review(self) -> tuple[list, list]:
        """Token ids and segment ids of ``[CLS] A [SEP] B [SEP]``: one sentence, then two, of one polarity."""
        polarity = int(self.rng.integers(2))
        a, b = self.sentence(polarity), self.sentence(polarity) + [","] + self.sentence(polarity)
        ids = [CLS] + [ID[w] for w in a] + [SEP] + [ID[w] for w in b] + [SEP]
        return ids, [0] * (len(a) + 2) + [1] * (len(b) + 1)

    def labelled(self, adjectives_of: dict) -> tuple[list, int]:
        """A one-sentence review whose only clue is its adjective(s), and its polarity."""
        polarity = int(self.rng.integers(2))
        words = None
        while words is None or not any(w in ADJECTIVES[polarity] for w in words):
            words = self.sentence(polarity, adjectives_of[polarity])
            if any(w in VERBS[polarity] for w in words):
                words = None  # keep only the forms without a verb: the adjective must decide
        return [CLS] + [ID[w] for w in words] + [SEP], polarity


def pad(rows: list, length: int) -> np.ndarray:
    out = np.full((len(rows), length), PAD, dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    return out




MAX_LEN = 25  # [CLS] + longest sentence (7) + [SEP] + two sentences and a comma (15) + [SEP]


def reviews(n_train: int = 4000, n_test: int = 1000, seed: int = 0) -> tuple[TensorDataset, TensorDataset]:
    """``(train, test)`` TensorDatasets of whole reviews: token ids (N, T) padded with ``[PAD]``,
    segment ids (N, T), attention mask (N, T) (T = ``MAX_LEN``) and the polarity (N,) (1 = positive)."""
    if not isinstance(n_train, int) or n_train < 1 or not isinstance(n_test, int) or n_test < 1:
        raise ValueError(f"reviews: n_train and n_test must be positive ints, got {n_train!r}, {n_test!r}")
    gen = ToyReviews(seed)
    rows, labels = [], []
    for _ in range(n_train + n_test):
        ids, segs = gen.review()
        rows.append((ids, segs))
        labels.append(int(any(WORDS[i] in POSITIVE or WORDS[i] in VERBS[1] for i in ids)))
    ids = pad([r[0] for r in rows], MAX_LEN)
    segs = pad([r[1] for r in rows], MAX_LEN)
    mask = (ids != PAD).astype(np.int64)
    y = np.asarray(labels, dtype=np.int64)
    parts = [slice(0, n_train), slice(n_train, None)]
    return tuple(TensorDataset(ids[p], segs[p], mask[p], y[p]) for p in parts)  # type: ignore[return-value]
