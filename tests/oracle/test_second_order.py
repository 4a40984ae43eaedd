"""Second derivatives: nabla.autograd.grad(..., create_graph=True) differentiated again, against
torch.autograd.grad double-backward (first gradients and vector-Hessian products)."""

import pytest
import torch
import torch.nn.functional as TF

import nabla

from .helpers import F32, check_double, ints

CASES = [
    ("tanh", lambda x: x.tanh(), None, [(3, 4)]),
    ("sigmoid", lambda x: x.sigmoid(), None, [(3, 4)]),
    ("exp", lambda x: x.exp(), None, [(3, 4)]),
    ("mul", lambda x, y: x * y, None, [(3, 4), (4,)]),
    ("mul_self", lambda x: x * x * x, None, [(3,)]),
    ("div", lambda x, y: x / y, None, [(3, 4), (4,)]),
    ("matmul", lambda a, b: a @ b, None, [(3, 4), (4, 2)]),
    ("matmul_self", lambda a: a @ a, None, [(3, 3)]),
    ("matmul_batched", lambda a, b: (a @ b).tanh(), None, [(2, 3, 4), (4,)]),
    ("softmax", lambda x: nabla.softmax(x, 1), lambda x: TF.softmax(x, 1), [(3, 4)]),
    ("log_softmax", lambda x: nabla.log_softmax(x, 0), lambda x: TF.log_softmax(x, 0), [(3, 4)]),
    ("logsumexp", lambda x: x.logsumexp(1), None, [(3, 4)]),
    ("pow", lambda x: x**3, None, [(3,)]),
    ("log_sqrt", lambda x: x.log() * x.sqrt(), None, [(3,)]),
    ("sin_cos", lambda x: x.sin() * x.cos(), None, [(3,)]),
    ("gelu", lambda x: nabla.gelu(x), lambda x: TF.gelu(x), [(4,)]),
    ("gelu_tanh", lambda x: nabla.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh"), [(4,)]),
    ("softplus", lambda x: nabla.softplus(x), lambda x: TF.softplus(x), [(4,)]),
    ("var", lambda x: x.var(1), None, [(3, 4)]),
    ("mlp", lambda x, w: ((x @ w).tanh() @ w.T).sigmoid().sum(), None, [(2, 3), (3, 3)]),
    # ops whose own second derivative is zero still pass the gradient's dependence through
    ("relu", lambda x: x.relu() * x, None, [(4,)]),
    ("leaky_relu", lambda x: nabla.leaky_relu(x, 0.1) * x, lambda x: TF.leaky_relu(x, 0.1) * x, [(4,)]),
    ("elu", lambda x: nabla.elu(x), lambda x: TF.elu(x), [(4,)]),
    ("abs", lambda x: x.abs() * x, None, [(4,)]),
    ("clamp", lambda x: x.clamp(-0.5, 0.5) * x, None, [(4,)]),
    ("maximum", lambda x, y: nabla.maximum(x, y) * x, lambda x, y: torch.maximum(x, y) * x, [(4,), (4,)]),
    (
        "where",
        lambda x, y: nabla.where(x > 0, x * y, y * y),
        lambda x, y: torch.where(x > 0, x * y, y * y),
        [(4,), (4,)],
    ),
    ("pow_tt", lambda x, y: x**y, None, [(3,), (3,)]),
    ("erf", lambda x: nabla.erf(x), lambda x: torch.erf(x), [(4,)]),
    ("rsqrt_log1p", lambda x: x.rsqrt() + x.log1p(), None, [(4,)]),
    ("max_dim", lambda x: x.max(1)[0] * x.sum(1), lambda x: x.max(1)[0] * x.sum(1), [(3, 4)]),
    ("amax", lambda x: x.amax(0) * x.mean(0), None, [(3, 4)]),
    ("mean_std", lambda x: x.std(0) * x.mean(), None, [(3, 4)]),
    ("getitem", lambda x: x[[0, 0, 2], 1:] * x[1:, :3].sum(), None, [(3, 4)]),
    (
        "cat_pad",
        lambda x: nabla.cat([x, x * x], 1).sum(1) * nabla.pad(x, (1, 1)).sum(1),
        lambda x: torch.cat([x, x * x], 1).sum(1) * TF.pad(x, (1, 1)).sum(1),
        [(2, 3)],
    ),
    ("expand_repeat", lambda x: x.expand(2, 3).repeat(2, 1) * x, None, [(3,)]),
    ("flip_permute", lambda x: x.flip(0).permute(1, 0) @ x, None, [(3, 2)]),
]


@pytest.mark.parametrize("name,fn,tfn,inputs", CASES, ids=[c[0] for c in CASES])
def test_double_backward(name, fn, tfn, inputs):
    low, high = (0.5, 2.0) if name in ("div", "log_sqrt", "pow_tt", "rsqrt_log1p") else (-2.0, 2.0)
    check_double(fn, inputs, tfn, low=low, high=high)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_double_backward_cross_entropy(reduction):
    n = lambda x, t: nabla.cross_entropy(x, t, reduction=reduction)  # noqa: E731
    t = lambda x, t: TF.cross_entropy(x, t, reduction=reduction)  # noqa: E731
    check_double(n, [(4, 5), ints((4,), 0, 5)], t)
    check_double(n, [(2, 5, 3), ints((2, 3), 0, 5)], t)


def test_double_backward_cross_entropy_weight_ignore():
    w = [1.0, 2.0, 0.5, 3.0]

    def n(x, t):
        return nabla.cross_entropy(x, t, weight=nabla.tensor(w, dtype=nabla.float64), ignore_index=1)

    def tt(x, t):
        return TF.cross_entropy(x, t, weight=torch.tensor(w, dtype=torch.float64), ignore_index=1)

    check_double(n, [(5, 4), ints((5,), 0, 4)], tt)


def test_double_backward_float32():
    check_double(lambda x: x.tanh() * x, [(3,)], dtype=F32)


def test_gradient_penalty():
    """A WGAN-GP style penalty: the norm of the input gradient, minimised w.r.t. the weights."""
    import numpy as np

    rng = np.random.default_rng(0)
    xs, ws = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    results = []
    for lib, mk in ((nabla, lambda a: nabla.tensor(a)), (torch, lambda a: torch.from_numpy(a.copy()))):
        x, w = mk(xs).requires_grad_(True), mk(ws).requires_grad_(True)
        out = (x @ w).tanh().sum()
        (gx,) = lib.autograd.grad(out, [x], create_graph=True)
        penalty = ((gx * gx).sum(1).sqrt() - 1) ** 2
        penalty.mean().backward()
        results.append((w.grad.detach().numpy(), x.grad.detach().numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-7, atol=1e-9)


def test_double_backward_prod_with_zeros():
    """With zeros, prod's gradient is the product of the other elements; it must stay differentiable."""
    import numpy as np

    x = np.array([[0.0, 2.0, 3.0], [1.5, 0.0, 0.0], [2.0, -1.0, 0.5]])
    check_double(lambda t: t.prod(1), [x])
    check_double(lambda t: t.prod(0, keepdim=True), [x])
    check_double(lambda t: t.prod(), [x], lambda t: t.prod())
    check_double(lambda t: t.prod(1) * t[:, 0], [np.array([[0.0], [2.0]])])
    check_double(lambda t: t.prod(1), [(3, 4)])


def test_double_backward_gather_scatter_setitem():
    i = ints((3, 4), 0, 3)

    def idx(x):
        return torch.from_numpy(i) if isinstance(x, torch.Tensor) else nabla.tensor(i)

    check_double(lambda x: x.gather(0, idx(x)) * x, [(3, 4)])
    check_double(lambda x, s: x.scatter_add(0, idx(x), s * s) * x, [(3, 4), (3, 4)])

    def put(x, v):
        y = x * 1
        y[1] = v * v
        return y * x

    check_double(put, [(3, 4), (4,)])
