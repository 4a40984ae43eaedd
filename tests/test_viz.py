"""nabla.viz: the first layer's filters and feature maps saved as PNG files."""

import numpy as np
import pytest

import nabla
from nabla import nn, viz

PNG = b"\x89PNG\r\n\x1a\n"


def _model(in_channels=1):
    return nn.Sequential(nn.Conv2d(in_channels, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(6 * 4 * 4, 3))


def _is_png(path):
    with open(path, "rb") as f:
        data = f.read()
    return data[:8] == PNG and len(data) > 2000


def test_first_layer_picture_is_written(tmp_path):
    model = _model()
    model.train()
    out = viz.plot_first_layer(model, np.random.default_rng(0).random((8, 8)), tmp_path / "first.png", title="a digit")
    assert _is_png(out)
    assert model.training  # the picture's forward pass ran in eval mode and put the mode back


def test_feature_maps_are_the_first_convs_output():
    model = _model()
    x = nabla.randn(1, 1, 8, 8)
    maps = viz.feature_maps(model, x)
    assert maps.shape == (6, 8, 8)
    with nabla.no_grad():
        np.testing.assert_allclose(maps, model[0](x).numpy()[0], rtol=1e-6)
    assert viz.first_conv(model) is model[0]


def test_separate_pictures_and_rgb_filters(tmp_path):
    model = _model(in_channels=3)
    assert _is_png(viz.plot_filters(model[0], tmp_path / "filters.png"))
    assert _is_png(viz.plot_feature_maps(viz.feature_maps(model, nabla.randn(3, 8, 8)), tmp_path / "maps.png"))
    assert _is_png(viz.plot_first_layer(model, nabla.randn(3, 8, 8), tmp_path / "rgb.png"))


def test_viz_errors():
    with pytest.raises(ValueError, match="has no Conv2d layer"):
        viz.first_conv(nn.Sequential(nn.Linear(2, 2)))
    with pytest.raises(ValueError, match=r"expected one image .* got shape \(2, 1, 8, 8\)"):
        viz.feature_maps(_model(), nabla.randn(2, 1, 8, 8))
    with pytest.raises(ValueError, match=r"expected maps \(C, H, W\)"):
        viz.plot_feature_maps(np.zeros((8, 8)), "unused.png")
