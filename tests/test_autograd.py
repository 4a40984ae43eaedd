"""Autograd semantics: accumulation, graph freeing, higher order, hooks, grad mode, in-place rules."""

import math

import numpy as np
import pytest
import torch

import nabla
from nabla.autograd import GradcheckError, grad, gradcheck


def t64(*shape, requires_grad=True):
    return nabla.randn(*shape, dtype=nabla.float64, requires_grad=requires_grad)


def test_gradients_accumulate_into_leaves():
    x = nabla.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 7.0, 9.0])


def test_same_input_twice_and_diamond():
    x = nabla.tensor(2.0, requires_grad=True)
    a = x * 3
    y = a * a + a  # diamond: a feeds two ops
    y.backward()
    assert x.grad.item() == pytest.approx(3 * (2 * 6 + 1))


def test_long_chain_does_not_recurse():
    x = nabla.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 0.0
    y.backward()
    assert x.grad.item() == 1.0


def test_backward_twice_needs_retain_graph():
    x = nabla.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp()).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()
    x.grad = None
    y = x.exp().sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([1.0, 2.0]), rtol=1e-6)


def test_intermediate_buffers_released():
    x = nabla.randn(4, requires_grad=True)
    y = x.exp()
    node = y.grad_fn
    y.sum().backward()
    assert node.out is None and node.inputs is None and node.parents is None


def test_non_scalar_backward_needs_gradient():
    x = nabla.randn(3, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="scalar outputs"):
        y.backward()
    y.backward(nabla.ones(3))
    np.testing.assert_allclose(x.grad.numpy(), [2, 2, 2])


def test_backward_gradient_shape_checked():
    x = nabla.randn(3, requires_grad=True)
    with pytest.raises(ValueError, match="shape"):
        (x * 2).backward(nabla.ones(4))


def test_backward_without_graph_is_clear_error():
    with pytest.raises(RuntimeError, match="requires_grad"):
        nabla.ones(2).sum().backward()


def test_second_derivative_of_tanh_matches_closed_form():
    xs = np.linspace(-3, 3, 13)
    x = nabla.tensor(xs, requires_grad=True)
    (d1,) = grad(x.tanh().sum(), x, create_graph=True)
    (d2,) = grad(d1.sum(), x)
    t = np.tanh(xs)
    np.testing.assert_allclose(d1.detach().numpy(), 1 - t**2, rtol=1e-12)
    np.testing.assert_allclose(d2.numpy(), -2 * t * (1 - t**2), rtol=1e-10, atol=1e-14)


def test_backward_create_graph_then_backward_again():
    x = nabla.tensor(1.5, dtype=nabla.float64, requires_grad=True)
    y = x**3
    y.backward(create_graph=True)
    g = x.grad
    assert g.item() == pytest.approx(3 * 1.5**2)
    x.grad = None
    g.backward()
    assert x.grad.item() == pytest.approx(6 * 1.5)


def test_third_derivative():
    x = nabla.tensor(0.7, dtype=nabla.float64, requires_grad=True)
    (g1,) = grad(x.sin(), x, create_graph=True)
    (g2,) = grad(g1, x, create_graph=True)
    (g3,) = grad(g2, x)
    assert g3.item() == pytest.approx(-math.cos(0.7))


def test_grad_wrt_non_leaf_and_unused():
    x = nabla.randn(3, requires_grad=True)
    h = x * 2
    y = (h * h).sum()
    z = nabla.randn(3, requires_grad=True)
    gh, gz = grad(y, [h, z], allow_unused=True, retain_graph=True)
    np.testing.assert_allclose(gh.numpy(), 2 * h.detach().numpy(), rtol=1e-6)
    assert gz is None
    with pytest.raises(RuntimeError, match="not used"):
        grad(y, [z])
    assert x.grad is None  # grad() does not touch .grad


def test_no_grad_and_enable_grad():
    x = nabla.randn(2, requires_grad=True)
    with nabla.no_grad():
        y = x * 2
        assert not y.requires_grad
        with nabla.enable_grad():
            assert (x * 2).requires_grad
    assert (x * 2).requires_grad

    @nabla.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    with nabla.set_grad_enabled(False):
        assert not (x + 1).requires_grad
    assert nabla.is_grad_enabled()


def test_hooks_see_and_replace_gradients():
    x = nabla.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    h = x * 3
    handle = h.register_hook(lambda g: seen.append(g.numpy().copy()))
    x.register_hook(lambda g: g * 10)
    (h * h).sum().backward()
    np.testing.assert_allclose(seen[0], [6.0, 12.0])
    np.testing.assert_allclose(x.grad.numpy(), [180.0, 360.0])
    handle.remove()
    x.grad = None
    seen.clear()
    h2 = x * 3
    h2.sum().backward()
    assert seen == []


def test_retain_grad_on_non_leaf():
    x = nabla.randn(3, requires_grad=True)
    h = x * 2
    h.retain_grad()
    h.sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), np.ones(3))
    assert (x * 2).grad is None


def test_hand_written_sgd_idiom():
    w = nabla.tensor([1.0, -1.0], requires_grad=True)
    for _ in range(3):
        loss = (w * w).sum()
        loss.backward()
        with nabla.no_grad():
            w -= 0.1 * w.grad
            w.grad = None
    np.testing.assert_allclose(w.detach().numpy(), np.array([1.0, -1.0]) * 0.8**3, rtol=1e-6)
    assert w.is_leaf and w.requires_grad


def test_inplace_on_leaf_requiring_grad_is_refused():
    w = nabla.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        w += 1
    with pytest.raises(RuntimeError, match="leaf"):
        w[0] = 5.0


def test_inplace_after_use_is_detected():
    x = nabla.randn(3, requires_grad=True)
    h = x * 1.0
    y = h * h  # saves h
    h += 1  # changes h in place
    with pytest.raises(RuntimeError, match="modified by an in-place"):
        y.sum().backward()
    e = x.exp()  # saves its output
    f = e.sum()
    with nabla.no_grad():
        e.mul_(2)
    with pytest.raises(RuntimeError, match="in-place"):
        f.backward()


def test_inplace_through_view_bumps_shared_version():
    x = nabla.randn(2, 3, requires_grad=True)
    h = x * 1.0
    y = (h * h).sum()
    with nabla.no_grad():
        v = h[0]
        v.zero_()
    with pytest.raises(RuntimeError, match="in-place"):
        y.backward()


def test_inplace_with_grad_is_differentiable():
    xs = np.array([1.0, 2.0, 3.0])
    x = nabla.tensor(xs, requires_grad=True)
    h = x * 2
    h *= h  # h = 4 x^2
    h += x  # h = 4x^2 + x
    h.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 8 * xs + 1, rtol=1e-6)

    # torch agrees on a setitem pattern
    x = nabla.tensor(xs, requires_grad=True)
    b = nabla.zeros(4)
    b[1:] = x * x
    b[0] = x[0] * 5
    (b * nabla.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    xt = torch.tensor(xs, requires_grad=True)
    bt = torch.zeros(4, dtype=torch.float64)
    bt[1:] = xt * xt
    bt[0] = xt[0] * 5
    (bt * torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy())


def test_earlier_consumers_keep_their_gradient_after_inplace():
    x = nabla.tensor([2.0], requires_grad=True)
    h = x * 1.0
    y = h * 3  # Mul saves h? it saves both inputs -> refused; use add which saves nothing
    z = h + 3
    h *= 2
    (z + h).sum().backward()
    assert x.grad.item() == pytest.approx(1 + 2)
    del y


def test_inplace_on_view_while_recording_is_refused():
    h = nabla.randn(2, 2, requires_grad=True) * 1.0
    v = h[0]
    with pytest.raises(RuntimeError, match="view"):
        v += 1


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match="floating"):
        nabla.tensor([1, 2], requires_grad=True)


def test_shared_gradient_arrays_are_copied_for_each_leaf():
    a = nabla.randn(3, requires_grad=True)
    b = nabla.randn(3, requires_grad=True)
    (a + b).sum().backward()
    a.grad.mul_(5)
    np.testing.assert_allclose(b.grad.numpy(), np.ones(3))
    c = nabla.randn(2, 2, requires_grad=True)
    c.sum().backward()
    c.grad.add_(1)  # a broadcast gradient must still be writable
    np.testing.assert_allclose(c.grad.numpy(), 2 * np.ones((2, 2)))


def test_mixed_dtype_gradient_keeps_leaf_dtype():
    a = nabla.randn(3, requires_grad=True)
    b = nabla.randn(3, dtype=nabla.float64, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype == nabla.float32 and b.grad.dtype == nabla.float64


def test_gradcheck_passes_and_fails():
    x = t64(3, 4)
    w = t64(4, 2)
    assert gradcheck(lambda a, b: (a @ b).tanh(), (x, w))

    class Wrong(nabla.autograd.Function):
        def forward(self, a):
            return a * a

        def backward(self, g):
            return g * 3  # wrong: should be 2a

    with pytest.raises(GradcheckError, match="mismatch"):
        gradcheck(lambda a: Wrong.apply(a), (t64(3),))
    assert gradcheck(lambda a: Wrong.apply(a), (t64(3),), raise_exception=False) is False


def test_detach_and_data_share_storage():
    x = nabla.randn(3, requires_grad=True)
    d = x.detach()
    assert not d.requires_grad
    with nabla.no_grad():
        d.add_(1)
    np.testing.assert_allclose(d.numpy(), x.detach().numpy())
    y = x.data
    assert not y.requires_grad and y.is_leaf


def test_copy_into_buffer_is_differentiable_and_safe_with_inf():
    x = nabla.tensor([float("inf"), 1.0])
    x.copy_(nabla.tensor([2.0]))
    assert x.tolist() == [2.0, 2.0]
    w = nabla.randn(3, requires_grad=True)
    b = nabla.zeros(3)
    b.copy_(w * 2)
    b.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 2.0, 2.0])
