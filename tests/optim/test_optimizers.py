"""Every optimizer and option combination follows torch.optim's trajectory (float64, 25 steps)."""

import numpy as np
import pytest
import torch

import nabla
import nabla.optim as optim

from .helpers import assert_close, trajectories

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01, maximize=True)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, betas=(0.5, 0.9), eps=1e-3, amsgrad=True, weight_decay=0.05, maximize=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.05, betas=(0.8, 0.99), maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("Adagrad", dict(lr=0.1, eps=1e-3, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, alpha=0.5, centered=True, momentum=0.5, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, eps=1e-3, maximize=True)),
    ("Adamax", dict(lr=0.05)),
    ("Adamax", dict(lr=0.05, weight_decay=0.1, betas=(0.5, 0.9))),
    ("Adamax", dict(lr=0.05, eps=1e-3, maximize=True)),
    ("NAdam", dict(lr=0.05)),
    ("NAdam", dict(lr=0.05, weight_decay=0.1)),
    ("NAdam", dict(lr=0.05, momentum_decay=0.05, betas=(0.8, 0.99))),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("NAdam", dict(lr=0.05, eps=1e-3, maximize=True)),
]


def _id(case):
    name, kw = case
    return name + "-" + ",".join(f"{k}={v}" for k, v in kw.items())


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_trajectory_matches_torch(case):
    name, kwargs = case
    steps, (opt_n, nb), (opt_t, th) = trajectories(getattr(optim, name), getattr(torch.optim, name), kwargs)
    for k, (pn, pt) in enumerate(steps):
        for i, (a, b) in enumerate(zip(pn, pt)):
            assert_close(a, b, what=f"{name} {kwargs}: step {k}, parameter {i}")
    moved = [not np.allclose(a, b) for a, b in zip(steps[0][0], steps[-1][0])]
    assert all(moved), "every parameter should have moved over 25 steps"
    # the state has PyTorch's names and values
    for i, (p, q) in enumerate(zip(nb, th)):
        sn, st = opt_n.state[p], opt_t.state[q]
        assert set(sn) == set(st), f"parameter {i}: state keys {sorted(sn)} vs torch's {sorted(st)}"
        for key, v in st.items():
            mine = sn[key]
            if isinstance(mine, nabla.Tensor):
                assert_close(mine._data, v.detach().numpy(), what=f"state {key!r} of parameter {i}")
            else:
                assert_close(float(mine), float(v), what=f"state {key!r} of parameter {i}")


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.05, momentum=0.9)), ("Adam", dict(lr=0.05, amsgrad=True)),
                                         ("RMSprop", dict(lr=0.01, centered=True)), ("NAdam", dict(lr=0.05))])
def test_float32_close_to_torch_and_stays_float32(name, kwargs):
    steps, (opt_n, nb), _ = trajectories(getattr(optim, name), getattr(torch.optim, name), kwargs, steps=20,
                                         dtype=np.float32)
    for pn, pt in steps:
        for a, b in zip(pn, pt):
            assert a.dtype == np.float32
            assert_close(a, b, rtol=1e-4, atol=1e-5)
    for s in opt_n.state.values():
        for v in s.values():
            if isinstance(v, nabla.Tensor):
                assert v.dtype == nabla.float32


def test_skipped_parameter_keeps_its_value_and_step_count():
    # parameter 2 has no gradient on steps 1, 4, 7, ...: 25 steps give it 17 updates
    _, (opt_n, nb), (opt_t, th) = trajectories(optim.Adam, torch.optim.Adam, dict(lr=0.05), steps=25)
    assert opt_n.state[nb[2]]["step"] == 17 == int(opt_t.state[th[2]]["step"])
    assert opt_n.state[nb[0]]["step"] == 25
    p = nabla.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    opt.step()
    assert p.tolist() == [1.0, 2.0] and len(opt.state) == 0


PARAM_GROUP_CASES = [
    ("SGD", dict(lr=0.1, momentum=0.9), [{"idx": [0, 1], "lr": 0.01}, {"idx": [2, 3], "momentum": 0.5}]),
    ("Adam", dict(lr=0.05), [{"idx": [0], "lr": 0.2, "amsgrad": True}, {"idx": [1, 2, 3], "weight_decay": 0.1}]),
    ("RMSprop", dict(lr=0.01), [{"idx": [3, 1]}, {"idx": [0, 2], "lr": 0.05, "centered": True}]),
]


@pytest.mark.parametrize("name,kwargs,groups", PARAM_GROUP_CASES, ids=[c[0] for c in PARAM_GROUP_CASES])
def test_param_groups_with_their_own_hyperparameters(name, kwargs, groups):
    steps, (opt_n, _), _ = trajectories(getattr(optim, name), getattr(torch.optim, name), kwargs, steps=20,
                                        groups=groups)
    for pn, pt in steps:
        for a, b in zip(pn, pt):
            assert_close(a, b)
    assert [g["lr"] for g in opt_n.param_groups] == [g.get("lr", kwargs["lr"]) for g in groups]
    # different lrs really give a different trajectory than one lr for all
    same, _, _ = trajectories(getattr(optim, name), getattr(torch.optim, name), kwargs, steps=20)
    assert not all(np.allclose(a, b) for a, b in zip(same[-1][0], steps[-1][0]))


def test_add_param_group_later():
    a = nabla.tensor([1.0, -2.0], requires_grad=True)
    b = nabla.tensor([0.5], requires_grad=True)
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.5})
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["lr"] == 0.5
    a.grad, b.grad = nabla.tensor([1.0, 1.0]), nabla.tensor([1.0])
    opt.step()
    assert np.allclose(a.tolist(), [0.9, -2.1]) and np.allclose(b.tolist(), [0.0])
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


def test_training_with_backward_matches_torch():
    """A real loss through nabla's autograd: linear regression with AdamW, 20 steps, vs torch."""
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 1))
    w0, b0 = rng.standard_normal((3, 1)), np.zeros(1)
    results = []
    for lib, opt_cls in ((nabla, optim.AdamW), (torch, torch.optim.AdamW)):
        w, b = lib.tensor(w0, requires_grad=True), lib.tensor(b0, requires_grad=True)
        xt, yt = lib.tensor(x), lib.tensor(y)
        opt = opt_cls([w, b], lr=0.05, weight_decay=0.1)
        losses = []
        for _ in range(20):
            opt.zero_grad()
            loss = ((xt @ w + b - yt) ** 2).mean()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        results.append((losses, w.detach().numpy().copy()))
    assert_close(results[0][0], results[1][0])
    assert_close(results[0][1], results[1][1])
    assert results[0][0][-1] < results[0][0][0]


def test_closure_runs_with_grad_and_its_loss_is_returned():
    w = nabla.tensor([3.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with nabla.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 9.0 and w.tolist() == [1.5]  # 3 - 0.25 * 6


def test_step_bumps_version_so_stale_graphs_refuse_backward():
    w = nabla.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    y = (w * w).sum()  # saves w
    w.grad = nabla.tensor([1.0, 1.0])
    v = w._version[0]
    opt.step()
    assert w._version[0] == v + 1
    with pytest.raises(RuntimeError):
        y.backward()


def test_zero_grad_semantics():
    a = nabla.tensor([1.0, 2.0], requires_grad=True)
    b = nabla.tensor([3.0], requires_grad=True)
    opt = optim.SGD([a, b], lr=0.1)
    (a * a).sum().backward()
    assert b.grad is None
    g = a.grad
    opt.zero_grad(set_to_none=False)
    assert a.grad is g and a.grad.tolist() == [0.0, 0.0] and b.grad is None
    (a * a).sum().backward()  # accumulates into the zeroed gradient
    assert a.grad.tolist() == [2.0, 4.0]
    opt.zero_grad()  # default: set_to_none=True, as in PyTorch
    assert a.grad is None and b.grad is None


def test_optimizer_rejects_bad_params():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(nabla.zeros(2, requires_grad=True), lr=0.1)
    x = nabla.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([x * 2], lr=0.1)
    with pytest.raises(TypeError, match="set"):
        optim.SGD({x}, lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [x]}, {"params": [x]}], lr=0.1)
    with pytest.raises(TypeError, match="int64"):
        optim.SGD([nabla.tensor([1, 2])], lr=0.1)


def test_repr_lists_groups():
    opt = optim.Adam([nabla.zeros(2, requires_grad=True)], lr=0.01)
    assert "Parameter Group 0" in repr(opt) and "lr: 0.01" in repr(opt)
