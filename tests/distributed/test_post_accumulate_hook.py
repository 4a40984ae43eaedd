"""Tensor.register_post_accumulate_grad_hook: what DistributedDataParallel overlaps its all-reduce with."""

import numpy as np
import pytest
import torch

import nabla as nb
from nabla import nn


def _pair():
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    m = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    m.load_state_dict({k: nb.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return tm, m


def test_hook_sees_the_final_grad_as_torch_and_runs_before_backward_ends():
    tm, m = _pair()
    events, tevents = [], []
    for (n, p), (_, tp) in zip(m.named_parameters(), tm.named_parameters()):
        p.register_post_accumulate_grad_hook(lambda t, n=n: events.append((n, t.grad.numpy().copy())))
        tp.register_post_accumulate_grad_hook(lambda t, n=n: tevents.append((n, t.grad.numpy().copy())))
    x = np.random.default_rng(0).standard_normal((5, 3))
    h = m[1](m[0](nb.tensor(x)))
    h.register_hook(lambda g: events.append(("hidden", None)))
    m[2](h).pow(2).sum().backward()
    tm(torch.tensor(x)).pow(2).sum().backward()
    names = [n for n, _ in events]
    # the last layer's gradients are handed over before backward reaches the hidden activation
    assert names.index("2.weight") < names.index("hidden") < names.index("0.weight")
    assert sorted(n for n in names if n != "hidden") == sorted(n for n, _ in tevents)
    for n, g in events:
        if n != "hidden":
            np.testing.assert_allclose(g, dict(tevents)[n], rtol=1e-12, atol=1e-14)


def test_hook_accumulates_across_backwards_and_removes():
    w = nb.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.numpy().copy()))
    (w * 3).sum().backward()
    (w * 3).sum().backward()
    np.testing.assert_array_equal(seen[1], [6.0, 6.0])
    handle.remove()
    (w * 3).sum().backward()
    assert len(seen) == 2


def test_hook_on_a_computed_tensor_is_refused():
    w = nb.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="only leaf tensors"):
        (w * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(TypeError, match="callable"):
        w.register_post_accumulate_grad_hook(3)
