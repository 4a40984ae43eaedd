"""MNIST and Fashion-MNIST from the official IDX ``.gz`` files."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy

from ._common import ImageDataset, check_md5, default_root, fetch

_FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
          "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}

_MNIST_MD5 = {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
              "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
              "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
              "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}
_FASHION_MD5 = {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
                "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
                "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"}
_MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
_FASHION_MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
_FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                    "Ankle boot")


def read_idx(path: Path, expected_ndim: int) -> numpy.ndarray:
    """Read one gzipped IDX file of unsigned bytes (magic 0x0000 08 <ndim>) into a uint8 array."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(f"{path}: not a readable gzip file (truncated or corrupt): {e}") from None
    if len(raw) < 4:
        raise ValueError(f"{path}: truncated IDX file ({len(raw)} bytes, no header)")
    magic = int.from_bytes(raw[:4], "big")
    if magic != 0x800 + expected_ndim:
        raise ValueError(f"{path}: bad IDX magic number {magic:#010x}, expected {0x800 + expected_ndim:#010x} "
                         f"(unsigned bytes, {expected_ndim} dimension(s))")
    header = 4 + 4 * expected_ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(expected_ndim))
    size = int(numpy.prod(shape))
    if len(raw) - header != size:
        kind = "truncated" if len(raw) - header < size else "has trailing bytes"
        raise ValueError(f"{path}: IDX file {kind}: header says shape {shape} ({size} bytes) "
                         f"but the body has {len(raw) - header} bytes")
    return numpy.frombuffer(raw, dtype=numpy.uint8, offset=header).reshape(shape)


def _load(name: str, md5s: dict, mirrors, classes, root, split: str, download: bool, verify: bool) -> ImageDataset:
    if split not in _FILES:
        raise ValueError(f"{name}: split must be 'train' or 'test', got {split!r}")
    root = Path(root).expanduser() if root is not None else default_root(name)
    img_file, lbl_file = _FILES[split]
    fetch(name, root, (img_file, lbl_file), mirrors, download, md5s, verify)
    if verify:
        for f in (img_file, lbl_file):
            check_md5(root / f, md5s[f])
    images = read_idx(root / img_file, 3)
    labels = read_idx(root / lbl_file, 1)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{name}: count mismatch: {root / img_file} has {images.shape[0]} images but "
                         f"{root / lbl_file} has {labels.shape[0]} labels")
    if images.shape[1:] != (28, 28):
        raise ValueError(f"{root / img_file}: images are {images.shape[1:]}, expected (28, 28)")
    if labels.size and labels.max() > 9:
        raise ValueError(f"{root / lbl_file}: label {int(labels.max())} out of range 0..9")
    return ImageDataset(images[:, None, :, :], labels.astype(numpy.int64), classes)


def mnist(root=None, split: str = "train", download: bool = True, verify: bool = True) -> ImageDataset:
    """MNIST handwritten digits: samples ``(float32 image (1, 28, 28) in [0, 1], int64 label)``.

    Reads the official ``{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz`` files from ``root``
    (default ``$NABLA_DATA/mnist`` or ``~/.cache/nabla/datasets/mnist``); a split needs only its own
    two files. Missing files are downloaded when ``download`` (else FileNotFoundError naming them
    and the folder). ``verify`` checks each file's MD5 against the official checksum. Images are kept
    as uint8 and converted to float32 per batch (a quarter of the memory); see ``ImageDataset``.
    """
    return _load("mnist", _MNIST_MD5, _MNIST_MIRRORS, [str(i) for i in range(10)], root, split, download, verify)


def fashion_mnist(root=None, split: str = "train", download: bool = True, verify: bool = True) -> ImageDataset:
    """Fashion-MNIST (Zalando): same files, format and behaviour as ``mnist`` (default folder
    ``.../fashion_mnist``), ten clothing classes listed in ``.classes``."""
    return _load("fashion_mnist", _FASHION_MD5, _FASHION_MIRRORS, _FASHION_CLASSES, root, split, download, verify)
