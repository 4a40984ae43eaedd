"""Shared pieces: cache folders, MD5 checks, downloads and the uint8 image dataset."""

from __future__ import annotations

import hashlib
import os
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import numpy

from ...tensor import Tensor
from ..dataset import TensorDataset


def default_root(name: str) -> Path:
    """``$NABLA_DATA/<name>`` when ``NABLA_DATA`` is set, else ``~/.cache/nabla/datasets/<name>``."""
    base = os.environ.get("NABLA_DATA")
    return (Path(base) if base else Path.home() / ".cache" / "nabla" / "datasets") / name


def md5sum(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_md5(path: Path, expected: str) -> None:
    got = md5sum(path)
    if got != expected:
        raise ValueError(f"{path}: MD5 checksum mismatch (got {got}, expected {expected}); "
                         f"the file is corrupt or not the official one — delete it and download it again")


def fetch(name: str, root: Path, files: Sequence[str], mirrors: Sequence[str], download: bool,
          md5s: dict[str, str], verify: bool) -> None:
    """Make sure every file of ``files`` is in ``root``: download what is missing (if allowed) from
    the first mirror that answers, or raise FileNotFoundError saying which files to put where."""
    missing = [f for f in files if not (root / f).is_file()]
    if not missing:
        return
    error = None
    if download:
        try:
            root.mkdir(parents=True, exist_ok=True)
            for f in missing:
                for base in mirrors:
                    tmp = root / (f + ".part")
                    try:
                        with urllib.request.urlopen(base + f, timeout=30) as r, open(tmp, "wb") as out:
                            while chunk := r.read(1 << 20):
                                out.write(chunk)
                        if verify and md5sum(tmp) != md5s[f]:
                            raise ValueError(f"downloaded {f} from {base} has the wrong MD5")
                        tmp.replace(root / f)
                        break
                    except Exception as e:  # try the next mirror
                        error = e
                        tmp.unlink(missing_ok=True)
                else:
                    raise OSError(f"no mirror could provide {f}: {error}")
        except (OSError, ValueError) as e:
            error = e
        missing = [f for f in files if not (root / f).is_file()]
        if not missing:
            return
    why = f"download failed ({error})" if download else "download=False"
    raise FileNotFoundError(
        f"{name}: missing file(s) {', '.join(missing)} in folder {root} ({why}). "
        f"Get them from {mirrors[0] if mirrors else 'the official site'} and put them, as they are "
        f"(not extracted), in {root}; a script's --data-dir option should point to that folder.")


class ImageDataset(TensorDataset):
    """Images kept as uint8 ``(N, C, H, W)`` NumPy arrays, labels as int64; each sample or batch
    comes out as float32 in [0, 1] (``image / 255``) and int64 labels.

    uint8 is kept and converted per batch rather than float32 once: it takes a quarter of the
    memory (47 MB instead of 188 MB for MNIST's training set), and dividing one batch costs far
    less than the model's step. It is a ``TensorDataset``, so ``DataLoader`` takes its fast path
    (one fancy index per batch). ``images`` and ``targets`` hold the raw arrays.
    """

    def __init__(self, images: numpy.ndarray, targets: numpy.ndarray, classes: Sequence[str] = ()) -> None:
        if images.shape[0] != targets.shape[0]:
            raise ValueError(f"ImageDataset: {images.shape[0]} images but {targets.shape[0]} labels")
        self.images = numpy.ascontiguousarray(images, dtype=numpy.uint8)
        self.targets = numpy.ascontiguousarray(targets, dtype=numpy.int64)
        self.classes = list(classes)

    @property
    def tensors(self) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        """The whole set as float32/int64 Tensors (converts everything: meant for small sets)."""
        return self._batch(numpy.arange(len(self)))

    def __len__(self) -> int:
        return int(self.targets.shape[0])

    def __getitem__(self, index):
        x = self.images[index].astype(numpy.float32) / numpy.float32(255.0)
        y = self.targets[index]
        return Tensor._wrap(x), Tensor._wrap(numpy.asarray(y))

    def _batch(self, indices: numpy.ndarray) -> tuple[Tensor, Tensor]:
        x = self.images[indices].astype(numpy.float32)
        x *= numpy.float32(1.0 / 255.0)
        return Tensor._wrap(x), Tensor._wrap(self.targets[indices])
