"""Keras and PyTorch habits that must work (issue 12): Keras' cross-entropy names with ``from_logits``,
``verbose=`` on fit/evaluate/predict, and NumPy scalars keeping their dtype in ``nabla.tensor``."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import nabla
from nabla.train import keras
from nabla.train.keras_losses import BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy

EPS = 1e-7


def _probs(rng, n, c):
    z = rng.normal(size=(n, c)) * 2
    return np.exp(z) / np.exp(z).sum(1, keepdims=True)


def _grad_pair(loss_n, loss_t, x):
    """(nabla value, torch value, nabla grad, torch grad) of a loss of one float64 input ``x``."""
    xn = nabla.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    ln, lt = loss_n(xn), loss_t(xt)
    ln.backward()
    lt.backward()
    return ln.item(), lt.item(), xn.grad.numpy(), xt.grad.numpy()


def _matches_torch(loss_n, loss_t, x) -> float:
    """Assert nabla's loss and its gradient in ``x`` equal PyTorch's (float64); return nabla's value."""
    vn, vt, gn, gt = _grad_pair(loss_n, loss_t, x)
    assert vn == pytest.approx(vt, rel=1e-12)
    np.testing.assert_allclose(gn, gt, rtol=1e-10, atol=1e-12)
    return vn


@pytest.mark.parametrize("seed", [0, 1])
def test_categorical_crossentropy_probabilities_and_logits(seed):
    rng = np.random.default_rng(seed)
    p = _probs(rng, 6, 4)
    p[0, 1] = 0.0  # a zero probability: clipped at eps, as Keras does
    p[0] /= p[0].sum()
    y = np.eye(4)[rng.integers(0, 4, 6)]
    by_name = keras.get_loss("categorical_crossentropy")
    assert isinstance(by_name, CategoricalCrossentropy) and by_name.from_logits is False

    def torch_probs(t):  # Keras: rescale to sum 1, clip, -sum y log p, mean over samples
        q = (t / t.sum(-1, keepdim=True)).clamp(EPS, 1 - EPS)
        return -(torch.tensor(y) * q.log()).sum(-1).mean()

    _matches_torch(lambda t: by_name(t, nabla.tensor(y)), torch_probs, p)
    # hand number for one sample: -log(p[true class])
    one = CategoricalCrossentropy()(nabla.tensor(p[1:2]), nabla.tensor(y[1:2])).item()
    assert one == pytest.approx(-np.log(p[1, y[1].argmax()]), rel=1e-12)

    z = rng.normal(size=(6, 4)) * 3
    _matches_torch(lambda t: CategoricalCrossentropy(from_logits=True)(t, nabla.tensor(y)),
                   lambda t: TF.cross_entropy(t, torch.tensor(y)), z)


@pytest.mark.parametrize("seed", [0, 1])
def test_sparse_categorical_crossentropy_probabilities_and_logits(seed):
    rng = np.random.default_rng(seed)
    p = _probs(rng, 5, 3)
    t = rng.integers(0, 3, 5)
    by_name = keras.get_loss("sparse_categorical_crossentropy")
    assert isinstance(by_name, SparseCategoricalCrossentropy) and by_name.from_logits is False

    def torch_probs(x):
        q = (x / x.sum(-1, keepdim=True)).clamp(EPS, 1 - EPS)
        return TF.nll_loss(q.log(), torch.tensor(t))

    vn = _matches_torch(lambda x: by_name(x, nabla.tensor(t)), torch_probs, p)
    assert vn == pytest.approx(-np.mean(np.log(p[np.arange(5), t])), rel=1e-12)  # by hand

    z = rng.normal(size=(5, 3)) * 3
    _matches_torch(lambda x: SparseCategoricalCrossentropy(from_logits=True)(x, nabla.tensor(t)),
                   lambda x: TF.cross_entropy(x, torch.tensor(t)), z)


@pytest.mark.parametrize("seed", [0, 1])
def test_binary_crossentropy_probabilities_and_logits(seed):
    rng = np.random.default_rng(seed)
    p = 1 / (1 + np.exp(-rng.normal(size=(8, 1)) * 2))
    p[0, 0] = 1.0  # clipped at 1 - eps: finite, as in Keras
    y = rng.integers(0, 2, (8, 1)).astype(np.float64)
    by_name = keras.get_loss("binary_crossentropy")
    assert isinstance(by_name, BinaryCrossentropy) and by_name.from_logits is False

    def torch_probs(x):
        return TF.binary_cross_entropy(x.clamp(EPS, 1 - EPS), torch.tensor(y))

    vn = _matches_torch(lambda x: by_name(x, nabla.tensor(y)), torch_probs, p)
    assert np.isfinite(vn)
    q = np.clip(p, EPS, 1 - EPS)
    assert vn == pytest.approx(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)), rel=1e-12)  # by hand

    z = rng.normal(size=(8, 1)) * 3
    _matches_torch(lambda x: BinaryCrossentropy(from_logits=True)(x, nabla.tensor(y)),
                   lambda x: TF.binary_cross_entropy_with_logits(x, torch.tensor(y)), z)


def test_keras_losses_refuse_the_wrong_target_with_the_fix():
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        CategoricalCrossentropy()(nabla.ones(2, 3) / 3, nabla.tensor([0, 1]))
    with pytest.raises(ValueError, match="categorical_crossentropy"):
        SparseCategoricalCrossentropy()(nabla.ones(2, 3) / 3, nabla.ones(2, 3))
    with pytest.raises(TypeError, match="from_logits"):
        BinaryCrossentropy(from_logits="yes")


def test_compile_with_keras_names_trains_a_softmax_model():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 2)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    nabla.manual_seed(0)
    model = nabla.nn.Sequential(nabla.nn.Linear(2, 2), nabla.nn.Softmax(dim=1))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", lr=0.05)
    before = model.evaluate(x, y, verbose=0)["loss"]
    model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0)["loss"] < 0.5 * before


def test_verbose_is_accepted_as_in_keras(capsys):
    x = np.ones((8, 2), np.float32)
    y = np.zeros((8, 1), np.float32)
    model = nabla.nn.Linear(2, 1)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=1, verbose=0)
    for v in (0, "auto", 1, 2):
        model.predict(x, verbose=v)
    assert capsys.readouterr().out == ""
    logs = model.evaluate(x, y, verbose=0)
    assert capsys.readouterr().out == ""
    assert model.evaluate(x, y, verbose=1) == logs
    assert capsys.readouterr().out.strip() == f"loss: {logs['loss']:.4f}"
    with pytest.raises(ValueError, match="verbose must be 0"):
        model.evaluate(x, y, verbose=3)
    with pytest.raises(ValueError, match="verbose must be 0"):
        model.fit(x, y, verbose="loud")


class _Terminal(io.StringIO):
    """stderr as a terminal of 80 columns would be: tqdm draws its bar only where ``isatty()``."""

    def isatty(self) -> bool:
        return True


def test_fit_verbose_2_prints_one_line_per_epoch_and_no_bar(monkeypatch):
    """Keras' ``fit(verbose=2)``: on a terminal, the epoch summaries alone; ``verbose=1`` draws a bar."""
    monkeypatch.setenv("COLUMNS", "80")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 3)).astype(np.float32), rng.normal(size=(64, 1)).astype(np.float32)
    model = nabla.nn.Linear(3, 1)
    model.compile(optimizer="sgd", loss="mse")
    printed = {}
    for verbose in (1, 2):
        with contextlib.redirect_stderr(_Terminal()) as terminal:
            model.fit(x, y, epochs=3, batch_size=16, verbose=verbose)
        printed[verbose] = terminal.getvalue()
    assert "%|" in printed[1] and "\r" in printed[1]  # the bar was drawn (and cleared) with verbose=1
    lines = printed[2].splitlines()
    assert "\r" not in printed[2] and "%|" not in printed[2]
    assert [line.split(" ")[0:2] for line in lines] == [["Epoch", f"{e}/3"] for e in (1, 2, 3)]
    assert all("loss: " in line and len(line) < 80 for line in lines)


@pytest.mark.parametrize("value", [np.float64(0.7), np.float32(0.7), np.float16(0.5), np.int32(3), np.int16(2),
                                   np.bool_(True), [np.float64(0.7), np.float64(0.1)], 0.7, 3, [0.5, 1.0]])
def test_tensor_of_numpy_scalars_keeps_their_dtype_like_pytorch(value):
    got = nabla.tensor(value)
    want = torch.tensor(value)
    assert str(want.dtype) == "torch." + ("bool" if got.dtype == np.bool_ else str(got.dtype))
    np.testing.assert_allclose(got.numpy(), want.numpy())
