"""The oracle helpers themselves must fail on every kind of mismatch (no vacuous passes)."""

import numpy as np
import pytest

import nabla

from .helpers import F64, check, check_double, gradcheck


def test_check_catches_wrong_values():
    with pytest.raises(AssertionError):
        check(lambda x: x * 2, [(3,)], lambda x: x * 2.001)


def test_check_catches_wrong_gradient():
    with pytest.raises(AssertionError, match="grad of input 0"):
        check(lambda x: x * x.detach(), [(3,)], lambda x: x * x)


def test_check_catches_wrong_dtype_and_shape():
    with pytest.raises(AssertionError, match="dtype"):
        check(lambda x: x.double(), [(3,)], lambda x: x, grad=False)
    with pytest.raises(AssertionError, match="shape"):
        check(lambda x: x.reshape(1, 3), [(3,)], lambda x: x, grad=False)
    with pytest.raises(AssertionError, match="outputs"):
        check(lambda x: (x, x), [(3,)], lambda x: x, grad=False)


def test_check_catches_int_value_mismatch():
    with pytest.raises(AssertionError):
        check(lambda x: x.argmax(), [np.array([1.0, 3.0, 2.0])], lambda x: x.argmin(), grad=False)


def test_check_refuses_vacuous_gradient_checks():
    with pytest.raises(AssertionError, match="no output is differentiable"):
        check(lambda x: x > 0, [(3,)])
    with pytest.raises(AssertionError, match="floating input"):
        check(lambda x: x + 1, [np.array([1, 2])])


def test_check_catches_requires_grad_mismatch():
    with pytest.raises(AssertionError, match="requires_grad"):
        check(lambda x: x.detach(), [(3,)], lambda x: x, grad=False, requires_grad=[True])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_check_catches_non_finite():
    with pytest.raises(AssertionError, match="not finite"):
        check(lambda x: x / 0.0, [(3,)], finite=True, grad=False)


class _SquareFirstOrderOnly(nabla.autograd.Function):
    """x**2 whose backward is right but built from raw arrays, so it has no second derivative."""

    save_inputs = True

    def forward(self, x):
        return x * x

    def backward(self, g):
        return g * nabla.Tensor._wrap(2 * self.inputs[0]._data)


def test_check_double_catches_wrong_second_derivative():
    with pytest.raises(AssertionError, match="second grad"):
        check_double(lambda x: x * _SquareFirstOrderOnly.apply(x), [(3,)], lambda x: x * x * x)


def test_gradcheck_catches_wrong_backward():
    class Bad(nabla.autograd.Function):
        def forward(self, x):
            return x * 2

        def backward(self, g):
            return g * 3

    with pytest.raises(nabla.autograd.GradcheckError):
        gradcheck(lambda x: Bad.apply(x), [(3,)])


def test_inputs_are_identical():
    """Both frameworks get the same numbers, and float inputs require grad in both."""
    seen = {}

    def grab(key):
        def fn(x):
            seen[key] = (np.asarray(x.detach().numpy()).copy(), x.requires_grad)
            return x

        return fn

    check(grab("nabla"), [(2, 3)], grab("torch"), dtype=F64)
    np.testing.assert_array_equal(seen["nabla"][0], seen["torch"][0])
    assert seen["nabla"][1] and seen["torch"][1]
