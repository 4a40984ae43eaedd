"""Adadelta and LBFGS against torch.optim: whole trajectories in float64, argument errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from optim.helpers import assert_close, torch_float64, trajectories

import nabla


@pytest.mark.parametrize("kwargs", [{}, {"lr": 0.5, "rho": 0.8, "eps": 1e-4}, {"weight_decay": 0.1},
                                    {"maximize": True, "lr": 0.3}])
def test_adadelta_trajectory_matches_torch(kwargs):
    steps, (opt_n, nb), (opt_t, th) = trajectories(nabla.optim.Adadelta, torch.optim.Adadelta, kwargs, steps=30)
    for k, (a, b) in enumerate(steps):
        for i, (x, y) in enumerate(zip(a, b)):
            assert_close(x, y, what=f"step {k} param {i}")
    for key in ("square_avg", "acc_delta"):
        assert_close(opt_n.state[nb[0]][key].numpy(), opt_t.state[th[0]][key].numpy(), what=key)


def test_adadelta_errors_match_torch():
    p = [nabla.zeros(2, requires_grad=True)]
    for kw in ({"lr": -1}, {"rho": 1.5}, {"eps": -1}, {"weight_decay": -1}):
        with pytest.raises(ValueError) as en:
            nabla.optim.Adadelta(p, **kw)
        with pytest.raises(ValueError) as et:
            torch.optim.Adadelta([torch.zeros(2, requires_grad=True)], **kw)
        assert str(en.value).split(":")[0] == str(et.value).split(":")[0]


def _rosenbrock(lib, x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2 + ((x[2:] - 0.5) ** 2).sum()


@pytest.mark.parametrize("kwargs", [{}, {"line_search_fn": "strong_wolfe"}, {"lr": 0.5, "history_size": 3},
                                    {"max_iter": 7, "line_search_fn": "strong_wolfe", "history_size": 2}])
def test_lbfgs_matches_torch_on_rosenbrock(kwargs):
    start = np.array([-1.2, 1.0, 0.3, -0.4])
    xn = nabla.tensor(start.copy(), requires_grad=True)
    xt = torch.tensor(start.copy(), requires_grad=True)
    with torch_float64():
        kwargs = {"max_iter": 5, **kwargs}
        on, ot = nabla.optim.LBFGS([xn], **kwargs), torch.optim.LBFGS([xt], **kwargs)

        def closure_n():
            on.zero_grad()
            loss = _rosenbrock(nabla, xn)
            loss.backward()
            return loss

        def closure_t():
            ot.zero_grad()
            loss = _rosenbrock(torch, xt)
            loss.backward()
            return loss

        # Rosenbrock's valley amplifies rounding (dot products summed in another order) about tenfold
        # per 5 iterations (measured: 1e-16 after 5, 1e-13 after 20, 1e-2 after 80 without line search),
        # so compare the first 25 iterations.
        for outer in range(5):
            ln, lt = on.step(closure_n), ot.step(closure_t)
            assert_close(float(ln), float(lt.detach()), rtol=1e-8, atol=1e-10, what=f"loss, step {outer}")
            assert_close(xn.detach().numpy(), xt.detach().numpy(), rtol=1e-7, atol=1e-8, what=f"x, step {outer}")
        sn, st = on.state[xn], ot.state[xt]
        assert sn["func_evals"] == st["func_evals"] and sn["n_iter"] == st["n_iter"]
    if kwargs.get("line_search_fn") == "strong_wolfe" and kwargs["max_iter"] == 5:
        for _ in range(20):
            on.step(closure_n)
        np.testing.assert_allclose(xn.detach().numpy(), [1, 1, 0.5, 0.5], atol=1e-4)  # converged


def test_lbfgs_trains_a_small_regression_and_errors():
    nabla.manual_seed(0)
    X = nabla.randn(64, 3, dtype=nabla.float64)
    w_true = nabla.tensor([[1.5], [-2.0], [0.5]], dtype=nabla.float64)
    y = X @ w_true + 0.3
    model = nabla.nn.Linear(3, 1).double()
    opt = nabla.optim.LBFGS(model.parameters(), line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = ((model(X) - y) ** 2).mean()
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    assert float(closure()) < 1e-10  # exact fit (no noise): the loss is at rounding level
    with pytest.raises(RuntimeError, match="needs a closure"):
        opt.step()
    with pytest.raises(ValueError, match="line_search_fn"):
        nabla.optim.LBFGS(model.parameters(), line_search_fn="armijo")
    with pytest.raises(ValueError, match="parameter groups"):
        nabla.optim.LBFGS([{"params": [model.weight]}, {"params": [model.bias]}])
