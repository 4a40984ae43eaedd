"""Hypothesis: random broadcast-compatible shapes (with 0-d, size-1 and size-0 dims) give the same
values and the same gradients (reduced to each input's shape) in nabla and PyTorch."""

import numpy as np
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import nabla

from .helpers import F32, F64, check

SETTINGS = settings(max_examples=50, deadline=None, database=None)
DTYPE = st.sampled_from([F32, F64])
SEED = st.integers(0, 2**16)

BINARY = {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / y,
    "maximum": lambda x, y: x.maximum(y),
}


def _shapes(n):
    return mutually_broadcastable_shapes(num_shapes=n, min_dims=0, max_dims=4, min_side=0, max_side=3)


@SETTINGS
@given(shapes=_shapes(2), op=st.sampled_from(sorted(BINARY)), dtype=DTYPE, seed=SEED)
def test_binary_broadcasting(shapes, op, dtype, seed):
    sa, sb = shapes.input_shapes
    # divisors stay away from 0; maximum still sees both orders of magnitude
    low, high = (0.5, 2.0) if op == "div" else (-2.0, 2.0)
    n_out, t_out = check(BINARY[op], [sa, sb], dtype=dtype, low=low, high=high, seed=seed)
    assert tuple(n_out[0].shape) == shapes.result_shape


@SETTINGS
@given(shapes=_shapes(2), op=st.sampled_from(["add", "sub", "mul", "div"]), seed=SEED)
def test_binary_broadcasting_with_scalar_operand(shapes, op, seed):
    """A Python number on either side broadcasts as a 0-d operand and keeps float32."""
    sa, _ = shapes.input_shapes
    fn = BINARY[op]
    check(lambda x: fn(x, 1.5), [sa], seed=seed, low=0.5, high=2.0)
    check(lambda x: fn(1.5, x), [sa], seed=seed, low=0.5, high=2.0)


@SETTINGS
@given(shapes=_shapes(3), dtype=DTYPE, seed=SEED)
def test_where_broadcasting(shapes, dtype, seed):
    sc, sa, sb = shapes.input_shapes
    cond = np.asarray(np.random.default_rng(seed).random(sc) > 0.5)
    n_out, _ = check(lambda c, x, y: nabla.where(c, x, y), [cond, sa, sb], lambda c, x, y: torch.where(c, x, y),
                     dtype=dtype, seed=seed)
    assert tuple(n_out[0].shape) == shapes.result_shape


@SETTINGS
@given(shapes=_shapes(2), seed=SEED)
def test_chained_broadcasting(shapes, seed):
    """A small expression mixing ops: gradients accumulate over both uses of each input."""
    sa, sb = shapes.input_shapes
    check(lambda x, y: (x * y + x).maximum(y) - y / (x.abs() + 1), [sa, sb], dtype=F64, seed=seed)


@SETTINGS
@given(
    shape=st.lists(st.integers(0, 3), min_size=1, max_size=4).map(tuple),
    keepdim=st.booleans(),
    data=st.data(),
)
def test_sum_mean_random_dims(shape, keepdim, data):
    nd = len(shape)
    dims = data.draw(st.lists(st.integers(-nd, nd - 1), min_size=1, max_size=nd, unique_by=lambda d: d % nd).map(tuple))
    check(lambda x: x.sum(dims, keepdim=keepdim), [shape], dtype=F64)
    check(lambda x: x.mean(dims, keepdim=keepdim), [shape], dtype=F64)
