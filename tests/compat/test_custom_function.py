"""PyTorch-style custom autograd functions (``ctx``, static forward/backward, ``F.apply``) next to
nabla's own op style; the same class body runs on nabla and on PyTorch and gives the same numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nabla


def make_functions(lib):
    """The same source for both frameworks: a custom exp, a two-output op and one with a non-Tensor arg."""

    class Exp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    class ScaledSinCos(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale, w):
            ctx.save_for_backward(x, w)
            ctx.scale = scale
            return x.sin() * scale * w, x.cos() * w

        @staticmethod
        def backward(ctx, g_sin, g_cos):
            x, w = ctx.saved_tensors
            gx = (g_sin * x.cos() * ctx.scale - g_cos * x.sin()) * w if ctx.needs_input_grad[0] else None
            gw = g_sin * x.sin() * ctx.scale + g_cos * x.cos() if ctx.needs_input_grad[2] else None
            return gx, None, gw

    class MaxWithIndex(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            v, i = x.max(dim=1)
            ctx.mark_non_differentiable(i)
            ctx.save_for_backward(i)
            ctx.shape = x.shape
            return v, i

        @staticmethod
        def backward(ctx, gv, gi):
            (i,) = ctx.saved_tensors
            out = lib.zeros(ctx.shape, dtype=gv.dtype)
            return out.scatter_add(1, i.unsqueeze(1), gv.unsqueeze(1))

    return Exp, ScaledSinCos, MaxWithIndex


N_FUNCS, T_FUNCS = make_functions(nabla), make_functions(torch)


def _both(data, requires_grad=True):
    return nabla.tensor(data, requires_grad=requires_grad), torch.tensor(data, requires_grad=requires_grad)


def test_single_output_values_grad_and_grad_fn():
    data = np.linspace(-1, 1, 6).reshape(2, 3)
    n, t = _both(data)
    yn, yt = N_FUNCS[0].apply(n), T_FUNCS[0].apply(t)
    np.testing.assert_allclose(yn.detach().numpy(), yt.detach().numpy())
    assert yn.grad_fn.name() == "ExpBackward" and "Exp" in yt.grad_fn.name()
    assert yn.grad_fn.next_functions[0][0].variable is n
    (yn * yn).sum().backward()
    (yt * yt).sum().backward()
    np.testing.assert_allclose(n.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_two_outputs_and_non_tensor_argument():
    xd, wd = np.array([0.3, -1.2, 2.0]), np.array([1.5, -0.5, 0.25])
    xn, xt = _both(xd)
    wn, wt = _both(wd)
    outs_n, outs_t = N_FUNCS[1].apply(xn, 2.0, wn), T_FUNCS[1].apply(xt, 2.0, wt)
    for a, b in zip(outs_n, outs_t):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)
    (outs_n[0].sum() * 3 + (outs_n[1] ** 2).sum()).backward()
    (outs_t[0].sum() * 3 + (outs_t[1] ** 2).sum()).backward()
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(wn.grad.numpy(), wt.grad.numpy(), rtol=1e-12)


def test_one_output_unused_gets_zeros():
    xn, xt = _both(np.array([0.1, 0.2]))
    wn, wt = _both(np.array([1.0, 2.0]), requires_grad=False)
    N_FUNCS[1].apply(xn, 1.0, wn)[1].sum().backward()
    T_FUNCS[1].apply(xt, 1.0, wt)[1].sum().backward()
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


def test_non_differentiable_output():
    data = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    n, t = _both(data)
    (vn, in_), (vt, it) = N_FUNCS[2].apply(n), T_FUNCS[2].apply(t)
    assert in_.tolist() == it.tolist() and not in_.requires_grad and not it.requires_grad
    (vn * nabla.tensor([2.0, 3.0], dtype=nabla.float64)).sum().backward()
    (vt * torch.tensor([2.0, 3.0], dtype=torch.float64)).sum().backward()
    np.testing.assert_array_equal(n.grad.numpy(), t.grad.numpy())


def test_gradcheck_and_second_order():
    x = nabla.tensor([0.2, -0.7, 1.1], dtype=nabla.float64, requires_grad=True)
    w = nabla.tensor([0.5, 1.5, -2.0], dtype=nabla.float64, requires_grad=True)
    assert nabla.autograd.gradcheck(lambda a, b: N_FUNCS[1].apply(a, 1.7, b), [x, w])
    assert nabla.autograd.gradcheck(lambda a: N_FUNCS[0].apply(a), [x])
    # the ctx-style backward is made of ops, so it is differentiable again
    (g,) = nabla.autograd.grad(N_FUNCS[0].apply(x).sum(), x, create_graph=True)
    (gg,) = nabla.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), np.exp(x.detach().numpy()), rtol=1e-12)


def test_no_graph_when_no_input_requires_grad_or_under_no_grad():
    x = nabla.tensor([1.0, 2.0])
    assert N_FUNCS[0].apply(x).grad_fn is None
    with nabla.no_grad():
        assert N_FUNCS[0].apply(nabla.tensor([1.0], requires_grad=True)).grad_fn is None


def test_returning_the_input_keeps_its_history_apart():
    class Ident(nabla.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 3

    x = nabla.tensor([1.0, 2.0], requires_grad=True)
    y = Ident.apply(x)
    assert y is not x and x.is_leaf
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_setup_context_style():
    class Square(nabla.autograd.Function):
        @staticmethod
        def forward(x):
            return x * x

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = nabla.tensor([3.0], requires_grad=True)
    Square.apply(x).backward()
    assert x.grad.tolist() == [6.0]


def test_errors_name_the_function():
    class WrongCount(nabla.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    a = nabla.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="WrongCount.backward returned 1 gradients but forward took 2"):
        WrongCount.apply(a, a).sum().backward()

    class WrongShape(nabla.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(RuntimeError, match="shape"):
        WrongShape.apply(a).backward()

    with pytest.raises(TypeError, match="backward must be one too"):
        class Mixed(nabla.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x

            def backward(self, g):
                return g

    class Modified(nabla.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x

    b = nabla.ones(2, requires_grad=True)
    c = b * 1
    y = Modified.apply(c)
    with nabla.no_grad():
        c.add_(1)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()


def test_nabla_style_ops_unaffected():
    # nabla's own op style (instance forward on arrays) still works side by side
    from nabla.ops.arithmetic import Mul  # noqa: F401  (an op class; exists and applies)

    x = nabla.tensor([2.0], requires_grad=True)
    (x * x).backward()
    assert x.grad.tolist() == [4.0]
