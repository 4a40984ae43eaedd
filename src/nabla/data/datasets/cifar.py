"""CIFAR-10 from the official *binary* archive ``cifar-10-binary.tar.gz`` (never the pickled one)."""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy

from ._common import ImageDataset, check_md5, default_root, fetch

ARCHIVE = "cifar-10-binary.tar.gz"
ARCHIVE_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
FOLDER = "cifar-10-batches-bin"
_MIRRORS = ("https://www.cs.toronto.edu/~kriz/",)
_BATCHES = {"train": [f"data_batch_{i}.bin" for i in range(1, 6)], "test": ["test_batch.bin"]}
_RECORD = 1 + 3 * 32 * 32
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _parse(raw: bytes, where: str) -> tuple[numpy.ndarray, numpy.ndarray]:
    if len(raw) == 0 or len(raw) % _RECORD:
        raise ValueError(f"{where}: truncated or corrupt CIFAR-10 batch: {len(raw)} bytes is not a positive "
                         f"multiple of the {_RECORD}-byte record (1 label byte + 3072 pixel bytes)")
    rec = numpy.frombuffer(raw, dtype=numpy.uint8).reshape(-1, _RECORD)
    labels = rec[:, 0].astype(numpy.int64)
    if labels.max() > 9:
        raise ValueError(f"{where}: label {int(labels.max())} out of range 0..9 (not a CIFAR-10 binary batch?)")
    return rec[:, 1:].reshape(-1, 3, 32, 32), labels


def cifar10(root=None, split: str = "train", download: bool = True, verify: bool = True) -> ImageDataset:
    """CIFAR-10: samples ``(float32 image (3, 32, 32) in [0, 1], int64 label)``.

    Reads ``data_batch_1..5.bin`` (train) or ``test_batch.bin`` (test) — records of 1 label byte +
    3072 pixel bytes (R, G, B planes of 32x32) — from an extracted ``root/cifar-10-batches-bin/``
    folder if present, else straight out of ``root/cifar-10-binary.tar.gz`` (downloaded when missing
    and ``download``). ``verify`` checks the archive's MD5 against the official one. Default root:
    ``$NABLA_DATA/cifar10`` or ``~/.cache/nabla/datasets/cifar10``. Images stay uint8 and are
    converted per batch (see ``ImageDataset``).
    """
    if split not in _BATCHES:
        raise ValueError(f"cifar10: split must be 'train' or 'test', got {split!r}")
    root = Path(root).expanduser() if root is not None else default_root("cifar10")
    names = _BATCHES[split]
    folder = root / FOLDER
    parts = []
    if all((folder / n).is_file() for n in names):
        for n in names:
            parts.append(_parse((folder / n).read_bytes(), str(folder / n)))
    else:
        fetch("cifar10", root, (ARCHIVE,), _MIRRORS, download, {ARCHIVE: ARCHIVE_MD5}, verify)
        path = root / ARCHIVE
        if verify:
            check_md5(path, ARCHIVE_MD5)
        try:
            with tarfile.open(path, "r:gz") as tar:
                members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
                for n in names:
                    if n not in members:
                        raise ValueError(f"{path}: archive has no {n} (not the binary CIFAR-10 version?)")
                    parts.append(_parse(tar.extractfile(members[n]).read(), f"{path}:{members[n].name}"))
        except (tarfile.TarError, EOFError, OSError) as e:
            raise ValueError(f"{path}: unreadable tar.gz archive (truncated or corrupt): {e}") from None
    images = numpy.concatenate([p[0] for p in parts])
    labels = numpy.concatenate([p[1] for p in parts])
    return ImageDataset(images, labels, CLASSES)
