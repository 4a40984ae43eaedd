"""Data sets by name, for ``nabla train --dataset NAME`` and anyone who wants one call for a split.

``load_dataset(name, root=None, split=None, holdout=None)`` returns ``(train, test, spec)``:

* no ``split``/``holdout``: the set's own train and test parts;
* ``holdout=N``: the last ``N`` samples of the train part are held out for testing;
* ``split="test", holdout=N``: train on the test part but its last ``N`` samples — e.g. the first 8,000
  MNIST test images for training and the last 2,000 for evaluation when only ``t10k-*`` files exist;
* ``split=S`` alone: part ``S`` as both (for evaluating on a whole part).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy

from .. import toy
from ..dataset import Dataset, Subset, TensorDataset
from ._common import ImageDataset
from .cifar import cifar10
from .dates import date_vocabs, dates
from .digits import digits
from .mnist import fashion_mnist, mnist
from .reviews import MAX_LEN, WORDS, reviews
from .text import CharBlocks, tinyshakespeare

__all__ = ["DatasetSpec", "DATASETS", "list_datasets", "load_dataset"]


@dataclass(frozen=True)
class DatasetSpec:
    """What a named data set is: its samples' shape, the task and how to get its two parts."""

    name: str
    description: str
    input_shape: tuple[int, ...]
    num_classes: int | None  # None: regression with one output
    source: str  # what it needs: "generated", "scikit-learn" or the files it reads
    parts: Callable[[Any], tuple[Dataset, Dataset]]  # parts(root) -> (train, test)
    kind: str = ""  # "language_model" / "seq2seq" for token sets; else derived from num_classes
    model_args: dict[str, Any] | None = None  # what a model needs to know of the data (e.g. vocabulary sizes)
    part: Callable[[Any, str], Dataset] | None = None  # part(root, "train"|"test"): one part's files only

    @property
    def task(self) -> str:
        if self.kind:
            return self.kind
        return "regression" if self.num_classes is None else "classification"

    @property
    def outputs(self) -> int:
        """The model's output width: one logit per class, one value for regression."""
        return 1 if self.num_classes is None else self.num_classes


_MNIST_FILES = "train-/t10k-images-idx3-ubyte.gz, train-/t10k-labels-idx1-ubyte.gz"

DATASETS: dict[str, DatasetSpec] = {}


def _add(spec: DatasetSpec) -> None:
    DATASETS[spec.name] = spec


def _add_files(name: str, description: str, shape: tuple, source: str, fn: Callable):
    """A set read from files per part (``fn(root, split=part)``), so a part needs only its own files."""
    _add(
        DatasetSpec(
            name,
            description,
            shape,
            10,
            source,
            lambda root: (fn(root, split="train"), fn(root, split="test")),
            part=lambda root, part: fn(root, split=part),
        )
    )


_add(DatasetSpec("digits", "scikit-learn's 8x8 handwritten digits, 1,797 images (80/20 split)", (1, 8, 8), 10,
                 "scikit-learn (bundled, no download)", lambda root: digits()))
_add_files("mnist", "MNIST handwritten digits, 60,000 + 10,000 images 28x28", (1, 28, 28),
           f"IDX files {_MNIST_FILES} (downloaded, or in --data-dir)", mnist)
_add_files("fashion_mnist", "Fashion-MNIST clothing, 60,000 + 10,000 images 28x28", (1, 28, 28),
           f"IDX files {_MNIST_FILES} (downloaded, or in --data-dir)", fashion_mnist)
_add_files("cifar10", "CIFAR-10 colour images, 50,000 + 10,000 images 3x32x32", (3, 32, 32),
           "cifar-10-binary.tar.gz (downloaded, or in --data-dir)", cifar10)
for _name, _fn, _what in [("xor", toy.xor, "XOR quadrants"), ("circle", toy.circle, "a disc inside a ring"),
                          ("gauss", toy.gauss, "two Gaussian blobs"), ("spiral", toy.spiral, "two interleaved spirals"),
                          ("moons", toy.moons, "two half-moons")]:
    _add(DatasetSpec(_name, f"2-D toy set: {_what}, 500 points (80/20)", (2,), 2, "generated",
                     lambda root, fn=_fn: fn()))
_add(DatasetSpec("plane", "2-D regression: a tilted plane, 500 points (80/20)", (2,), None, "generated",
                 lambda root: toy.plane()))
_add(DatasetSpec("multi_gauss", "2-D regression: six Gaussian bumps, 500 points (80/20)", (2,), None, "generated",
                 lambda root: toy.multi_gauss()))
_add(DatasetSpec("tinyshakespeare", "tiny-shakespeare text, 1,115,394 characters (90/10), next-character windows "
                 "of 128", (128,), 65, "input.txt (downloaded, or in --data-dir)", lambda root: tinyshakespeare(root),
                 kind="language_model"))
_add(DatasetSpec("dates", "date normalisation for seq2seq: 14 human formats -> ISO (20,000 pairs; 2,000 held-out "
                 "dates)", (29,), len(date_vocabs()[1]), "generated", lambda root: dates(), kind="seq2seq",
                 model_args={"src_vocab": len(date_vocabs()[0]), "tgt_vocab": len(date_vocabs()[1])}))
_add(DatasetSpec("reviews", "toy review language for BERT: polarity of two-segment reviews (4,000 + 1,000)",
                 (MAX_LEN,), 2, "generated", lambda root: reviews(),
                 model_args={"vocab_size": len(WORDS), "max_position_embeddings": 64}))


def list_datasets() -> list[str]:
    return sorted(DATASETS)


def get_spec(name: str) -> DatasetSpec:
    spec = DATASETS.get(name)
    if spec is None:
        raise ValueError(f"unknown data set {name!r}; valid names: {', '.join(list_datasets())}")
    return spec


def _slice(ds: Dataset, start: int, stop: int) -> Dataset:
    """Samples ``start:stop`` of ``ds``, keeping the DataLoader's one-index-per-batch fast path."""
    if isinstance(ds, ImageDataset):
        return ImageDataset(ds.images[start:stop], ds.targets[start:stop], ds.classes)
    if isinstance(ds, TensorDataset):
        out = TensorDataset(*(t[start:stop] for t in ds.tensors))
        for key, value in vars(ds).items():  # what a set carries besides its tensors (vocabularies, pairs)
            if key not in vars(out):
                setattr(out, key, value[start:stop] if isinstance(value, list) and len(value) == len(ds) else value)
        return out
    if isinstance(ds, CharBlocks):  # windows start:stop of the text, same vocabulary
        lo, hi = start * ds.stride, (stop - 1) * ds.stride + ds.block_size + 1
        return CharBlocks(ds.corpus, ds.block_size, ds.stride, ds.data[lo:hi])
    return Subset(ds, range(start, stop))


def _part_loader(spec: DatasetSpec, root: Any) -> Callable[[str], Dataset]:
    """Load one part on demand: file-backed sets read only that part's files."""
    if spec.part is not None:
        return lambda part: spec.part(root, part)
    cache: dict[str, tuple[Dataset, Dataset]] = {}

    def load(part: str) -> Dataset:
        if "both" not in cache:
            cache["both"] = spec.parts(root)
        return cache["both"][0 if part == "train" else 1]

    return load


def load_dataset(name: str, root: str | Path | None = None, split: str | None = None,
                 holdout: int | None = None) -> tuple[Dataset, Dataset, DatasetSpec]:
    """``(train, test, spec)`` for the data set ``name`` (see the module docstring for ``split``/``holdout``)."""
    spec = get_spec(name)
    if split is not None and split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if holdout is not None and (isinstance(holdout, bool) or not isinstance(holdout, int) or holdout <= 0):
        raise ValueError(f"holdout must be a positive number of samples, got {holdout!r}")
    load = _part_loader(spec, root)
    if spec.kind == "language_model":  # the vocabulary is the text's: set the output width from it
        import dataclasses

        spec = dataclasses.replace(spec, num_classes=int(load("train").vocab_size))
    if split is None and holdout is None:
        return load("train"), load("test"), spec
    base = load(split or "train")
    if holdout is None:
        return base, base, spec
    n = len(base)
    if holdout >= n:
        raise ValueError(f"holdout={holdout} leaves nothing to train on: the {split or 'train'} part of {name} "
                         f"has {n} samples")
    return _slice(base, 0, n - holdout), _slice(base, n - holdout, n), spec


def as_array_batch(x: numpy.ndarray, spec: DatasetSpec) -> numpy.ndarray:
    """Shape user-supplied samples to ``(N, *input_shape)``: one sample or a batch, flat or not."""
    shape = spec.input_shape
    if x.shape == shape or x.size == math.prod(shape) and x.ndim <= len(shape):
        return x.reshape((1, *shape))
    if x.shape[1:] == shape:
        return x
    if x.ndim == 2 and x.shape[1] == math.prod(shape):
        return x.reshape((x.shape[0], *shape))
    if len(shape) == 3 and shape[0] == 1 and x.shape[1:] == shape[1:]:  # (N, H, W) one-channel images
        return x[:, None]
    one_channel = f", (N, {shape[1]}, {shape[2]})" if len(shape) == 3 and shape[0] == 1 else ""
    raise ValueError(f"input of shape {x.shape} does not fit data set {spec.name!r}: expected one sample "
                     f"{shape}, a batch (N, {', '.join(map(str, shape))}){one_channel} or flat rows "
                     f"(N, {math.prod(shape)})")
