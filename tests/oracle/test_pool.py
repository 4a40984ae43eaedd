"""max_pool2d, avg_pool2d, adaptive_avg_pool2d, interpolate and pad against PyTorch: values, gradients,
indices, gradcheck, second derivatives, errors."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import nabla
import nabla.nn.functional as F

from .helpers import F32, F64, check, check_double, gradcheck

DTYPES = [F32, F64]

MAX = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 3, "stride": 1, "padding": 1},  # overlapping windows: gradients add up
    {"kernel_size": 3, "stride": 2, "ceil_mode": True},
    {"kernel_size": 2, "stride": 2, "ceil_mode": True},
    {"kernel_size": (3, 2), "stride": (2, 1), "padding": (1, 1), "dilation": (2, 1)},
    {"kernel_size": 2, "stride": 1, "dilation": 2},
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", MAX, ids=str)
def test_max_pool2d_matches_torch(kw, dtype):
    check(lambda x: F.max_pool2d(x, **kw), [(2, 3, 9, 7)], lambda x: TF.max_pool2d(x, **kw), dtype=dtype)


@pytest.mark.parametrize("kw", MAX, ids=str)
def test_max_pool2d_indices_match_torch(kw):
    check(lambda x: F.max_pool2d(x, return_indices=True, **kw), [(2, 3, 9, 7)],
          lambda x: TF.max_pool2d(x, return_indices=True, **kw), dtype=F64)
    x = np.random.default_rng(1).standard_normal((3, 9, 7))  # unbatched (C, H, W)
    n_out, n_idx = F.max_pool2d(nabla.tensor(x), return_indices=True, **kw)
    t_out, t_idx = TF.max_pool2d(torch.from_numpy(x), return_indices=True, **kw)
    np.testing.assert_array_equal(n_out.numpy(), t_out.numpy())
    np.testing.assert_array_equal(n_idx.numpy(), t_idx.numpy())


def test_max_pool2d_ties_and_nan_follow_torch():
    """Ties go to the first maximum in the window; NaN wins (and the last NaN is the index), as PyTorch."""
    x = np.zeros((1, 2, 4, 4))
    x[0, 1, 1, 1] = x[0, 1, 0, 0] = np.nan
    x[0, 0, 2:, 2:] = 5.0
    check(lambda t: F.max_pool2d(t, 2, return_indices=True), [x], lambda t: TF.max_pool2d(t, 2, return_indices=True),
          dtype=F64, grad=False)
    check(lambda t: F.max_pool2d(t, 3, 1, 1), [np.ones((1, 1, 3, 3))], lambda t: TF.max_pool2d(t, 3, 1, 1), dtype=F64)


AVG = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
    {"kernel_size": 2, "stride": 3, "ceil_mode": True},
    {"kernel_size": (3, 2), "stride": 1, "divisor_override": 5},
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", AVG, ids=str)
def test_avg_pool2d_matches_torch(kw, dtype):
    check(lambda x: F.avg_pool2d(x, **kw), [(2, 3, 9, 8)], lambda x: TF.avg_pool2d(x, **kw), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [1, (1, 1), (3, 2), (4, None), (5, 7), (9, 8), (2, 2)], ids=str)
def test_adaptive_avg_pool2d_matches_torch(size, dtype):
    check(lambda x: F.adaptive_avg_pool2d(x, size), [(2, 3, 9, 8)], lambda x: TF.adaptive_avg_pool2d(x, size),
          dtype=dtype)
    check(lambda x: F.adaptive_avg_pool2d(x, size), [(3, 9, 8)], lambda x: TF.adaptive_avg_pool2d(x, size), dtype=dtype)


INTERP = [
    {"scale_factor": 2},
    {"scale_factor": 3, "mode": "nearest"},
    {"scale_factor": 1.7},
    {"size": (5, 13)},
    {"size": 4},
    {"scale_factor": (0.6, 2.3), "recompute_scale_factor": True},
    {"scale_factor": 2, "mode": "bilinear"},
    {"scale_factor": 2, "mode": "bilinear", "align_corners": True},
    {"scale_factor": 2, "mode": "bilinear", "align_corners": False},
    {"size": (4, 11), "mode": "bilinear"},
    {"size": (4, 11), "mode": "bilinear", "align_corners": True},
    {"size": (1, 1), "mode": "bilinear", "align_corners": True},
    {"scale_factor": (0.6, 2.3), "mode": "bilinear"},
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kw", INTERP, ids=str)
def test_interpolate_matches_torch(kw, dtype):
    check(lambda x: F.interpolate(x, **kw), [(2, 3, 9, 8)], lambda x: TF.interpolate(x, **kw), dtype=dtype)


def test_pad_constant_matches_torch():
    check(lambda x: F.pad(x, (1, 2, 3, 0)), [(2, 3, 4, 5)], lambda x: TF.pad(x, (1, 2, 3, 0)))
    check(lambda x: F.pad(x, (1, 1), value=-2.5), [(2, 3, 4)], lambda x: TF.pad(x, (1, 1), value=-2.5))


def test_pool_gradcheck():
    x = [(1, 2, 6, 5)]
    gradcheck(lambda t: F.max_pool2d(t, 3, 2, 1), x)
    gradcheck(lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False), x)
    gradcheck(lambda t: F.adaptive_avg_pool2d(t, (4, 3)), x)
    gradcheck(lambda t: F.interpolate(t, scale_factor=1.5, mode="bilinear"), x)
    gradcheck(lambda t: F.interpolate(t, size=(7, 3)), x)


SECOND = {
    "max": (lambda t: F.max_pool2d(t, 2, 1), lambda t: TF.max_pool2d(t, 2, 1)),
    "avg": (lambda t: F.avg_pool2d(t, 3, 2, 1), lambda t: TF.avg_pool2d(t, 3, 2, 1)),
    "bilinear": (lambda t: F.interpolate(t, scale_factor=2, mode="bilinear"),
                 lambda t: TF.interpolate(t, scale_factor=2, mode="bilinear")),
}


@pytest.mark.parametrize("name", list(SECOND))
def test_pool_second_derivatives(name):
    """Each pooling backward is itself an op: vector-Hessian products match PyTorch's."""
    n_fn, t_fn = SECOND[name]
    check_double(lambda t: n_fn(t).pow(3), [(1, 2, 5, 5)], lambda t: t_fn(t).pow(3))


@pytest.mark.parametrize("call, message", [
    (lambda: F.max_pool2d(nabla.randn(2, 3), 2), r"max_pool2d: expected a 3-D \(C, H, W\) or 4-D"),
    (lambda: F.max_pool2d(nabla.randn(1, 1, 4, 4), 3, padding=2), r"padding \(2, 2\) should be at most half"),
    (lambda: F.max_pool2d(nabla.randn(1, 1, 2, 2), 3), r"too small for kernel \(3, 3\)"),
    (lambda: F.max_pool2d(nabla.randn(1, 1, 4, 4), 0), r"kernel_size must be an int >= 1"),
    (lambda: F.max_pool2d(nabla.tensor(np.ones((1, 1, 4, 4), np.int64)), 2), r"must be a floating tensor"),
    (lambda: F.avg_pool2d(nabla.randn(1, 1, 4, 4), 2, divisor_override=0), r"divisor_override must be a non-zero int"),
    (lambda: F.adaptive_avg_pool2d(nabla.randn(1, 1, 4, 4), (0, 2)), r"output_size must be positive"),
    (lambda: F.interpolate(nabla.randn(1, 1, 4, 4), scale_factor=2, mode="bicubic"),
     r"mode 'bicubic' is not supported"),
    (lambda: F.interpolate(nabla.randn(1, 1, 4, 4), scale_factor=2, align_corners=True), r"align_corners"),
    (lambda: F.interpolate(nabla.randn(1, 1, 4, 4)), r"exactly one of size and scale_factor"),
    (lambda: F.interpolate(nabla.randn(1, 4, 4), scale_factor=2), r"expected a 4-D input"),
])
def test_pool_errors(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()
