"""Every scheduler's learning-rate (and momentum) sequence matches torch.optim.lr_scheduler's."""

import copy
import math

import numpy as np
import pytest
import torch

import nabla
import nabla.optim as optim
from nabla.optim import lr_scheduler


class Warmup:
    """A callable object (its attributes go into LambdaLR's state_dict)."""

    def __init__(self, n):
        self.n = n

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.n)


def _optimizers(kind="SGD"):
    """The same two parameter groups (lr 0.1 and 0.04) in both frameworks."""
    a = [nabla.zeros(2, requires_grad=True), nabla.zeros(3, requires_grad=True)]
    b = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
    kw = dict(momentum=0.9) if kind == "SGD" else {}
    return (getattr(optim, kind)([{"params": a[:1]}, {"params": a[1:], "lr": 0.04}], lr=0.1, **kw),
            getattr(torch.optim, kind)([{"params": b[:1]}, {"params": b[1:], "lr": 0.04}], lr=0.1, **kw))


SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5), 20),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 11], gamma=0.3), 20),
    ("ExponentialLR", dict(gamma=0.9), 25),
    ("CosineAnnealingLR", dict(T_max=10), 45),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01), 30),
    ("LinearLR", dict(), 12),
    ("LinearLR", dict(start_factor=0.25, end_factor=0.5, total_iters=8), 15),
    ("LambdaLR", dict(lr_lambda=lambda e: 0.95 ** e + 0.1 * (e % 3)), 20),
]


@pytest.mark.parametrize("name,kwargs,steps", SCHEDULERS, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(SCHEDULERS)])
def test_lr_sequence_matches_torch(name, kwargs, steps):
    opt_n, opt_t = _optimizers()
    s_n = getattr(lr_scheduler, name)(opt_n, **kwargs)
    s_t = getattr(torch.optim.lr_scheduler, name)(opt_t, **kwargs)
    seq_n, seq_t = [s_n.get_last_lr()], [s_t.get_last_lr()]
    for _ in range(steps):
        opt_n.step()
        opt_t.step()
        s_n.step()
        s_t.step()
        seq_n.append(s_n.get_last_lr())
        seq_t.append(s_t.get_last_lr())
        assert [g["lr"] for g in opt_n.param_groups] == seq_n[-1]
    np.testing.assert_allclose(seq_n, seq_t, rtol=1e-13, atol=1e-15)
    assert len({tuple(x) for x in seq_n}) > 2, "the schedule should change the learning rate"


ONECYCLE = [
    ("SGD", dict(max_lr=1.0, total_steps=30)),
    ("SGD", dict(max_lr=[1.0, 0.5], total_steps=25, anneal_strategy="linear", pct_start=0.4)),
    ("Adam", dict(max_lr=0.01, epochs=4, steps_per_epoch=7, three_phase=True, base_momentum=0.8,
                  max_momentum=[0.9, 0.95])),
    ("Adam", dict(max_lr=0.01, total_steps=20, cycle_momentum=False, div_factor=10.0, final_div_factor=100.0)),
]


@pytest.mark.parametrize("kind,kwargs", ONECYCLE, ids=[f"{k}-{i}" for i, (k, _) in enumerate(ONECYCLE)])
def test_onecycle_lr_and_momentum_match_torch(kind, kwargs):
    opt_n, opt_t = _optimizers(kind)
    s_n = lr_scheduler.OneCycleLR(opt_n, **kwargs)
    s_t = torch.optim.lr_scheduler.OneCycleLR(opt_t, **kwargs)
    key = "momentum" if kind == "SGD" else "betas"

    def momenta(opt):
        return [g[key] if key == "momentum" else g[key][0] for g in opt.param_groups]

    lrs_n, lrs_t, mom_n, mom_t = [], [], [], []
    for _ in range(s_n.total_steps - 1):
        lrs_n.append(s_n.get_last_lr())
        lrs_t.append(s_t.get_last_lr())
        mom_n.append(momenta(opt_n))
        mom_t.append(momenta(opt_t))
        opt_n.step()
        opt_t.step()
        s_n.step()
        s_t.step()
    np.testing.assert_allclose(lrs_n, lrs_t, rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(mom_n, mom_t, rtol=1e-13)
    peak = max(x[0] for x in lrs_n)
    assert math.isclose(peak, lrs_n[0][0] * kwargs.get("div_factor", 25.0), rel_tol=0.05)
    if kwargs.get("cycle_momentum", True):
        assert min(m[0] for m in mom_n) < max(m[0] for m in mom_n)
    if kind == "Adam":
        assert all(g["betas"][1] == 0.999 for g in opt_n.param_groups)


METRICS = [10.0, 9.0, 9.0, 9.5, 9.2, 8.9999, 9.1, 9.3, 8.0, 8.0, 8.0, 8.0, 8.0, 7.9, 8.5, 8.5, 8.5, 8.5, 8.5,
           8.5] + [7.0] * 16

PLATEAU = [
    dict(),
    dict(patience=1),
    dict(patience=2, factor=0.5, cooldown=2),
    dict(patience=0, threshold=0.05, threshold_mode="abs", min_lr=0.005),
    dict(mode="max", patience=1, factor=0.2, min_lr=[0.001, 0.01]),
    dict(mode="max", patience=2, threshold=0.01, threshold_mode="abs", cooldown=1),
    dict(patience=1, threshold=0.1, eps=1e-3, min_lr=0.03),
]


@pytest.mark.parametrize("kwargs", PLATEAU, ids=[str(i) for i in range(len(PLATEAU))])
def test_reduce_on_plateau_matches_torch(kwargs):
    opt_n, opt_t = _optimizers()
    s_n = lr_scheduler.ReduceLROnPlateau(opt_n, **kwargs)
    s_t = torch.optim.lr_scheduler.ReduceLROnPlateau(opt_t, **kwargs)
    seq_n, seq_t = [], []
    for m in METRICS:
        s_n.step(nabla.tensor(m) if m == 8.0 else m)  # a 0-d tensor works as the metric too
        s_t.step(m)
        seq_n.append(s_n.get_last_lr())
        seq_t.append(s_t.get_last_lr())
        assert s_n.num_bad_epochs == s_t.num_bad_epochs and s_n.best == s_t.best
    np.testing.assert_allclose(seq_n, seq_t, rtol=1e-13)
    assert seq_n[-1] != seq_n[0], "the synthetic metric should trigger at least one reduction"


@pytest.mark.parametrize("make", [
    lambda o: lr_scheduler.StepLR(o, step_size=2, gamma=0.5),
    lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=6),
    lambda o: lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=30),
    lambda o: lr_scheduler.LambdaLR(o, Warmup(5)),
], ids=["StepLR", "CosineAnnealingLR", "OneCycleLR", "LambdaLR"])
def test_scheduler_state_dict_round_trip(make):
    opt, _ = _optimizers()
    s = make(opt)
    for _ in range(7):
        s.step()
    sd = copy.deepcopy(s.state_dict())
    assert "optimizer" not in sd and sd["last_epoch"] == 7
    osd = copy.deepcopy(opt.state_dict())
    rest = []
    for _ in range(8):
        s.step()
        rest.append(s.get_last_lr())
    opt2, _ = _optimizers()
    opt2.load_state_dict(osd)
    s2 = make(opt2)
    s2.load_state_dict(sd)
    again = []
    for _ in range(8):
        s2.step()
        again.append(s2.get_last_lr())
    assert again == rest


def test_reduce_on_plateau_state_dict_round_trip():
    opt, _ = _optimizers()
    s = lr_scheduler.ReduceLROnPlateau(opt, patience=1)
    for m in METRICS[:6]:
        s.step(m)
    sd = copy.deepcopy(s.state_dict())
    s2 = lr_scheduler.ReduceLROnPlateau(_optimizers()[0], patience=1)
    s2.load_state_dict(sd)
    assert (s2.best, s2.num_bad_epochs, s2.last_epoch) == (s.best, s.num_bad_epochs, 6)
