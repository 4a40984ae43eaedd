"""Mixed precision: nabla.autocast against torch.autocast (CPU, float16), the CUDA policy on the fake GPU,
and GradScaler against torch.amp.GradScaler step by step."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import nabla
import nabla.nn as nn
import nabla.nn.functional as F
from nabla.amp import GradScaler


def _pair(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    return [nabla.tensor(a) for a in arrays], [torch.tensor(a) for a in arrays]


def _name(dtype) -> str:
    return str(dtype).replace("torch.", "")


@pytest.mark.parametrize("case", ["linear", "matmul", "bmm", "sdpa", "softmax32", "softmax16", "exp16",
                                  "cross_entropy16", "mse16", "layer_norm16", "add_mixed"])
def test_op_dtypes_and_values_match_torch_cpu_autocast(case):
    (a, b, c), (ta, tb, tc) = _pair((2, 3, 4), (2, 4, 5), (5, 4))
    t16 = ta.half()
    n16 = nabla.tensor(t16.numpy())
    y = nabla.tensor([0, 1, 2])
    ty = torch.tensor([0, 1, 2])
    ops = {
        "linear": (lambda: F.linear(a, c), lambda: TF.linear(ta, tc)),
        "matmul": (lambda: a @ b, lambda: ta @ tb),
        "bmm": (lambda: nabla.bmm(a, b), lambda: torch.bmm(ta, tb)),
        "sdpa": (lambda: F.scaled_dot_product_attention(a, a, a), lambda: TF.scaled_dot_product_attention(ta, ta, ta)),
        "softmax32": (lambda: a.softmax(-1), lambda: ta.softmax(-1)),
        "softmax16": (lambda: n16.softmax(-1), lambda: t16.softmax(-1)),
        "exp16": (lambda: n16.exp(), lambda: t16.exp()),
        "cross_entropy16": (lambda: F.cross_entropy(n16[0], y), lambda: TF.cross_entropy(t16[0], ty)),
        "mse16": (lambda: F.mse_loss(n16, n16 * 0.5), lambda: TF.mse_loss(t16, t16 * 0.5)),
        "layer_norm16": (lambda: F.layer_norm(n16, (4,)), lambda: TF.layer_norm(t16, (4,))),
        "add_mixed": (lambda: n16 + a, lambda: t16 + ta),
    }
    fn, tfn = ops[case]
    with nabla.autocast("cpu"):
        out = fn()
    with torch.autocast("cpu", dtype=torch.float16):
        tout = tfn()
    assert out.dtype.name == _name(tout.dtype), (case, out.dtype, tout.dtype)
    np.testing.assert_allclose(out.numpy().astype(np.float32), tout.float().numpy(), rtol=2e-2, atol=2e-2)


def test_cuda_policy_on_the_fake_gpu():
    nabla.backend.enable_fake_cuda()
    try:
        x = nabla.randn(4, 8, device="fakecuda")
        w = nabla.randn(6, 8, device="fakecuda", requires_grad=True)
        with nabla.autocast("cuda"):
            h = F.linear(x, w)
            assert h.dtype == nabla.float16
            p = h.softmax(-1)  # on CUDA softmax runs in float32 (PyTorch's CUDA list)
            assert p.dtype == nabla.float32
            assert h.exp().dtype == nabla.float32 and F.layer_norm(h, (6,)).dtype == nabla.float32
        with nabla.autocast("cpu"):
            assert F.linear(x, w).dtype == nabla.float32  # a CPU region leaves GPU tensors alone
        p.sum().backward()
        assert w.grad.dtype == nabla.float32 and w.grad.device.type == "fakecuda"
    finally:
        nabla.backend.enable_fake_cuda(False)


def test_gradients_reach_float32_master_weights_like_torch():
    rng = np.random.default_rng(0)
    w1, w2 = rng.standard_normal((16, 8)).astype(np.float32) * 0.3, rng.standard_normal((3, 16)).astype(np.float32)
    x, y = rng.standard_normal((10, 8)).astype(np.float32), rng.integers(0, 3, 10)
    nw = [nabla.tensor(a, requires_grad=True) for a in (w1, w2)]
    tw = [torch.tensor(a, requires_grad=True) for a in (w1, w2)]
    with nabla.autocast("cpu"):
        loss = F.cross_entropy(F.linear(F.linear(nabla.tensor(x), nw[0]).relu(), nw[1]), nabla.tensor(y))
    with torch.autocast("cpu", dtype=torch.float16):
        tloss = TF.cross_entropy(TF.linear(TF.linear(torch.tensor(x), tw[0]).relu(), tw[1]), torch.tensor(y))
    assert loss.dtype == nabla.float32 and tloss.dtype == torch.float32
    loss.backward()
    tloss.backward()
    for a, b in zip(nw, tw):
        assert a.grad.dtype == nabla.float32
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=2e-2, atol=2e-3)


def test_a_parameter_is_cast_once_per_region_and_options():
    w = nabla.randn(4, 4, requires_grad=True)
    x = nabla.randn(2, 4)
    with nabla.autocast("cpu"):
        a, b = F.linear(x, w), F.linear(x, w)
    assert a._ctx.parents[1] is b._ctx.parents[1]  # the same float16 copy (one Cast node)
    with nabla.autocast("cpu", enabled=False):
        assert F.linear(x, w).dtype == nabla.float32
    assert not nabla.is_autocast_enabled()
    with nabla.autocast("cpu"):
        assert nabla.is_autocast_enabled("cpu") and not nabla.is_autocast_enabled("cuda")
    with pytest.raises(TypeError, match="bfloat16 is not available"):
        nabla.autocast("cpu", dtype="bfloat16")
    with pytest.raises(ValueError, match="device_type must be 'cuda' or 'cpu'"):
        nabla.autocast("tpu")

    @nabla.autocast("cpu")
    def f(x):
        return x @ w

    assert f(x).dtype == nabla.float16


# ------------------------------------------------------------------------------------------ GradScaler


def test_grad_scaler_follows_torch_step_by_step():
    """Same model, same data, infinite gradients injected at some steps: same scale and weights each step."""
    rng = np.random.default_rng(1)
    w0 = rng.standard_normal((3, 4)).astype(np.float32)
    xs = rng.standard_normal((12, 5, 4)).astype(np.float32)
    nw = nabla.tensor(w0.copy(), requires_grad=True)
    tw = torch.tensor(w0.copy(), requires_grad=True)
    nopt, topt = nabla.optim.SGD([nw], lr=0.01), torch.optim.SGD([tw], lr=0.01)
    ns = GradScaler("cpu", init_scale=1024.0, growth_interval=3)
    ts = torch.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=3)
    for i, x in enumerate(xs):
        np.seterr(invalid="ignore", over="ignore")  # the injected infinities
        bad = i in (2, 7, 8)
        for lib, w, opt, s in ((nabla, nw, nopt, ns), (torch, tw, topt, ts)):
            opt.zero_grad()
            loss = (lib.tensor(x) @ w.T).pow(2).mean() * (float("inf") if bad else 1.0)
            s.scale(loss).backward()
            s.step(opt)
            s.update()
        assert ns.get_scale() == ts.get_scale(), i
        np.testing.assert_allclose(nw.detach().numpy(), tw.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.seterr(invalid="warn", over="warn")
    assert ns.state_dict() == {k: (v if not isinstance(v, torch.Tensor) else v.item())
                               for k, v in ts.state_dict().items()}


def test_grad_scaler_unscale_for_clipping_and_misuse():
    w = nabla.randn(3, requires_grad=True)
    opt = nabla.optim.SGD([w], lr=0.1)
    s = GradScaler("cpu", init_scale=8.0)
    s.scale((w * 2).sum()).backward()
    assert np.allclose(w.grad.numpy(), 16.0)
    s.unscale_(opt)
    assert np.allclose(w.grad.numpy(), 2.0)  # true gradients: clip them here
    with pytest.raises(RuntimeError, match="already been called"):
        s.unscale_(opt)
    s.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        s.step(opt)
    s.update()
    with pytest.raises(RuntimeError, match="no inf checks were recorded"):
        s.update()
    with pytest.raises(RuntimeError, match="closure"):
        s.step(opt, closure=lambda: None)
    off = GradScaler("cpu", enabled=False)
    loss = (w * 2).sum()
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {}
    with pytest.raises(ValueError, match="growth_factor"):
        GradScaler("cpu", growth_factor=0.5)
    s2 = GradScaler("cpu")
    s2.load_state_dict(s.state_dict())
    assert s2.get_scale() == s.get_scale()


def test_float16_training_on_digits_with_autocast_and_grad_scaler():
    pytest.importorskip("sklearn")
    from nabla.data import DataLoader
    from nabla.data.datasets import digits

    nabla.manual_seed(0)
    train, test = digits()
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    opt = nabla.optim.Adam(model.parameters(), lr=3e-3)
    scaler = GradScaler("cpu")
    for _ in range(6):
        for x, y in DataLoader(train, batch_size=64, shuffle=True):
            opt.zero_grad()
            with nabla.autocast("cpu"):
                loss = F.cross_entropy(model(x), y)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
    assert all(p.dtype == nabla.float32 for p in model.parameters())
    with nabla.no_grad():
        x, y = next(iter(DataLoader(test, batch_size=len(test))))
        acc = float((model(x).argmax(1) == y).float().mean().item())
    assert acc > 0.9, acc


def test_convolutions_run_in_float16_like_torch():
    (x, w), (tx, tw) = _pair((2, 3, 8, 8), (4, 3, 3, 3))
    with nabla.autocast("cpu"):
        y = F.conv2d(x, w, padding=1)
        z = F.conv_transpose2d(y, nabla.randn(4, 2, 3, 3))
    with torch.autocast("cpu", dtype=torch.float16):
        ty = TF.conv2d(tx, tw, padding=1)
    assert y.dtype.name == _name(ty.dtype) == "float16" and z.dtype == nabla.float16
    np.testing.assert_allclose(y.numpy().astype(np.float32), ty.float().numpy(), rtol=2e-2, atol=2e-2)
