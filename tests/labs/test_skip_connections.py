"""Labs II.5 (quick): the deeper plain net trains worse than the shallow one in every seed, the residual
net of the same depth does not, and its first layer gets gradients the plain one does not."""

import json

import numpy

import nabla
from nabla.labs._common import Data
from nabla.labs.runner import run_lab
from nabla.labs.skip_connections import build


def test_residual_and_plain_differ_only_by_the_shortcut():
    data = Data("t", numpy.zeros((4, 12), numpy.float32), numpy.zeros(4, numpy.int64),
                numpy.zeros((2, 12), numpy.float32), numpy.arange(2) % 10)
    nabla.manual_seed(0)
    plain = build(data, 2, residual=False)
    nabla.manual_seed(0)
    res = build(data, 2, residual=True)
    for p, q in zip(plain.parameters(), res.parameters()):
        numpy.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    x = nabla.tensor(numpy.random.default_rng(0).normal(size=(3, 12)).astype(numpy.float32))
    with nabla.no_grad():
        h = plain[1](plain[0](x))
        block = plain[2]
        inner = block.fc2(nabla.nn.functional.relu(block.fc1(h)))
        numpy.testing.assert_allclose(res[2](h).numpy(), numpy.maximum(h.numpy() + inner.numpy(), 0), rtol=1e-6)
        numpy.testing.assert_allclose(block(h).numpy(), numpy.maximum(inner.numpy(), 0), rtol=1e-6)


def test_skip_connections_quick(tmp_path):
    r = run_lab("skip_connections", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    shallow, deep = r.extra["depths"][0], r.extra["depths"][-1]
    plain_s = r.get(f"plain_{shallow}_layers", "final_train_loss").values
    plain_d = r.get(f"plain_{deep}_layers", "final_train_loss").values
    res_d = r.get(f"residual_{deep}_layers", "final_train_loss").values
    assert all(d > s for s, d in zip(plain_s, plain_d)), (plain_s, plain_d)  # degradation without shortcuts
    assert all(x < p for x, p in zip(res_d, plain_d)), (res_d, plain_d)
    g_plain = r.get(f"plain_{deep}_layers", "first_layer_grad_norm_early").values
    g_res = r.get(f"residual_{deep}_layers", "first_layer_grad_norm_early").values
    assert all(gr > 100 * gp for gr, gp in zip(g_res, g_plain)), (g_res, g_plain)
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["figures"] == ["skip_connections.png"] and (tmp_path / "skip_connections.png").exists()
