"""The Winograd F(4x4, 3x3) path of conv2d / conv_transpose2d (nabla/ops/winograd.py) against PyTorch:
values and every gradient over the layer shapes it is chosen for (odd sizes, all paddings, batch 1,
non-contiguous inputs), gradcheck and second derivatives in float64, the choice of path, agreement
with the im2col path, and the fake GPU device."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import nabla
import nabla.nn.functional as F
from nabla.ops import conv as conv_ops, winograd

from .helpers import F32, F64, check, check_double, gradcheck

# Winograd's transforms round at ~1e-5 of the output's largest value in float32 (outputs here reach ~20).
TOL32 = {"atol": 5e-4, "rtol": 1e-4, "grad_atol": 5e-4, "grad_rtol": 1e-4}


@pytest.fixture(autouse=True)
def _winograd_for_small_batches(monkeypatch):
    """These small cases have few tiles: let them take the Winograd path (the batch-size rule has its own test)."""
    monkeypatch.setattr(conv_ops, "WINOGRAD_MIN_TILES", 1)

CASES = [  # (input shape, output channels, bias?, keyword arguments): all take the Winograd path
    ((2, 16, 8, 8), 16, True, {"padding": 1}),  # whole tiles
    ((3, 16, 7, 9), 20, True, {"padding": 1}),  # partial last tiles
    ((2, 17, 5, 6), 16, False, {}),  # no padding
    ((1, 16, 4, 4), 32, True, {"padding": 1}),  # batch 1, F(2x2, 3x3) on a 4x4 map (ResNet's last stage)
    ((2, 16, 3, 4), 16, True, {"padding": 1}),  # F(2x2, 3x3) with a partial tile
    ((2, 16, 5, 4), 16, True, {"padding": 1}),  # F(4x4, 3x3): one full and one partial tile row
    ((2, 16, 10, 11), 16, True, {"padding": (2, 0)}),
    ((2, 16, 6, 5), 18, True, {"padding": "same"}),
    ((2, 32, 1, 1), 16, True, {"padding": 1}),  # 1x1 map: the kernel's centre only
    ((2, 16, 3, 3), 16, False, {"padding": 0}),  # one output pixel
    ((2, 16, 17, 18), 16, True, {"padding": 1}),  # 25 tiles per sample: tiles ordered (sample, ty, tx)
]


def _fns(has_bias, kw):
    if has_bias:
        return (lambda x, w, b: F.conv2d(x, w, b, **kw)), (lambda x, w, b: TF.conv2d(x, w, b, **kw))
    return (lambda x, w: F.conv2d(x, w, **kw)), (lambda x, w: TF.conv2d(x, w, **kw))


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[1]}-{c[3]}" for c in CASES])
def test_winograd_conv2d_matches_torch(case, dtype):
    xs, o, has_bias, kw = case
    x = nabla.zeros(xs)
    w = nabla.zeros((o, xs[1], 3, 3))
    pads = conv_ops._padding_arg(kw.get("padding", 0), (3, 3), (1, 1), (1, 1), "test")
    geom = conv_ops.Geometry(xs[1], xs[2], xs[3], o, (3, 3), (1, 1), (1, 1), pads, 1)
    assert conv_ops.winograd_tile(geom, x.dtype, xs[0]) in (2, 4) and w.shape[1] == xs[1], "the case must take Winograd"
    n_fn, t_fn = _fns(has_bias, kw)
    check(n_fn, [xs, (o, xs[1], 3, 3)] + ([(o,)] if has_bias else []), t_fn, dtype=dtype,
          **(TOL32 if dtype == F32 else {}))


def test_both_tile_orders_are_covered():
    """Few tiles per sample are ordered sample-fastest, many (sample, ty, tx): CASES hold both."""
    orders = set()
    for xs, o, _, kw in CASES:
        pads = conv_ops._padding_arg(kw.get("padding", 0), (3, 3), (1, 1), (1, 1), "test")
        g = conv_ops.Geometry(xs[1], xs[2], xs[3], o, (3, 3), (1, 1), (1, 1), pads, 1)
        g.wino = conv_ops.winograd_tile(g, np.float32, xs[0])
        orders.add(winograd.Tiles(g, xs[0]).nfast)
    assert orders == {True, False}


def test_winograd_non_contiguous_input_and_one_gradient_only():
    """A strided (permuted) input, and only one of the two gradients asked for each time."""
    rng = np.random.default_rng(0)
    base = rng.standard_normal((2, 9, 16, 8))  # (N, W, C, H), permuted to (N, C, H, W): not contiguous
    w_np = rng.standard_normal((16, 16, 3, 3))
    for need_x, need_w in ((True, False), (False, True)):
        xb, w = nabla.tensor(base, requires_grad=need_x), nabla.tensor(w_np, requires_grad=need_w)
        xbt, wt = torch.tensor(base, requires_grad=need_x), torch.tensor(w_np, requires_grad=need_w)
        y, yt = F.conv2d(xb.permute(0, 2, 3, 1), w, padding=1), TF.conv2d(xbt.permute(0, 2, 3, 1), wt, padding=1)
        np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-10)
        up = rng.standard_normal(tuple(y.shape))
        (y * nabla.tensor(up)).sum().backward()
        (yt * torch.tensor(up)).sum().backward()
        got, want = (xb.grad, xbt.grad) if need_x else (w.grad, wt.grad)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10, atol=1e-10)
        assert (w.grad is None) == need_x and (xb.grad is None) == need_w


def test_winograd_gradcheck_and_second_derivatives():
    fn = lambda x, w, b: F.conv2d(x, w, b, padding=1)  # noqa: E731
    gradcheck(fn, [(2, 16, 5, 6), (16, 16, 3, 3), (16,)])
    check_double(lambda x, w: F.conv2d(x, w, padding=1), [(2, 16, 5, 6), (16, 16, 3, 3)],
                 lambda x, w: TF.conv2d(x, w, padding=1))


@pytest.mark.parametrize("dtype", [F32, F64])
def test_winograd_conv_transpose2d_matches_torch(dtype):
    """conv_transpose2d with a 3x3 kernel and stride 1 is the Winograd input gradient run forward."""
    kw = {"padding": 1}
    check(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw), [(2, 16, 6, 7), (16, 24, 3, 3), (24,)],
          lambda x, w, b: TF.conv_transpose2d(x, w, b, **kw), dtype=dtype, **(TOL32 if dtype == F32 else {}))
    check_double(lambda x, w: F.conv_transpose2d(x, w), [(1, 16, 4, 5), (16, 16, 3, 3)],
                 lambda x, w: TF.conv_transpose2d(x, w))


def test_winograd_agrees_with_im2col_at_resnet_size(monkeypatch):
    """float32, 64 channels on 16x16 at batch 4: the two lowerings give the same values and gradients."""
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in ((4, 64, 16, 16), (64, 64, 3, 3), (64,))]
    up = rng.standard_normal((4, 64, 16, 16)).astype(np.float32)
    results = []
    for flag in (True, False):
        monkeypatch.setattr(conv_ops, "WINOGRAD", flag)
        x, w, b = (nabla.tensor(a, requires_grad=True) for a in arrays)
        y = F.conv2d(x, w, b, padding=1)
        (y * nabla.tensor(up)).sum().backward()
        results.append([t.numpy() for t in (y.detach(), x.grad, w.grad, b.grad)])
    for a, c in zip(*results):
        scale = np.abs(c).max()
        assert np.abs(a - c).max() <= 2e-5 * scale, (np.abs(a - c).max(), scale)


@pytest.mark.parametrize("change, expected", [
    ({}, 4),
    ({"size": 4}, 2),  # one 4x4 tile per sample: F(2x2, 3x3)
    ({"stride": (2, 2)}, 0),
    ({"dilation": (2, 2)}, 0),
    ({"groups": 2}, 0),
    ({"C": 8}, 0),  # too few channels: the tile transforms would cost more than the GEMMs save
    ({"kernel": (5, 5)}, 0),
    ({"dtype": np.float16}, 0),
    ({"flag": False}, 0),
])
def test_winograd_is_chosen_only_for_3x3_stride_one_layers(monkeypatch, change, expected):
    a = {"C": 32, "kernel": (3, 3), "stride": (1, 1), "dilation": (1, 1), "groups": 1, "dtype": np.float32,
         "flag": True, "size": 8}
    a.update(change)
    monkeypatch.setattr(conv_ops, "WINOGRAD", a["flag"])
    g = conv_ops.Geometry(a["C"], a["size"], a["size"], 32, a["kernel"], a["stride"], a["dilation"], (1, 1, 1, 1),
                          a["groups"])
    assert conv_ops.winograd_tile(g, a["dtype"], 8) == expected


@pytest.mark.parametrize("n, size, expected", [(1, 32, 4), (1, 16, 0), (2, 16, 4), (4, 4, 0), (8, 4, 2), (1, 8, 0)])
def test_winograd_needs_enough_tiles_in_the_batch(monkeypatch, n, size, expected):
    """Below WINOGRAD_MIN_TILES tiles the per-call kernel transform costs more than it saves (batch-1
    inference of ResNet's deep layers ran 2.6-5.5x slower than im2col)."""
    monkeypatch.setattr(conv_ops, "WINOGRAD_MIN_TILES", 32)
    g = conv_ops.Geometry(64, size, size, 64, (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 1)
    assert conv_ops.winograd_tile(g, np.float32, n) == expected


def test_winograd_on_the_fake_gpu_matches_cpu():
    """The path is device-agnostic: on the fake CUDA device (NumPy arrays tagged as GPU memory) the
    constant matrices are moved to the device and no host array mixes into a device op."""
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal(s) for s in ((2, 16, 6, 7), (16, 16, 3, 3), (16,))]
    outs = []
    nabla.backend.enable_fake_cuda()
    try:
        for dev in ("cpu", "fakecuda"):
            x, w, b = (nabla.tensor(a, device=dev, requires_grad=True) for a in arrays)
            y = F.conv2d(x, w, b, padding=1)
            z = F.conv_transpose2d(y, w, padding=1)
            (z * z).sum().backward()
            assert y.device.type == dev and x.grad.device.type == dev
            outs.append([t.to("cpu").detach().numpy() for t in (z, x.grad, w.grad, b.grad)])
    finally:
        nabla.backend.enable_fake_cuda(False)
    for a, c in zip(*outs):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-12)
