"""nabla.autograd.gradcheck (finite differences, float64) for every differentiable op.

Inputs are kept away from kinks (|x| > eps) so central differences are valid.
"""

import numpy as np
import pytest

import nabla

from .helpers import gradcheck, ints

P = (0.5, 2.0)  # positive range (log, sqrt, pow bases, divisors)
IDX = ints((3, 4), 0, 3)
MASK = np.random.default_rng(4).random((3, 4)) > 0.5
PROD_ZEROS = np.array([[0.0, 2.0, 3.0], [1.5, 0.0, 0.0], [2.0, -1.0, 0.5]])
TIES = np.array([[1.0, 3.0, 3.0], [3.0, 0.0, 0.5]])

# (name, fn, inputs, (low, high))
CASES = [
    # arithmetic
    ("add", lambda a, b: a + b, [(2, 3), (3,)], None),
    ("sub", lambda a, b: a - b, [(2, 1), (3,)], None),
    ("mul", lambda a, b: a * b, [(2, 3), (2, 1)], None),
    ("div", lambda a, b: a / b, [(2, 3), (3,)], P),
    ("rdiv_scalar", lambda a: 2.0 / a, [(2, 3)], P),
    ("pow_tt", lambda a, b: a**b, [(2, 3), (3,)], P),
    ("pow_ts", lambda a: a**3, [(2, 3)], None),
    ("pow_frac", lambda a: a**1.5, [(2, 3)], P),
    ("pow_neg", lambda a: a**-2, [(2, 3)], P),
    ("pow_st", lambda a: 2.0**a, [(2, 3)], None),
    ("neg", lambda a: -a, [(2, 3)], None),
    ("square", lambda a: a.square(), [(2, 3)], None),
    # math
    ("abs", lambda a: a.abs(), [(2, 3)], P),
    ("exp", lambda a: a.exp(), [(2, 3)], None),
    ("log", lambda a: a.log(), [(2, 3)], P),
    ("log1p", lambda a: a.log1p(), [(2, 3)], P),
    ("sqrt", lambda a: a.sqrt(), [(2, 3)], P),
    ("rsqrt", lambda a: a.rsqrt(), [(2, 3)], P),
    ("sin", lambda a: a.sin(), [(2, 3)], None),
    ("cos", lambda a: a.cos(), [(2, 3)], None),
    ("erf", lambda a: nabla.erf(a), [(2, 3)], None),
    # activations
    ("tanh", lambda a: a.tanh(), [(2, 3)], None),
    ("sigmoid", lambda a: a.sigmoid(), [(2, 3)], None),
    ("relu", lambda a: (a - 0.05).relu(), [np.array([-1.0, -0.3, 0.4, 1.2])], None),
    ("leaky_relu", lambda a: nabla.leaky_relu(a, 0.1), [np.array([-1.0, -0.3, 0.4, 1.2])], None),
    ("elu", lambda a: nabla.elu(a, 0.8), [np.array([-1.0, -0.3, 0.4, 1.2])], None),
    ("gelu", lambda a: nabla.gelu(a), [(2, 3)], None),
    ("gelu_tanh", lambda a: nabla.gelu(a, approximate="tanh"), [(2, 3)], None),
    ("softplus", lambda a: nabla.softplus(a, beta=1.5, threshold=2.0), [np.array([-2.0, -0.3, 0.4, 1.0, 3.0])], None),
    ("clamp", lambda a: a.clamp(-0.5, 0.7), [np.array([-1.0, -0.3, 0.4, 1.2])], None),
    (
        "clamp_tensor",
        lambda a, lo, hi: a.clamp(lo, hi),
        [np.array([-1.0, -0.3, 0.4, 1.2]), np.array([-0.5, -0.5, 0.0, 0.0]), np.array([1.0])],
        None,
    ),
    ("maximum", lambda a, b: nabla.maximum(a, b), [(2, 3), (3,)], None),
    ("minimum", lambda a, b: nabla.minimum(a, b), [(2, 3), (2, 1)], None),
    ("where", lambda a, b: nabla.where(nabla.tensor(MASK), a, b), [(3, 4), (4,)], None),
    ("masked_fill", lambda a: a.masked_fill(nabla.tensor(MASK), 2.0), [(3, 4)], None),
    # reductions
    ("sum", lambda a: a.sum((0, 2)), [(2, 3, 2)], None),
    ("sum_keep", lambda a: a.sum(1, keepdim=True), [(2, 3)], None),
    ("mean", lambda a: a.mean(-1), [(2, 3)], None),
    ("mean_all", lambda a: a.mean(), [(2, 3)], None),
    ("max_dim", lambda a: a.max(1)[0], [(2, 3)], None),
    ("min_dim", lambda a: a.min(0, keepdim=True)[0], [(2, 3)], None),
    ("max_all", lambda a: a.max(), [(2, 3)], None),
    ("amax", lambda a: a.amax((0, 1)), [(2, 3, 2)], None),
    ("amin", lambda a: a.amin(-1), [(2, 3)], None),
    ("var", lambda a: a.var(1), [(2, 4)], None),
    ("var_c0", lambda a: a.var(correction=0), [(2, 4)], None),
    ("std", lambda a: a.std(0, keepdim=True), [(3, 2)], None),
    ("logsumexp", lambda a: a.logsumexp(1), [(2, 3)], None),
    ("prod", lambda a: a.prod(1), [(2, 3)], None),
    ("prod_all", lambda a: a.prod(), [(2, 3)], P),
    ("prod_zeros", lambda a: a.prod(1), [PROD_ZEROS], None),
    ("prod_zeros_all", lambda a: a.prod(), [np.array([0.0, 2.0, -1.5, 0.7])], None),
    # linalg
    ("matmul_2d", lambda a, b: a @ b, [(2, 3), (3, 2)], None),
    ("matmul_1d", lambda a, b: a @ b, [(3,), (3, 2)], None),
    ("matmul_vv", lambda a, b: a @ b, [(3,), (3,)], None),
    ("matmul_batched", lambda a, b: a @ b, [(2, 1, 2, 3), (2, 3, 2)], None),
    ("mm", lambda a, b: nabla.mm(a, b), [(2, 3), (3, 2)], None),
    ("bmm", lambda a, b: nabla.bmm(a, b), [(2, 2, 3), (2, 3, 1)], None),
    ("dot", lambda a, b: nabla.dot(a, b), [(3,), (3,)], None),
    # shape
    ("reshape", lambda a: a.reshape(3, 2) * a.reshape(3, 2), [(2, 3)], None),
    ("permute", lambda a: a.permute(2, 0, 1), [(2, 3, 2)], None),
    ("transpose", lambda a: a.transpose(0, 1), [(2, 3)], None),
    ("expand", lambda a: a.expand(2, 3, 2), [(3, 1)], None),
    ("broadcast_to", lambda a: nabla.broadcast_to(a, (2, 3)), [(3,)], None),
    ("view", lambda a: a.view(-1) * a.view(6), [(2, 3)], None),
    ("swapaxes", lambda a: nabla.swapaxes(a, 0, 2), [(2, 1, 3)], None),
    ("min_all", lambda a: a.min(), [(2, 3)], None),
    ("copy_", lambda a, v: _copy(a, v), [(2, 3), (3,)], None),
    ("squeeze_unsqueeze", lambda a: a.squeeze(0).unsqueeze(-1), [(1, 3)], None),
    ("flatten", lambda a: a.flatten(1), [(2, 2, 2)], None),
    ("cat", lambda a, b: nabla.cat([a, b, a], 1), [(2, 1), (2, 2)], None),
    ("stack", lambda a, b: nabla.stack([a, b], 1), [(2, 2), (2, 2)], None),
    ("split", lambda a: a.split([1, 2], 1)[1] * 2, [(2, 3)], None),
    ("chunk", lambda a: a.chunk(2)[0].exp(), [(3, 2)], None),
    ("pad", lambda a: nabla.pad(a, (1, 2, 0, 1), value=0.5), [(2, 2)], None),
    ("flip", lambda a: a.flip((0, 1)), [(2, 3)], None),
    ("repeat", lambda a: a.repeat(2, 1, 2), [(2, 2)], None),
    ("T", lambda a: a.T @ a, [(2, 3)], None),
    # indexing
    ("getitem_basic", lambda a: a[1:, None, ::2], [(3, 4)], None),
    ("getitem_int", lambda a: a[1, -1] * a[0], [(3, 4)], None),
    ("getitem_repeat", lambda a: a[[0, 0, 2], 1:], [(3, 4)], None),
    ("getitem_mask", lambda a: a[nabla.tensor(MASK)], [(3, 4)], None),
    ("getitem_2lists", lambda a: a[[0, 2, 0], [1, 1, 1]], [(3, 4)], None),
    ("setitem", lambda a, v: _setitem(a, v), [(3, 4), (2,)], None),
    ("gather", lambda a: a.gather(0, nabla.tensor(IDX)), [(3, 4)], None),
    ("scatter_add", lambda a, s: a.scatter_add(0, nabla.tensor(IDX), s), [(3, 4), (3, 4)], None),
    ("index_select", lambda a: a.index_select(1, nabla.tensor([3, 0, 3])), [(2, 4)], None),
    # nn
    ("softmax", lambda a: a.softmax(1), [(2, 3)], None),
    ("log_softmax", lambda a: a.log_softmax(0), [(2, 3)], None),
    ("cross_entropy", lambda a: nabla.cross_entropy(a, nabla.tensor([0, 2, 1])), [(3, 4)], None),
    (
        "cross_entropy_w",
        lambda a: nabla.cross_entropy(
            a, nabla.tensor([0, 2, -100]), weight=nabla.tensor([1.0, 2.0, 0.5, 1.0], dtype=nabla.float64)
        ),
        [(3, 4)],
        None,
    ),
    (
        "cross_entropy_none",
        lambda a: nabla.cross_entropy(a, nabla.tensor([[0, 2], [1, 1]]), reduction="none"),
        [(2, 3, 2)],
        None,
    ),
    ("cross_entropy_sum", lambda a: nabla.cross_entropy(a, nabla.tensor([3, 0]), reduction="sum"), [(2, 4)], None),
    # conversions
    ("clone", lambda a: a.clone() * a, [(2, 3)], None),
    ("float_double", lambda a: a.float().double(), [(2, 3)], None),
]


def _copy(a, v):
    y = a * 1
    y.copy_(v)
    return y * a


def _setitem(a, v):
    y = a * 1
    y[1, 1:3] = v
    y[0] = v.sum()
    return y * y


@pytest.mark.parametrize("name,fn,inputs,rng", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(name, fn, inputs, rng):
    low, high = rng or (-2.0, 2.0)
    kw = {"eps": 1e-3, "atol": 1e-3} if name == "float_double" else {}  # the float32 round trip is coarse
    gradcheck(fn, inputs, low=low, high=high, **kw)


def test_ties_gradcheck():
    """A max with ties is not differentiable; gradcheck must notice that (it can fail)."""
    with pytest.raises(nabla.autograd.GradcheckError):
        gradcheck(lambda a: a.max(), [TIES])
