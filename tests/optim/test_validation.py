"""Invalid arguments raise ValueError (or TypeError for a wrong type) naming the argument."""

import pytest

import nabla
import nabla.optim as optim
from nabla.optim import lr_scheduler


def _p():
    return [nabla.zeros(2, requires_grad=True)]


BAD_OPTIMIZER_ARGS = [
    (optim.SGD, dict(lr=-1), "Invalid learning rate: -1"),
    (optim.SGD, dict(lr=0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
    (optim.SGD, dict(lr=0.1, dampening=-1), "Invalid dampening value: -1"),
    (optim.SGD, dict(lr=0.1, weight_decay=-1e-4), "Invalid weight_decay value: -0.0001"),
    (optim.SGD, dict(lr=0.1, nesterov=True), "Invalid nesterov=True"),
    (optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "zero dampening"),
    (optim.Adam, dict(lr=-0.1), "Invalid learning rate: -0.1"),
    (optim.Adam, dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
    (optim.Adam, dict(betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    (optim.Adam, dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (optim.Adam, dict(betas=0.9), "Invalid betas"),
    (optim.Adam, dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    (optim.AdamW, dict(weight_decay=-0.01), "Invalid weight_decay value: -0.01"),
    (optim.Adagrad, dict(lr_decay=-1), "Invalid lr_decay value: -1"),
    (optim.Adagrad, dict(initial_accumulator_value=-0.1), "Invalid initial_accumulator_value value: -0.1"),
    (optim.Adagrad, dict(eps=-1), "Invalid epsilon value: -1"),
    (optim.RMSprop, dict(alpha=-0.5), "Invalid alpha value: -0.5"),
    (optim.RMSprop, dict(momentum=-1), "Invalid momentum value: -1"),
    (optim.Adamax, dict(betas=(0.9, 1.5)), "Invalid beta parameter at index 1: 1.5"),
    (optim.NAdam, dict(momentum_decay=-1), "Invalid momentum_decay value: -1"),
    (optim.NAdam, dict(lr=float("nan")), "Invalid learning rate: nan"),
]


@pytest.mark.parametrize("cls,kwargs,message", BAD_OPTIMIZER_ARGS,
                         ids=[f"{c.__name__}-{m}" for c, _, m in BAD_OPTIMIZER_ARGS])
def test_optimizer_arguments(cls, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        cls(_p(), **kwargs)


def test_wrong_types_are_type_errors():
    with pytest.raises(TypeError, match="Invalid learning rate: expected a number, got str"):
        optim.SGD(_p(), lr="0.1")


def test_a_group_is_validated_too():
    opt = optim.SGD(_p(), lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        opt.add_param_group({"params": _p(), "lr": -1})
    with pytest.raises(ValueError, match="Invalid momentum value: -2"):
        optim.SGD([{"params": _p(), "momentum": -2}], lr=0.1)
    assert len(opt.param_groups) == 1


def _opt():
    return optim.SGD(_p(), lr=0.1, momentum=0.9)


BAD_SCHEDULER_ARGS = [
    (lambda: lr_scheduler.StepLR(_opt(), step_size=0), "Invalid step_size"),
    (lambda: lr_scheduler.MultiStepLR(_opt(), milestones=[3, -1]), "Invalid milestones"),
    (lambda: lr_scheduler.CosineAnnealingLR(_opt(), T_max=0), "Invalid T_max"),
    (lambda: lr_scheduler.LinearLR(_opt(), start_factor=0), "Invalid start_factor"),
    (lambda: lr_scheduler.LinearLR(_opt(), end_factor=1.5), "Invalid end_factor"),
    (lambda: lr_scheduler.LambdaLR(_opt(), [lambda e: 1.0, lambda e: 1.0]), "Invalid lr_lambda"),
    (lambda: lr_scheduler.OneCycleLR(_opt(), max_lr=1.0, total_steps=0), "Invalid total_steps"),
    (lambda: lr_scheduler.OneCycleLR(_opt(), max_lr=1.0), "give total_steps"),
    (lambda: lr_scheduler.OneCycleLR(_opt(), max_lr=1.0, total_steps=10, pct_start=1.5), "Invalid pct_start"),
    (lambda: lr_scheduler.OneCycleLR(_opt(), max_lr=1.0, total_steps=10, anneal_strategy="exp"),
     "Invalid anneal_strategy"),
    (lambda: lr_scheduler.OneCycleLR(_opt(), max_lr=[1.0, 2.0], total_steps=10), "Invalid max_lr"),
    (lambda: lr_scheduler.OneCycleLR(optim.Adagrad(_p()), max_lr=1.0, total_steps=10), "cycle_momentum"),
    (lambda: lr_scheduler.ReduceLROnPlateau(_opt(), factor=1.5), "Invalid factor"),
    (lambda: lr_scheduler.ReduceLROnPlateau(_opt(), mode="minimum"), "Invalid mode"),
    (lambda: lr_scheduler.ReduceLROnPlateau(_opt(), threshold_mode="relative"), "Invalid threshold_mode"),
    (lambda: lr_scheduler.ReduceLROnPlateau(_opt(), patience=-1), "Invalid patience"),
    (lambda: lr_scheduler.ReduceLROnPlateau(_opt(), min_lr=[0.1, 0.2]), "Invalid min_lr"),
    (lambda: optim.MaxNorm(max_value=-1), "Invalid max_value"),
]


@pytest.mark.parametrize("make,message", BAD_SCHEDULER_ARGS, ids=[m for _, m in BAD_SCHEDULER_ARGS])
def test_scheduler_and_constraint_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_scheduler_needs_an_optimizer():
    with pytest.raises(TypeError, match="Optimizer"):
        lr_scheduler.StepLR(object(), step_size=2)


def test_onecycle_past_total_steps():
    s = lr_scheduler.OneCycleLR(_opt(), max_lr=1.0, total_steps=3)
    for _ in range(3):
        s.step()
    with pytest.raises(ValueError, match="total_steps is 3"):
        s.step()
