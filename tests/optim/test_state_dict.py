"""state_dict: PyTorch's layout, a round trip that continues the same trajectory, clear mismatch errors."""

import copy

import numpy as np
import pytest
import torch

import nabla
import nabla.optim as optim

from .helpers import initial_arrays, set_grads, torch_float64

OPTIMIZERS = [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("AdamW", dict(lr=0.05)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
    ("Adamax", dict(lr=0.05)),
    ("NAdam", dict(lr=0.05)),
]


def _params():
    return [nabla.tensor(a, requires_grad=True) for a in initial_arrays()]


@pytest.mark.parametrize("name,kwargs", OPTIMIZERS, ids=[c[0] for c in OPTIMIZERS])
def test_round_trip_continues_identically(name, kwargs):
    cls = getattr(optim, name)
    params = _params()
    groups = [{"params": params[:2]}, {"params": params[2:], "lr": 0.02}]
    opt = cls(groups, **kwargs)
    for step in range(10):
        set_grads(params, "nabla", step)
        opt.step()
    saved = copy.deepcopy(opt.state_dict())
    saved_values = [p._data.copy() for p in params]
    # the original continues ...
    for step in range(10, 20):
        set_grads(params, "nabla", step)
        opt.step()
    # ... and a fresh optimizer over fresh copies, loaded from the snapshot, follows it exactly
    fresh = [nabla.tensor(a, requires_grad=True) for a in saved_values]
    opt2 = cls([{"params": fresh[:2]}, {"params": fresh[2:], "lr": 0.5}], **kwargs)
    opt2.load_state_dict(saved)
    assert opt2.param_groups[1]["lr"] == 0.02  # the hyperparameters come from the state dict
    for step in range(10, 20):
        set_grads(fresh, "nabla", step)
        opt2.step()
    for a, b in zip(params, fresh):
        np.testing.assert_array_equal(a._data, b._data)
    # the loaded state is a copy: stepping opt2 did not touch the snapshot
    for i, p in enumerate(fresh):
        for key, v in saved["state"][i].items():
            if isinstance(v, nabla.Tensor):
                assert v._data is not opt2.state[p][key]._data
                assert not np.array_equal(v._data, opt2.state[p][key]._data), key
            elif key == "step":
                assert v == (7 if i == 2 else 10) and opt2.state[p][key] == v + (6 if i == 2 else 10)


@pytest.mark.parametrize("name,kwargs", OPTIMIZERS, ids=[c[0] for c in OPTIMIZERS])
def test_layout_matches_torch(name, kwargs):
    arrays = initial_arrays()
    nb = [nabla.tensor(a, requires_grad=True) for a in arrays]
    th = [torch.tensor(a, requires_grad=True) for a in arrays]
    with torch_float64():
        opt_n = getattr(optim, name)([{"params": nb[:3]}, {"params": nb[3:], "lr": 0.02}], **kwargs)
        opt_t = getattr(torch.optim, name)([{"params": th[:3]}, {"params": th[3:], "lr": 0.02}], **kwargs)
        for step in range(3):
            set_grads(nb, "nabla", step)
            set_grads(th, "torch", step)
            opt_n.step()
            opt_t.step()
    sn, st = opt_n.state_dict(), opt_t.state_dict()
    assert set(sn) == {"state", "param_groups"}
    assert [g["params"] for g in sn["param_groups"]] == [g["params"] for g in st["param_groups"]] == [[0, 1, 2], [3]]
    assert set(sn["state"]) == set(st["state"])
    for idx in st["state"]:
        assert set(sn["state"][idx]) == set(st["state"][idx])
        for key, v in st["state"][idx].items():
            np.testing.assert_allclose(np.asarray(sn["state"][idx][key].numpy() if isinstance(
                sn["state"][idx][key], nabla.Tensor) else sn["state"][idx][key]), v.detach().numpy(), rtol=1e-10)
    torch_only = {"foreach", "differentiable", "capturable", "fused"}
    for gn, gt in zip(sn["param_groups"], st["param_groups"]):
        assert set(gn) <= set(gt), f"group keys {sorted(set(gn) - set(gt))} are not PyTorch's"
        assert set(gt) - set(gn) <= torch_only
        for k in gn:
            if k != "params":
                assert gn[k] == gt[k], k


def test_loading_a_torch_state_dict_converts_tensors():
    arrays = initial_arrays()
    th = [torch.tensor(a, requires_grad=True) for a in arrays]
    opt_t = torch.optim.Adam(th, lr=0.05)
    set_grads(th, "torch", 0)
    opt_t.step()
    sd = opt_t.state_dict()
    nb = [nabla.tensor(p.detach().numpy(), requires_grad=True) for p in th]
    torch_only = ("foreach", "fused", "capturable", "differentiable")
    converted = {"state": {i: {k: (v if k == "step" else nabla.tensor(v.numpy())) for k, v in s.items()}
                           for i, s in sd["state"].items()},
                 "param_groups": [{k: v for k, v in g.items() if k not in torch_only} for g in sd["param_groups"]]}
    converted["state"][0]["step"] = nabla.tensor(sd["state"][0]["step"].numpy())  # a step tensor becomes a number
    for i in converted["state"]:
        if i:
            converted["state"][i]["step"] = sd["state"][i]["step"].item()
    opt_n = optim.Adam(nb, lr=0.05)
    opt_n.load_state_dict(converted)
    assert opt_n.state[nb[0]]["step"] == 1
    np.testing.assert_allclose(opt_n.state[nb[0]]["exp_avg"].numpy(), sd["state"][0]["exp_avg"].numpy())


def test_mismatched_groups_raise_clear_errors():
    a, b, c = (nabla.zeros(2, requires_grad=True) for _ in range(3))
    sd = optim.SGD([{"params": [a, b]}, {"params": [c]}], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups: 2 saved, 1 in this optimizer"):
        optim.SGD([a, b, c], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="group 0 has 2 parameters saved, 1 here"):
        optim.SGD([{"params": [a]}, {"params": [b, c]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="state_dict"):
        optim.SGD([a], lr=0.1).load_state_dict({"params": []})


def test_state_of_the_wrong_shape_is_refused():
    a = nabla.zeros(3, requires_grad=True)
    opt = optim.Adam([a], lr=0.1)
    a.grad = nabla.ones(3)
    opt.step()
    sd = copy.deepcopy(opt.state_dict())
    b = nabla.zeros(4, requires_grad=True)
    with pytest.raises(ValueError, match=r"shape \(3,\) but its parameter has shape \(4,\)"):
        optim.Adam([b], lr=0.1).load_state_dict(sd)


def test_loaded_state_takes_the_parameter_dtype():
    a = nabla.zeros(3, requires_grad=True, dtype=nabla.float64)
    opt = optim.Adam([a], lr=0.1)
    a.grad = nabla.ones(3, dtype=nabla.float64)
    opt.step()
    b = nabla.zeros(3, requires_grad=True)  # float32
    opt2 = optim.Adam([b], lr=0.1)
    opt2.load_state_dict(opt.state_dict())
    assert opt2.state[b]["exp_avg"].dtype == nabla.float32
    assert opt2.state[b]["exp_avg"]._data is not opt.state[a]["exp_avg"]._data
