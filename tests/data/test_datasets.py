"""nabla.data.datasets: MNIST/Fashion-MNIST IDX readers, CIFAR-10 binary, digits, text corpora."""

from __future__ import annotations

import gzip
import io
import shutil
import tarfile
from pathlib import Path

import numpy
import pytest

from nabla.data import DataLoader, TensorDataset, datasets as nds

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
MNIST_DIR = SHARED / "mnist"
SHAKESPEARE = SHARED / "tinyshakespeare" / "input.txt"
TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

needs_mnist = pytest.mark.skipif(not all((MNIST_DIR / f).is_file() for f in TEST_FILES),
                                 reason=f"real MNIST test files not found in {MNIST_DIR} (../shared/datasets absent)")
needs_shakespeare = pytest.mark.skipif(
    not SHAKESPEARE.is_file(), reason=f"tiny-shakespeare not found at {SHAKESPEARE} (../shared/datasets absent)"
)


def _copy_mnist(tmp_path: Path) -> Path:
    root = tmp_path / "mnist"
    root.mkdir()
    for f in TEST_FILES:
        shutil.copy(MNIST_DIR / f, root / f)
    return root


def _write_gz(path: Path, raw: bytes) -> None:
    with gzip.open(path, "wb") as f:
        f.write(raw)


@needs_mnist
def test_mnist_real_test_split():
    ds = nds.mnist(MNIST_DIR, split="test", download=False)
    assert isinstance(ds, TensorDataset)
    assert len(ds) == 10_000
    x, y = ds[0]
    assert x.shape == (1, 28, 28) and x.dtype == numpy.float32
    assert int(y.item()) == 7
    assert ds.images.dtype == numpy.uint8 and ds.images.shape == (10_000, 1, 28, 28)
    assert ds.targets.dtype == numpy.int64
    assert set(numpy.unique(ds.targets).tolist()) == set(range(10))
    xb, yb = next(iter(DataLoader(ds, batch_size=256)))
    xn = xb.numpy()
    assert xb.shape == (256, 1, 28, 28) and xb.dtype == numpy.float32 and yb.dtype == numpy.int64
    assert xn.min() >= 0.0 and xn.max() <= 1.0 and xn.max() == 1.0
    numpy.testing.assert_allclose(xn[0], x.numpy())
    assert int(yb.numpy()[0]) == 7


@needs_mnist
def test_mnist_missing_train_files_message(tmp_path):
    root = _copy_mnist(tmp_path)
    with pytest.raises(FileNotFoundError) as e:
        nds.mnist(root, split="train", download=False)
    msg = str(e.value)
    assert "train-images-idx3-ubyte.gz" in msg and "train-labels-idx1-ubyte.gz" in msg
    assert str(root) in msg and "--data-dir" in msg
    assert "t10k" not in msg


@needs_mnist
def test_mnist_md5_mismatch(tmp_path):
    root = _copy_mnist(tmp_path)
    raw = gzip.decompress((root / TEST_FILES[1]).read_bytes())
    _write_gz(root / TEST_FILES[1], raw)  # same content, different gzip bytes -> different md5
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz.*MD5"):
        nds.mnist(root, split="test", download=False)
    assert len(nds.mnist(root, split="test", download=False, verify=False)) == 10_000


@needs_mnist
def test_mnist_truncated(tmp_path):
    root = _copy_mnist(tmp_path)
    raw = gzip.decompress((root / TEST_FILES[0]).read_bytes())
    _write_gz(root / TEST_FILES[0], raw[:-100])
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz.*truncated"):
        nds.mnist(root, split="test", download=False, verify=False)
    # a cut gzip stream
    (root / TEST_FILES[0]).write_bytes((MNIST_DIR / TEST_FILES[0]).read_bytes()[:5000])
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz"):
        nds.mnist(root, split="test", download=False, verify=False)
    with pytest.raises(ValueError, match="MD5"):
        nds.mnist(root, split="test", download=False)


@needs_mnist
def test_mnist_bad_magic_and_count_mismatch(tmp_path):
    root = _copy_mnist(tmp_path)
    raw = bytearray(gzip.decompress((root / TEST_FILES[1]).read_bytes()))
    bad = bytes(raw)
    bad = (2051).to_bytes(4, "big") + bad[4:]
    _write_gz(root / TEST_FILES[1], bad)
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz.*magic"):
        nds.mnist(root, split="test", download=False, verify=False)
    short = (2049).to_bytes(4, "big") + (9999).to_bytes(4, "big") + bytes(raw[8:8 + 9999])
    _write_gz(root / TEST_FILES[1], short)
    with pytest.raises(ValueError, match="count mismatch"):
        nds.mnist(root, split="test", download=False, verify=False)


def test_synthetic_idx_and_fashion(tmp_path):
    rng = numpy.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(5, 28, 28), dtype=numpy.uint8)
    labels = numpy.array([3, 1, 4, 1, 5], dtype=numpy.uint8)
    _write_gz(tmp_path / "train-images-idx3-ubyte.gz",
              b"\x00\x00\x08\x03" + b"".join(int(n).to_bytes(4, "big") for n in (5, 28, 28)) + imgs.tobytes())
    _write_gz(tmp_path / "train-labels-idx1-ubyte.gz", b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + labels.tobytes())
    ds = nds.fashion_mnist(tmp_path, split="train", download=False, verify=False)
    assert len(ds) == 5 and ds.classes[0] == "T-shirt/top"
    x, y = ds._batch(numpy.arange(5))
    numpy.testing.assert_allclose(x.numpy()[:, 0], imgs / 255.0, rtol=1e-6)
    assert y.numpy().tolist() == [3, 1, 4, 1, 5]
    with pytest.raises(ValueError, match="MD5"):
        nds.fashion_mnist(tmp_path, split="train", download=False)
    with pytest.raises(ValueError, match="split"):
        nds.mnist(tmp_path, split="val", download=False)


def test_default_root_uses_env(tmp_path, monkeypatch):
    monkeypatch.setenv("NABLA_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "mnist")):
        nds.mnist(split="test", download=False)


def _cifar_tar(path: Path, n: int = 4, seed: int = 0):
    rng = numpy.random.default_rng(seed)
    truth = {}
    with tarfile.open(path, "w:gz") as tar:
        for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
            imgs = rng.integers(0, 256, size=(n, 3, 32, 32), dtype=numpy.uint8)
            labels = rng.integers(0, 10, size=n).astype(numpy.uint8)
            raw = numpy.concatenate([labels[:, None], imgs.reshape(n, -1)], axis=1).tobytes()
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
            truth[name] = (imgs, labels)
    return truth


def test_cifar10_synthetic_round_trip(tmp_path):
    truth = _cifar_tar(tmp_path / "cifar-10-binary.tar.gz")
    with pytest.raises(ValueError, match="cifar-10-binary.tar.gz.*MD5"):
        nds.cifar10(tmp_path, split="train", download=False)
    train = nds.cifar10(tmp_path, split="train", download=False, verify=False)
    test = nds.cifar10(tmp_path, split="test", download=False, verify=False)
    assert len(train) == 20 and len(test) == 4 and isinstance(train, TensorDataset)
    exp_imgs = numpy.concatenate([truth[f"data_batch_{i}.bin"][0] for i in range(1, 6)])
    exp_lbls = numpy.concatenate([truth[f"data_batch_{i}.bin"][1] for i in range(1, 6)])
    numpy.testing.assert_array_equal(train.images, exp_imgs)
    numpy.testing.assert_array_equal(train.targets, exp_lbls)
    x, y = test[2]
    assert x.shape == (3, 32, 32) and x.dtype == numpy.float32
    numpy.testing.assert_allclose(x.numpy(), truth["test_batch.bin"][0][2] / 255.0, rtol=1e-6)
    assert int(y.item()) == truth["test_batch.bin"][1][2]
    # an extracted folder is read too
    with tarfile.open(tmp_path / "cifar-10-binary.tar.gz") as tar:
        tar.extractall(tmp_path / "ex", filter="data") if hasattr(tarfile, "data_filter") else tar.extractall(
            tmp_path / "ex"
        )
    ex = nds.cifar10(tmp_path / "ex", split="test", download=False)
    numpy.testing.assert_array_equal(ex.images, test.images)


def test_cifar10_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="cifar-10-binary.tar.gz"):
        nds.cifar10(tmp_path, split="test", download=False)
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    (folder / "test_batch.bin").write_bytes(b"\x01" * 3000)
    with pytest.raises(ValueError, match="test_batch.bin.*truncated"):
        nds.cifar10(tmp_path, split="test", download=False)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "cifar-10-binary.tar.gz").write_bytes(b"not a tar")
    with pytest.raises(ValueError, match="cifar-10-binary.tar.gz"):
        nds.cifar10(tmp_path / "bad", split="test", download=False, verify=False)


def test_digits():
    pytest.importorskip("sklearn")
    train, test = nds.digits()
    assert len(train) + len(test) == 1797 and len(test) == round(1797 * 0.2)
    x, y = train.tensors
    assert x.shape == (len(train), 1, 8, 8) and x.dtype == numpy.float32 and y.dtype == numpy.int64
    assert x.numpy().min() >= 0 and x.numpy().max() == 1.0
    t2, _ = nds.digits()
    numpy.testing.assert_array_equal(t2.tensors[1].numpy(), y.numpy())


def test_digits_without_sklearn(monkeypatch):
    import builtins
    real = builtins.__import__

    def fake(name, *a, **k):
        if name.startswith("sklearn"):
            raise ImportError("no sklearn")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match=r"pip install nabla\[datasets\]"):
        nds.digits()


@needs_shakespeare
def test_tiny_shakespeare():
    c = nds.text_corpus(SHAKESPEARE)
    assert len(c.data) == 1_115_394 and c.data.dtype == numpy.int64
    assert c.vocab_size == 65 and len(c.stoi) == 65 and c.itos[c.stoi["e"]] == "e"
    s = "First Citizen:\nBefore we proceed"
    assert c.decode(c.encode(s)) == s
    assert c.decode(c.data[:14]) == "First Citizen:"


def test_text_corpus_blocks(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("hello world", encoding="utf-8")
    ds = nds.text_corpus(p, block_size=4)
    assert len(ds) == 11 - 4
    x, y = ds[1]
    assert ds.decode(x) == "ello" and ds.decode(y) == "llo "
    xb, yb = next(iter(DataLoader(ds, batch_size=3)))
    assert xb.shape == (3, 4) and yb.dtype == numpy.int64
    with pytest.raises(ValueError, match="not in the vocabulary"):
        ds.encode("z")
    with pytest.raises(FileNotFoundError):
        nds.text_corpus(tmp_path / "nope.txt")
