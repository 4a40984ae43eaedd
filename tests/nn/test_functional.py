"""nabla.nn.functional against torch.nn.functional (values and gradients) and gradcheck in float64."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import nabla
import nabla.nn.functional as F
from nabla.autograd import gradcheck as nabla_gradcheck

from .helpers import F32, F64, check, gradcheck


def test_nn_functional_is_nabla_functional():
    assert F.linear is nabla.functional.linear and nabla.nn.functional.batch_norm is nabla.functional.batch_norm


@pytest.mark.parametrize("dtype", [F32, F64])
def test_linear(dtype):
    check(F.linear, [(5, 4), (3, 4), (3,)], TF.linear, dtype=dtype)
    check(F.linear, [(2, 5, 4), (3, 4)], TF.linear, dtype=dtype)
    check(lambda x, w: F.linear(x, w), [(4,), (3, 4)], lambda x, w: TF.linear(x, w), dtype=dtype)


@pytest.mark.parametrize("name,kw", [
    ("relu", {}), ("leaky_relu", {"negative_slope": 0.1}), ("elu", {"alpha": 0.7}), ("gelu", {}),
    ("gelu", {"approximate": "tanh"}), ("sigmoid", {}), ("tanh", {}), ("softplus", {"beta": 2.0}),
    ("softmax", {"dim": 1}), ("log_softmax", {"dim": -1}),
], ids=str)
def test_activations(name, kw):
    check(lambda x: getattr(F, name)(x, **kw), [(3, 5)], lambda x: getattr(TF, name)(x, **kw), low=-4, high=4)


def test_step_values():
    x = np.array([-1.0, 0.0, 2.0], np.float32)
    out = F.step(nabla.tensor(x), 0.5).numpy()
    np.testing.assert_array_equal(out, torch.heaviside(torch.from_numpy(x), torch.tensor(0.5)).numpy())


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_functional_updates_running_stats_like_torch(training):
    r = np.random.default_rng(0)
    x = r.standard_normal((8, 3, 4)).astype(F64)
    rm, rv = r.standard_normal(3), r.uniform(0.5, 2, 3)
    nrm, nrv = nabla.tensor(rm.copy()), nabla.tensor(rv.copy())
    trm, trv = torch.from_numpy(rm.copy()), torch.from_numpy(rv.copy())
    check(lambda x, w, b: F.batch_norm(x, nrm, nrv, w, b, training=training, momentum=0.2),
          [x, (3,), (3,)], lambda x, w, b: TF.batch_norm(x, trm, trv, w, b, training=training, momentum=0.2),
          dtype=F64)
    np.testing.assert_allclose(nrm.numpy(), trm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(nrv.numpy(), trv.numpy(), rtol=1e-12)


def test_layer_norm_and_embedding():
    check(lambda x, w, b: F.layer_norm(x, (3, 4), w, b), [(2, 3, 4), (3, 4), (3, 4)],
          lambda x, w, b: TF.layer_norm(x, (3, 4), w, b))
    check(lambda x: F.layer_norm(x, 4), [(2, 4)], lambda x: TF.layer_norm(x, (4,)))
    idx = np.array([[0, 2, 2], [3, 0, 1]])
    check(lambda w: F.embedding(nabla.tensor(idx), w, padding_idx=2), [(4, 5)],
          lambda w: TF.embedding(torch.from_numpy(idx), w, padding_idx=2))


GRADCHECK = [
    ("linear", lambda x, w, b: F.linear(x, w, b), [(3, 4), (2, 4), (2,)]),
    ("relu", lambda x: F.relu(x), [(3, 4)]),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), [(3, 4)]),
    ("elu", lambda x: F.elu(x), [(3, 4)]),
    ("gelu", lambda x: F.gelu(x), [(3, 4)]),
    ("gelu_tanh", lambda x: F.gelu(x, "tanh"), [(3, 4)]),
    ("sigmoid", lambda x: F.sigmoid(x), [(3, 4)]),
    ("tanh", lambda x: F.tanh(x), [(3, 4)]),
    ("softplus", lambda x: F.softplus(x, 1.5), [(3, 4)]),
    ("softmax", lambda x: F.softmax(x, 1), [(3, 4)]),
    ("log_softmax", lambda x: F.log_softmax(x, 0), [(3, 4)]),
    ("batch_norm_train", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [(5, 3), (3,), (3,)]),
    ("batch_norm_train_3d", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [(3, 2, 4), (2,), (2,)]),
    ("batch_norm_eval", lambda x, w, b: F.batch_norm(x, nabla.tensor([0.1, -0.2, 0.3], dtype=nabla.float64),
                                                     nabla.tensor([1.5, 0.5, 2.0], dtype=nabla.float64), w, b),
     [(5, 3), (3,), (3,)]),
    ("layer_norm", lambda x, w, b: F.layer_norm(x, (2, 3), w, b), [(2, 2, 3), (2, 3), (2, 3)]),
    # (padding_idx is left out: its row's gradient is zero by definition, not the finite difference)
    ("embedding", lambda w: F.embedding(nabla.tensor([[0, 2], [2, 3]]), w) ** 2, [(4, 3)]),
]


@pytest.mark.parametrize("name,fn,inputs", GRADCHECK, ids=[g[0] for g in GRADCHECK])
def test_gradcheck(name, fn, inputs):
    gradcheck(fn, inputs)


def test_gradcheck_dropout_with_a_fixed_mask():
    x = nabla.randn(4, 5, dtype=nabla.float64, requires_grad=True)

    def f(x):
        nabla.manual_seed(7)  # the same mask on every call
        return F.dropout(x, 0.4)

    assert nabla_gradcheck(f, (x,))


def test_step_gradient_is_zero():
    x = nabla.randn(6, dtype=nabla.float64, requires_grad=True)
    F.step(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0)


def test_functional_errors_name_shapes():
    with pytest.raises(
        ValueError, match=r"linear: expected input \(\*, 4\) for a weight of shape \(3, 4\), got \(2, 5\)"
    ):
        F.linear(nabla.randn(2, 5), nabla.randn(3, 4))
    with pytest.raises(ValueError, match=r"running_mean must have shape \(3,\)"):
        F.batch_norm(nabla.randn(4, 3), nabla.zeros(4), nabla.ones(3))
    with pytest.raises(ValueError, match="required when training=False"):
        F.batch_norm(nabla.randn(4, 3), None, None)
    with pytest.raises(ValueError, match=r"layer_norm: expected input \(\*, 5\), got \(2, 4\)"):
        F.layer_norm(nabla.randn(2, 4), 5)
    with pytest.raises(TypeError, match="floating"):
        F.layer_norm(nabla.tensor([[1, 2]]), 2)


def test_linear_second_derivatives_and_mixed_dtypes():
    from .helpers import check_double

    check_double(lambda x, w, b: F.linear(x, w, b).tanh(), [(3, 4), (2, 4), (2,)],
                 lambda x, w, b: TF.linear(x, w, b).tanh())
    check_double(lambda x, w: F.linear(x, w) ** 2, [(2, 3, 4), (5, 4)], lambda x, w: TF.linear(x, w) ** 2)
    check_double(lambda x, w: F.linear(x, w) ** 2, [(4,), (5, 4)], lambda x, w: TF.linear(x, w) ** 2)
    x = nabla.randn(2, 3, dtype=nabla.float64)
    w = nabla.randn(4, 3, requires_grad=True)
    out = F.linear(x, w)
    assert out.dtype == nabla.float64
    out.sum().backward()
    assert w.grad.dtype == nabla.float32 and w.grad.shape == (4, 3)
