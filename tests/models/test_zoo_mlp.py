"""The model registry and the fully connected models."""

import numpy as np
import pytest

import nabla
from nabla import models, nn


def test_registry_lists_and_builds():
    assert {"mlp", "perceptron"} <= set(models.list_models())
    m = models.get_model("mlp", in_features=64, num_classes=10, hidden=(32,), batch_norm=True, dropout=0.1)
    assert m(nabla.randn(5, 1, 8, 8)).shape == (5, 10)
    assert any(isinstance(x, nn.BatchNorm1d) for x in m.modules())
    with pytest.raises(ValueError, match="unknown model 'nope'; valid names: .*mlp.*perceptron"):
        models.get_model("nope")
    with pytest.raises(ValueError, match="already registered"):
        models.register_model("mlp")(lambda: None)


def test_bad_arguments():
    with pytest.raises(ValueError, match="activation"):
        models.mlp(activation="swishy")
    with pytest.raises(ValueError, match="num_classes"):
        models.mlp(num_classes=0)
    with pytest.raises(ValueError, match="hidden"):
        models.mlp(hidden=(0,))


def test_perceptron_outputs_zero_or_one():
    p = models.perceptron(in_features=2)
    out = p(nabla.randn(7, 2)).detach().numpy()
    assert out.shape == (7, 1) and set(np.unique(out)) <= {0.0, 1.0}
    assert models.perceptron(4, 3)(nabla.randn(2, 4)).shape == (2, 3)


def test_mlp_learns_digits():
    train, test = nabla.data.datasets.digits(seed=0)
    nabla.manual_seed(0)
    m = models.mlp(in_features=64, num_classes=10, hidden=(64,))
    m.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"], lr=1e-2)
    m.fit(train, epochs=15, batch_size=64, verbose=0)
    assert m.evaluate(test)["accuracy"] >= 0.95
