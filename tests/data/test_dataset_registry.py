"""Data sets by name (load_dataset), the regression toy sets, and models built to fit a data set."""

from pathlib import Path

import numpy as np
import pytest

from nabla import nn
from nabla.data import datasets, toy
from nabla.data.datasets import load_dataset
from nabla.models import build_model

SHARED_MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "mnist"


def test_toy_sets_by_name_and_holdout():
    train, test, spec = load_dataset("spiral")
    assert (len(train), len(test), spec.input_shape, spec.num_classes, spec.task) == (
        400,
        100,
        (2,),
        2,
        "classification",
    )
    train, test, _ = load_dataset("spiral", holdout=50)
    assert (len(train), len(test)) == (350, 50)
    full, _, _ = load_dataset("spiral")
    np.testing.assert_array_equal(test.tensors[0].numpy(), full.tensors[0].numpy()[-50:])
    a, b, _ = load_dataset("spiral", split="test")
    assert a is b and len(a) == 100


@pytest.mark.parametrize("bad, message", [
    (dict(name="nope"), "valid names: cifar10"), (dict(name="xor", split="val"), "split must be"),
    (dict(name="xor", holdout=0), "positive"), (dict(name="xor", holdout=400), "leaves nothing to train on"),
])
def test_bad_requests(bad, message):
    with pytest.raises(ValueError, match=message):
        load_dataset(**bad)


@pytest.mark.parametrize("fn", [toy.plane, toy.multi_gauss])
def test_regression_toy_sets(fn):
    train, test = fn(n=400, noise=0.0, seed=1)
    x, y = train.tensors[0].numpy(), train.tensors[1].numpy()
    assert x.shape == (320, 2) and y.shape == (320, 1) and y.dtype == np.float32 and len(test) == 80
    assert np.abs(x).max() <= 1 and np.abs(y).max() <= 1 and y.std() > 0.1
    again = fn(n=400, noise=0.0, seed=1)[0].tensors[1].numpy()
    np.testing.assert_array_equal(y, again)
    noisy = fn(n=400, noise=0.5, seed=1)[0].tensors[1].numpy()
    assert not np.array_equal(noisy, y)
    assert datasets.DATASETS[fn.__name__].task == "regression"
    with pytest.raises(ValueError, match="noise"):
        fn(noise=-1)


def test_plane_is_the_sum_of_the_coordinates():
    train, _ = toy.plane(n=200, noise=0.0)
    x, y = train.tensors[0].numpy(), train.tensors[1].numpy()[:, 0]
    np.testing.assert_allclose(y, np.clip(0.6 * (x[:, 0] + x[:, 1]), -1, 1), atol=1e-6)


@pytest.mark.skipif(not SHARED_MNIST.exists(), reason="needs ../shared/datasets/mnist")
def test_mnist_test_part_split_8000_2000():
    train, test, spec = load_dataset("mnist", SHARED_MNIST, split="test", holdout=2000)
    assert (len(train), len(test), spec.input_shape) == (8000, 2000, (1, 28, 28))
    assert type(train).__name__ == "ImageDataset"  # keeps the loader's fast path and uint8 storage
    x, y = test[0]
    assert x.shape == (1, 28, 28) and 0 <= int(y.item()) <= 9


def test_build_model_passes_what_the_builder_takes():
    m = build_model("mlp", (1, 8, 8), 10, hidden=(16,))
    assert isinstance(m, nn.Sequential) and m[1].in_features == 64 and m[-1].out_features == 10
    with pytest.raises(ValueError, match="has no argument"):
        build_model("mlp", (2,), 2, width=3)
    with pytest.raises(ValueError, match="unknown model"):
        build_model("nope", (2,), 2)
