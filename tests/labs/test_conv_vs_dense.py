"""Labs II.1 (quick): at the same parameter count, the CNN beats the one-hidden-layer MLP in every seed;
the locally connected layer (im2col + per-position weights) computes exactly a convolution when its
per-position weights are all set to the same filter."""

import json

import numpy

import nabla
from nabla.labs.conv_vs_dense import LocallyConnected2d
from nabla.labs.runner import run_lab
from nabla.nn import functional as F


def test_locally_connected_with_shared_weights_is_a_convolution():
    nabla.manual_seed(0)
    layer = LocallyConnected2d(2, 3, 3, side=6)
    w = numpy.random.default_rng(0).normal(size=(3, 2, 3, 3)).astype(numpy.float32)
    b = numpy.random.default_rng(1).normal(size=3).astype(numpy.float32)
    layer.weight.data = nabla.tensor(numpy.broadcast_to(w.reshape(3, 18).T, (36, 18, 3)).copy())
    layer.bias.data = nabla.tensor(numpy.broadcast_to(b, (36, 1, 3)).copy())
    x = nabla.tensor(numpy.random.default_rng(2).normal(size=(4, 2, 6, 6)).astype(numpy.float32))
    expected = F.conv2d(x, nabla.tensor(w), nabla.tensor(b), padding=1).numpy()
    numpy.testing.assert_allclose(layer(x).detach().numpy(), expected, rtol=1e-5, atol=1e-5)


def test_conv_vs_dense_quick(tmp_path):
    r = run_lab("conv_vs_dense", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    n = r.extra["sizes"][-1]
    cnn = r.get(f"cnn@{n}", "test_accuracy").values
    mlp = r.get(f"mlp_cnn_params@{n}", "test_accuracy").values
    assert all(c > m + 0.05 for c, m in zip(cnn, mlp)), (cnn, mlp)
    params = r.extra["parameters"]
    assert abs(params["mlp_cnn_params"] - params["cnn"]) / params["cnn"] < 0.05
    assert abs(params["mlp_local_params"] - params["local"]) / params["local"] < 0.05
    assert params["local"] > 10 * params["cnn"]  # the unshared layer costs an order of magnitude more
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["figures"] == ["conv_vs_dense.png"] and (tmp_path / "conv_vs_dense.png").exists()
