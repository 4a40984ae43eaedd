"""conv1d, conv2d and conv_transpose2d against PyTorch (forward and every gradient), gradcheck,
second derivatives, and the argument errors."""

import numpy as np
import pytest
import torch.nn.functional as TF

import nabla
import nabla.nn.functional as F
from nabla.ops import conv as conv_ops

from .helpers import F32, F64, check, check_double, gradcheck

DTYPES = [F32, F64]
TOL32 = {"atol": 1e-4, "rtol": 1e-4, "grad_atol": 2e-4, "grad_rtol": 1e-4}  # sums of up to ~100 products in float32


def _tol(dtype):
    return TOL32 if dtype == F32 else {}


CONV2D = [  # (input shape, weight shape, bias?, keyword arguments)
    ((2, 3, 7, 6), (4, 3, 3, 3), True, {}),
    ((2, 3, 7, 6), (4, 3, 3, 3), True, {"padding": 1}),
    ((2, 3, 9, 8), (4, 3, 3, 3), True, {"stride": 2, "padding": 1}),
    ((2, 3, 9, 8), (4, 3, 3, 2), False, {"stride": (2, 3), "padding": (2, 1)}),
    ((2, 3, 9, 8), (4, 3, 3, 3), True, {"dilation": 2, "padding": 2}),
    ((2, 3, 11, 9), (4, 3, 3, 2), True, {"stride": (3, 1), "padding": (1, 2), "dilation": (2, 3)}),
    ((2, 4, 7, 6), (6, 2, 3, 3), True, {"groups": 2, "padding": 1}),
    ((2, 4, 7, 6), (4, 1, 3, 3), True, {"groups": 4, "padding": 1}),  # depthwise
    ((2, 4, 7, 6), (8, 1, 3, 3), False, {"groups": 4, "stride": 2}),  # depthwise, multiplier 2
    ((2, 3, 7, 6), (4, 3, 3, 3), True, {"padding": "same"}),
    ((2, 3, 7, 6), (4, 3, 4, 2), True, {"padding": "same"}),  # even kernel: the extra zero goes last
    ((2, 3, 7, 6), (4, 3, 3, 3), True, {"padding": "same", "dilation": (2, 1)}),
    ((2, 3, 7, 6), (4, 3, 3, 3), True, {"padding": "valid"}),
    ((2, 3, 7, 6), (5, 3, 1, 1), True, {}),  # 1x1
    ((2, 3, 8, 8), (5, 3, 1, 1), True, {"stride": 2}),  # ResNet's downsampling shortcut
    ((3, 2, 5, 5), (2, 2, 5, 5), True, {}),  # kernel as large as the input: a 1x1 output
    ((1, 1, 4, 9), (1, 1, 1, 3), True, {"padding": (0, 1)}),
    ((2, 3, 4, 4), (128, 3, 3, 3), True, {"padding": 1}),  # stride 1 in the general layout (many channels, 4x4)
]


def _conv2d_fns(has_bias, kw):
    if has_bias:
        return (lambda x, w, b: F.conv2d(x, w, b, **kw)), (lambda x, w, b: TF.conv2d(x, w, b, **kw))
    return (lambda x, w: F.conv2d(x, w, **kw)), (lambda x, w: TF.conv2d(x, w, **kw))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV2D, ids=[str(c[3] or "plain") + f"-{c[1]}" for c in CONV2D])
def test_conv2d_matches_torch(case, dtype):
    xs, ws, has_bias, kw = case
    n_fn, t_fn = _conv2d_fns(has_bias, kw)
    inputs = [xs, ws] + ([(ws[0],)] if has_bias else [])
    check(n_fn, inputs, t_fn, dtype=dtype, **_tol(dtype))


def test_conv2d_gradient_of_one_input_only():
    """Only the requested gradients are computed (and the others stay None)."""
    check(lambda x, w: F.conv2d(x, w, padding=1), [(2, 3, 5, 5), (4, 3, 3, 3)], lambda x, w: TF.conv2d(x, w, padding=1),
          requires_grad=[False, True], dtype=F64)
    check(lambda x, w: F.conv2d(x, w, stride=2), [(2, 3, 5, 5), (4, 3, 3, 3)], lambda x, w: TF.conv2d(x, w, stride=2),
          requires_grad=[True, False], dtype=F64)


def test_conv2d_unbatched_and_large_cols_path(monkeypatch):
    """cols above KEEP_COLS_BYTES are rebuilt in backward instead of kept: same gradients."""
    monkeypatch.setattr(conv_ops, "KEEP_COLS_BYTES", 0)
    check(lambda x, w, b: F.conv2d(x, w, b, padding=1), [(2, 3, 6, 5), (4, 3, 3, 3), (4,)],
          lambda x, w, b: TF.conv2d(x, w, b, padding=1), dtype=F64)


CONV1D = [
    ((2, 3, 10), (4, 3, 3), True, {}),
    ((2, 3, 10), (4, 3, 3), True, {"stride": 2, "padding": 1, "dilation": 2}),
    ((2, 4, 10), (4, 1, 5), False, {"groups": 4, "padding": "same"}),
    ((2, 3, 10), (6, 3, 4), True, {"padding": "same"}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV1D, ids=[str(c[3] or "plain") for c in CONV1D])
def test_conv1d_matches_torch(case, dtype):
    xs, ws, has_bias, kw = case
    if has_bias:
        n_fn, t_fn = (lambda x, w, b: F.conv1d(x, w, b, **kw)), (lambda x, w, b: TF.conv1d(x, w, b, **kw))
    else:
        n_fn, t_fn = (lambda x, w: F.conv1d(x, w, **kw)), (lambda x, w: TF.conv1d(x, w, **kw))
    check(n_fn, [xs, ws] + ([(ws[0],)] if has_bias else []), t_fn, dtype=dtype, **_tol(dtype))


CONVT = [  # (input shape, weight shape (Cin, Cout/groups, kh, kw), keyword arguments)
    ((2, 4, 4, 5), (4, 3, 3, 3), {}),
    ((2, 4, 4, 5), (4, 3, 3, 3), {"stride": 2, "padding": 1, "output_padding": 1}),  # the GAN/decoder upsampler
    ((2, 4, 4, 5), (4, 3, 4, 4), {"stride": 2, "padding": 1}),
    ((2, 4, 3, 4), (4, 2, 3, 2), {"stride": (2, 3), "padding": (1, 0), "output_padding": (1, 2)}),
    ((2, 4, 4, 5), (4, 2, 3, 3), {"groups": 2, "stride": 2}),
    ((2, 4, 4, 5), (4, 3, 3, 3), {"dilation": 2, "padding": 1, "output_padding": 1}),  # output_padding < dilation
    ((2, 4, 4, 5), (4, 3, 1, 1), {}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONVT, ids=[str(c[2] or "plain") + f"-{c[1]}" for c in CONVT])
def test_conv_transpose2d_matches_torch(case, dtype):
    xs, ws, kw = case
    cout = ws[1] * kw.get("groups", 1)
    check(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw), [xs, ws, (cout,)],
          lambda x, w, b: TF.conv_transpose2d(x, w, b, **kw), dtype=dtype, **_tol(dtype))
    check(lambda x, w: F.conv_transpose2d(x, w, **kw), [xs, ws], lambda x, w: TF.conv_transpose2d(x, w, **kw),
          dtype=dtype, **_tol(dtype))


def test_unbatched_inputs_as_pytorch():
    check(lambda x, w, b: F.conv2d(x, w, b, padding=1), [(3, 6, 5), (4, 3, 3, 3), (4,)],
          lambda x, w, b: TF.conv2d(x, w, b, padding=1), dtype=F64)
    check(lambda x, w: F.conv1d(x, w, stride=2), [(3, 9), (4, 3, 3)], lambda x, w: TF.conv1d(x, w, stride=2), dtype=F64)
    check(lambda x, w: F.conv_transpose2d(x, w, stride=2), [(4, 3, 3), (4, 2, 3, 3)],
          lambda x, w: TF.conv_transpose2d(x, w, stride=2), dtype=F64)


def test_conv_transpose_is_the_input_gradient_of_conv():
    """<conv(x, w), y> = <x, conv_transpose(y, w)> for every x, y (the adjoint identity)."""
    rng = np.random.default_rng(0)
    x = nabla.tensor(rng.standard_normal((2, 3, 9, 8)))
    w = nabla.tensor(rng.standard_normal((4, 3, 3, 3)))
    y = nabla.tensor(rng.standard_normal((2, 4, 5, 4)))
    lhs = float((F.conv2d(x, w, stride=2, padding=1) * y).sum())
    rhs = float((x * F.conv_transpose2d(y, w, stride=2, padding=1, output_padding=(0, 1))).sum())
    assert abs(lhs - rhs) < 1e-9 * max(1.0, abs(lhs))


@pytest.mark.parametrize("kw", [{"stride": 2, "padding": 1}, {"dilation": 2, "groups": 2}, {"padding": "same"}],
                         ids=str)
def test_conv2d_gradcheck(kw):
    gradcheck(lambda x, w, b: F.conv2d(x, w, b, **kw), [(2, 2, 5, 5), (2, 2 // kw.get("groups", 1), 3, 3), (2,)])


def test_conv_transpose2d_and_conv1d_gradcheck():
    gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
              [(1, 2, 3, 3), (2, 2, 3, 3), (2,)])
    gradcheck(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1), [(2, 2, 7), (3, 2, 3), (3,)])


def test_conv_second_derivatives():
    """The backward ops are differentiable (create_graph): vector-Hessian products match PyTorch's."""
    check_double(lambda x, w: F.conv2d(x, w, stride=2, padding=1).tanh(), [(2, 2, 5, 5), (3, 2, 3, 3)],
                 lambda x, w: TF.conv2d(x, w, stride=2, padding=1).tanh())
    check_double(lambda x, w: F.conv_transpose2d(x, w, stride=2).tanh(), [(1, 2, 3, 3), (2, 3, 3, 3)],
                 lambda x, w: TF.conv_transpose2d(x, w, stride=2).tanh())

    def weight_grad(x, w):  # d/dw of a conv loss, differentiated again by gradcheck
        with nabla.enable_grad():
            return nabla.autograd.grad(F.conv2d(x, w, padding=1).tanh().sum(), (x, w), create_graph=True)[1]

    gradcheck(weight_grad, [(1, 2, 4, 4), (2, 2, 3, 3)])


def test_conv_in_place_change_of_saved_input_is_caught():
    x = nabla.randn(1, 2, 5, 5, requires_grad=True)
    h = x * 1
    y = F.conv2d(h, nabla.randn(3, 2, 3, 3, requires_grad=True))
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()


@pytest.mark.parametrize("call, message", [
    (lambda: F.conv2d(nabla.randn(2, 3, 5, 5), nabla.randn(4, 2, 3, 3)), r"expects 2 input channels.*has 3"),
    (lambda: F.conv2d(nabla.randn(3, 5, 5, 1, 1), nabla.randn(4, 3, 3, 3)), r"expected a 4-D input \(N, C, H, W\)"),
    (lambda: F.conv2d(nabla.randn(2, 3, 2, 2), nabla.randn(4, 3, 3, 3)), r"kernel can't be larger than the padded"),
    (lambda: F.conv2d(nabla.randn(2, 3, 5, 5), nabla.randn(4, 3, 3, 3), stride=0), r"stride must be an int >= 1"),
    (lambda: F.conv2d(nabla.randn(2, 3, 5, 5), nabla.randn(4, 3, 3, 3), padding=-1), r"padding must be an int >= 0"),
    (lambda: F.conv2d(nabla.randn(2, 3, 5, 5), nabla.randn(4, 3, 3, 3), padding="full"), r"'same' or 'valid'"),
    (lambda: F.conv2d(nabla.randn(2, 3, 5, 5), nabla.randn(4, 3, 3, 3), stride=2, padding="same"),
     r"not supported for strided"),
    (lambda: F.conv2d(nabla.randn(2, 4, 5, 5), nabla.randn(3, 2, 3, 3), groups=2), r"divisible by groups=2"),
    (lambda: F.conv2d(nabla.randn(2, 3, 5, 5), nabla.randn(4, 3, 3, 3), nabla.randn(3)),
     r"bias must have shape \(4,\)"),
    (lambda: F.conv2d(nabla.randn(2, 3, 5, 5), nabla.randn(4, 3, 3, 3, dtype=nabla.float64)),
     r"share one floating dtype"),
    (lambda: F.conv2d(nabla.randn(2, 3, 5, 5), "w"), r"weight must be a Tensor"),
    (lambda: F.conv1d(nabla.randn(2, 3, 5, 5), nabla.randn(4, 3, 3)), r"conv1d: expected a 3-D input \(N, C, L\)"),
    (lambda: F.conv1d(nabla.randn(2, 3, 5), nabla.randn(4, 2, 3)), (r"conv1d: weight \(4, 2, 3\) .* expects 2 input "
                                                                     r"channels, but the input \(2, 3, 5\) has 3")),
    (lambda: F.conv_transpose2d(nabla.randn(2, 3, 4, 4), nabla.randn(4, 3, 3, 3)), r"expects 4 input channels"),
    (lambda: F.conv_transpose2d(nabla.randn(2, 4, 4, 4), nabla.randn(4, 3, 3, 3), stride=2, output_padding=2),
     r"output_padding .* must be smaller than either the stride"),
])
def test_conv_errors_name_the_op_and_the_shapes(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_geometry_chooses_flat_rows_for_stride_one_unless_wasteful():
    g = conv_ops.Geometry(3, 8, 8, 4, (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 1)
    assert g.flat and (g.Ho, g.Wo, g.Wq) == (8, 8, 10)
    g = conv_ops.Geometry(3, 8, 8, 4, (3, 3), (2, 2), (1, 1), (1, 1, 1, 1), 1)
    assert not g.flat and (g.Ho, g.Wo, g.Wq) == (4, 4, 4)
    g = conv_ops.Geometry(512, 4, 4, 512, (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 1)  # 50% garbage columns
    assert not g.flat and g.Wq == 4
    g = conv_ops.Geometry(6, 14, 14, 16, (5, 5), (1, 1), (1, 1), (0, 0, 0, 0), 1)  # LeNet: 4 garbage columns a row
    assert not g.flat and g.Wq == 10


@pytest.mark.skipif(not nabla.cuda_is_available(), reason="CuPy with a CUDA GPU is not available")
def test_conv_on_gpu_matches_cpu():  # pragma: no cover - GPU only
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 3, 9, 8)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    outs = []
    for dev in ("cpu", "cuda"):
        xt, wt, bt = (nabla.tensor(a, device=dev, requires_grad=True) for a in (x, w, b))
        y = F.conv2d(xt, wt, bt, stride=2, padding=1)
        z = F.conv_transpose2d(y, wt, stride=2, padding=1)
        (z * z).sum().backward()
        outs.append([t.to("cpu").detach().numpy() for t in (z, xt.grad, wt.grad, bt.grad)])
    for a, c in zip(*outs):
        np.testing.assert_allclose(a, c, rtol=1e-9, atol=1e-9)

