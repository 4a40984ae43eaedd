"""Dropout: keep rate, scaling, identity in eval, same mask in backward, reproducibility."""

import numpy as np
import pytest

import nabla
import nabla.nn.functional as F
from nabla import nn


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_keep_rate_and_scaling(p):
    x = nabla.ones(200_000)
    y = nn.Dropout(p)(x).numpy()
    kept = y != 0
    assert abs(kept.mean() - (1 - p)) < 0.005  # binomial std here is < 0.0012
    np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-6)
    assert abs(y.mean() - 1) < 0.02  # inverted dropout keeps the expectation


def test_eval_is_identity_and_p0():
    x = nabla.randn(10, 10)
    d = nn.Dropout(0.5).eval()
    assert d(x) is x
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).numpy(), 0)


def test_backward_uses_the_same_mask():
    x = nabla.randn(50, 40, requires_grad=True)
    y = F.dropout(x, 0.3)
    y.backward(nabla.ones(50, 40))
    scale = (y.detach().numpy() / x.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), scale, rtol=1e-5)


def test_reproducible_with_manual_seed():
    nabla.manual_seed(42)
    a = nn.Dropout()(nabla.ones(1000)).numpy()
    nabla.manual_seed(42)
    b = nn.Dropout()(nabla.ones(1000)).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, nn.Dropout()(nabla.ones(1000)).numpy())


def test_dropout_arguments_and_repr():
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(nabla.ones(3), -0.1)
    assert repr(nn.Dropout(0.2)) == "Dropout(p=0.2, inplace=False)"


def test_dropout_in_a_model_follows_train_and_eval():
    nabla.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5))
    x = nabla.randn(4, 8)
    assert (model(x).detach().numpy() == 0).mean() > 0.3
    model.eval()
    out1, out2 = model(x).detach().numpy(), model(x).detach().numpy()
    np.testing.assert_array_equal(out1, out2)
