"""Weight constraints do what Keras documents: MaxNorm, UnitNorm, NonNeg, applied in place."""

import numpy as np
import pytest

import nabla
import nabla.optim as optim


def _w(shape=(6, 5), scale=3.0, seed=0, dtype=np.float64):
    return nabla.tensor((np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype),
                        requires_grad=True)


@pytest.mark.parametrize("axis", [0, 1, (1, 2, 3)])
def test_max_norm_caps_the_norm_along_axis(axis):
    shape = (4, 3, 2, 2) if isinstance(axis, tuple) else (6, 5)
    x = np.random.default_rng(1).standard_normal(shape)
    unit = np.sqrt((x ** 2).sum(axis=axis, keepdims=True))
    x *= np.linspace(0.5, 4.0, unit.size).reshape(unit.shape) / unit  # slice lengths from 0.5 to 4
    w = nabla.tensor(x, requires_grad=True)
    before = w._data.copy()
    norms = np.sqrt((before ** 2).sum(axis=axis, keepdims=True))
    assert (norms > 2).any() and (norms < 2).any(), "the test needs slices on both sides of the bound"
    version = w._version[0]
    out = optim.MaxNorm(max_value=2, axis=axis)(w)
    assert out is w and w._version[0] == version + 1
    after_norms = np.sqrt((w._data ** 2).sum(axis=axis, keepdims=True))
    assert (after_norms <= 2 + 1e-6).all()
    long = np.broadcast_to(norms > 2, before.shape)
    np.testing.assert_allclose(after_norms[norms > 2], 2.0, rtol=1e-6)  # long slices end exactly at the bound
    np.testing.assert_allclose(w._data[~long], before[~long], rtol=1e-6)  # short slices are (nearly) untouched
    # the direction of each slice is kept
    np.testing.assert_allclose(w._data / after_norms, before / norms, rtol=1e-6)


def test_max_norm_keras_formula_and_default_axis():
    w = _w((3, 4))
    x = w._data.copy()
    norms = np.sqrt((x ** 2).sum(axis=0, keepdims=True))
    expected = x * (np.clip(norms, 0, 2) / (1e-7 + norms))  # keras.constraints.MaxNorm.__call__
    optim.MaxNorm()(w)
    np.testing.assert_allclose(w._data, expected, rtol=1e-12)


@pytest.mark.parametrize("axis", [0, 1])
def test_unit_norm(axis):
    w = _w()
    before = w._data.copy()
    optim.UnitNorm(axis=axis)(w)
    np.testing.assert_allclose(np.sqrt((w._data ** 2).sum(axis=axis)), 1.0, rtol=1e-6)
    np.testing.assert_allclose(w._data, before / (1e-7 + np.sqrt((before ** 2).sum(axis=axis, keepdims=True))),
                               rtol=1e-12)


def test_non_neg():
    w = _w(dtype=np.float32)
    before = w._data.copy()
    optim.NonNeg()(w)
    assert w.dtype == nabla.float32
    assert (w._data >= 0).all()
    np.testing.assert_array_equal(w._data[before > 0], before[before > 0])
    assert (w._data[before < 0] == 0).all() and (before < 0).any()


def test_apply_after_each_step_with_a_hook():
    w = _w((4, 3), scale=0.1)
    b = nabla.zeros(3, requires_grad=True)
    opt = optim.SGD([w, b], lr=1.0)
    handle = opt.register_step_post_hook(lambda *_: optim.apply_constraint(w, optim.MaxNorm(0.5, axis=0)))
    for _ in range(3):
        w.grad = nabla.tensor(np.full((4, 3), -1.0))  # pushes every weight up by 1 per step
        opt.step()
        assert (np.sqrt((w._data ** 2).sum(axis=0)) <= 0.5 + 1e-6).all()
    handle.remove()
    w.grad = nabla.tensor(np.full((4, 3), -1.0))
    opt.step()
    assert (np.sqrt((w._data ** 2).sum(axis=0)) > 1.5).all()


def test_apply_constraint_to_many_and_repr():
    ws = [_w(seed=i) for i in range(3)]
    optim.apply_constraint(ws, optim.NonNeg())
    assert all((w._data >= 0).all() for w in ws)
    assert repr(optim.MaxNorm(3, axis=1)) == "MaxNorm(max_value=3, axis=1)"
    with pytest.raises(TypeError, match="Invalid axis"):
        optim.UnitNorm(axis="rows")
