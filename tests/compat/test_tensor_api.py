"""PyTorch API gaps found in real scripts (issue 16): ops and Tensor methods, each against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from oracle.helpers import F32, F64, check, gradcheck

import nabla

# ----------------------------------------------------------------------------------- topk / sort

@pytest.mark.parametrize("dim", [-1, 0, 1])
@pytest.mark.parametrize("largest", [True, False])
def test_topk_matches_torch(dim, largest):
    x = np.random.default_rng(0).permutation(60).reshape(3, 4, 5).astype(F32)  # distinct: no tie order
    check(lambda a: a.topk(3, dim=dim, largest=largest), [x])
    check(lambda a: nabla.topk(a, 2, dim, largest), [x], lambda a: torch.topk(a, 2, dim, largest))


def test_topk_gradcheck_and_errors():
    gradcheck(lambda a: nabla.topk(a, 2, dim=0).values, [(5, 3)])
    x = nabla.randn(4, 3)
    with pytest.raises(IndexError, match=r"k \(5\) is out of range for dimension -1 of size 3"):
        x.topk(5)
    with pytest.raises(RuntimeError):
        torch.randn(4, 3).topk(5)
    with pytest.raises(TypeError, match="k must be an int"):
        x.topk(1.5)


def test_topk_nan_is_largest_and_k0():
    data = np.array([1.0, np.nan, 3.0, -1.0], dtype=F32)
    v, i = nabla.tensor(data).topk(2)
    tv, ti = torch.tensor(data).topk(2)
    assert i.tolist() == ti.tolist()
    np.testing.assert_array_equal(v.numpy(), tv.numpy())
    assert nabla.tensor(data).topk(0).values.shape == (0,)


@pytest.mark.parametrize("descending", [False, True])
def test_sort_argsort_stable_with_ties(descending):
    data = np.array([[3, 1, 2, 1, 3, 2], [0, 0, 5, 5, 1, 0]], dtype=F32)
    check(lambda a: a.sort(dim=1, descending=descending), [data],
          lambda a: a.sort(dim=1, descending=descending, stable=True))
    n = nabla.argsort(nabla.tensor(data), dim=1, descending=descending)
    t = torch.argsort(torch.tensor(data), dim=1, descending=descending, stable=True)
    assert n.tolist() == t.tolist()
    gradcheck(lambda a: nabla.sort(a, 0, descending).values, [(4, 3)])


# ----------------------------------------------------------------------------------- tril / triu

@pytest.mark.parametrize("diagonal", [-2, -1, 0, 1, 3])
def test_tril_triu(diagonal):
    check(lambda a: nabla.tril(a, diagonal), [(2, 4, 5)], lambda a: torch.tril(a, diagonal))
    check(lambda a: a.triu(diagonal), [(4, 3)])
    gradcheck(lambda a: nabla.triu(a, diagonal) * 2, [(3, 4)])


def test_tril_int_and_errors():
    m = nabla.ones(3, 3, dtype=nabla.int64)
    assert nabla.tril(m).tolist() == torch.tril(torch.ones(3, 3, dtype=torch.int64)).tolist()
    assert nabla.tril(m).dtype == nabla.int64
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        nabla.tril(nabla.ones(3))
    with pytest.raises(RuntimeError):
        torch.tril(torch.ones(3))


# ---------------------------------------------------------------------------------- multinomial

def test_multinomial_frequencies_and_shapes():
    p = np.array([[0.1, 0.6, 0.3], [0.5, 0.0, 0.5]], dtype=F32)
    n = nabla.multinomial(nabla.tensor(p), 20000, replacement=True)
    assert n.shape == (2, 20000) and n.dtype == nabla.int64
    freq = np.stack([np.bincount(r, minlength=3) for r in n.numpy()]) / 20000
    np.testing.assert_allclose(freq, p, atol=0.015)
    assert (n.numpy()[1] != 1).all()  # zero weight is never drawn
    one = nabla.tensor(p[0]).multinomial(3)
    assert sorted(one.tolist()) == [0, 1, 2]  # without replacement: distinct
    assert torch.multinomial(torch.tensor(p[0]), 3).shape == one.shape


def test_multinomial_without_replacement_first_draw_distribution():
    w = nabla.tensor([1.0, 2.0, 7.0])
    firsts = np.array([nabla.multinomial(w, 2)[0].item() for _ in range(3000)])
    np.testing.assert_allclose(np.bincount(firsts, minlength=3) / 3000, [0.1, 0.2, 0.7], atol=0.03)


def test_multinomial_seeded_and_errors():
    nabla.manual_seed(3)
    a = nabla.multinomial(nabla.tensor([0.2, 0.8]), 10, True)
    nabla.manual_seed(3)
    assert nabla.multinomial(nabla.tensor([0.2, 0.8]), 10, True).tolist() == a.tolist()
    for bad, torch_bad in [([-0.1, 1.0], [-0.1, 1.0]), ([0.0, 0.0], [0.0, 0.0]), ([float("nan"), 1.0], None)]:
        with pytest.raises(RuntimeError):
            nabla.multinomial(nabla.tensor(bad), 1)
        if torch_bad is not None:
            with pytest.raises(RuntimeError):
                torch.multinomial(torch.tensor(torch_bad), 1)
    with pytest.raises(RuntimeError, match="without replacement"):
        nabla.multinomial(nabla.tensor([0.5, 0.5]), 3)
    with pytest.raises(RuntimeError):
        torch.multinomial(torch.tensor([0.5, 0.5]), 3)
    with pytest.raises(RuntimeError, match="non-zero weight"):
        nabla.multinomial(nabla.tensor([0.5, 0.0, 0.5]), 3)


# ------------------------------------------------------------------------- new_*, mm, narrow, format

def test_new_factories_follow_dtype_and_device():
    for dt in (F32, F64):
        n, t = nabla.zeros(2, dtype=dt), torch.zeros(2, dtype=getattr(torch, np.dtype(dt).name))
        for name, args in [("new_zeros", (2, 3)), ("new_ones", ((3,),)), ("new_empty", (4,)),
                           ("new_full", ((2, 2), 7.5))]:
            a, b = getattr(n, name)(*args), getattr(t, name)(*args)
            assert a.shape == tuple(b.shape) and str(a.dtype) == str(b.dtype).replace("torch.", "")
            if name != "new_empty":
                np.testing.assert_array_equal(a.numpy(), b.numpy())
        a, b = n.new_tensor([1, 2]), t.new_tensor([1, 2])
        assert str(a.dtype) == str(b.dtype).replace("torch.", "") and a.tolist() == b.tolist()
    g = nabla.ones(2).new_zeros(3, requires_grad=True)
    assert g.requires_grad and g.is_leaf
    assert nabla.ones(2).new_zeros(2, dtype=nabla.int64).dtype == nabla.int64
    src = nabla.ones(2, requires_grad=True)
    assert not nabla.zeros(1).new_tensor(src).requires_grad  # a copy, cut from the graph


def test_mm_bmm_dot_methods():
    check(lambda a, b: a.mm(b), [(3, 4), (4, 2)])
    check(lambda a, b: a.bmm(b), [(2, 3, 4), (2, 4, 2)])
    check(lambda a, b: a.dot(b), [(5,), (5,)])
    with pytest.raises(ValueError, match="mm: expects 2-D"):
        nabla.ones(3).mm(nabla.ones(3, 1))


@pytest.mark.parametrize("dim,start,length", [(0, 1, 2), (1, -3, 3), (-1, 0, 0), (1, 4, 1)])
def test_narrow(dim, start, length):
    check(lambda a: a.narrow(dim, start, length), [(3, 5)])
    check(lambda a: nabla.narrow(a, dim, start, length), [(3, 5)], lambda a: torch.narrow(a, dim, start, length))
    gradcheck(lambda a: a.narrow(dim, start, length), [(3, 5)])


def test_narrow_is_a_view_and_errors():
    x = nabla.zeros(4, 3)
    x.narrow(0, 1, 2).fill_(1.0)
    assert x.sum().item() == 6
    with pytest.raises(ValueError, match="exceeds dimension"):
        x.narrow(0, 3, 2)
    with pytest.raises(RuntimeError):
        torch.zeros(4, 3).narrow(0, 3, 2)
    with pytest.raises(IndexError, match="out of range"):
        x.narrow(0, 5, 0)


def test_format_of_zero_dim_tensor():
    n, t = nabla.tensor(3.14159265), torch.tensor(3.14159265)
    for spec in (".4f", ".2e", "8.3f", "", "g"):
        assert format(n, spec) == format(t, spec)
    assert f"{nabla.tensor(7):d}" == f"{torch.tensor(7):d}" == "7"
    assert format(nabla.ones(2)) == str(nabla.ones(2))
    with pytest.raises(TypeError, match="unsupported format string"):
        format(nabla.ones(2), ".3f")
    with pytest.raises(TypeError):
        format(torch.ones(2), ".3f")


def test_device_flags():
    n, t = nabla.ones(2), torch.ones(2)
    for flag in ("is_cuda", "is_cpu", "is_xpu", "is_mps", "is_meta", "is_sparse", "is_quantized", "is_nested"):
        assert getattr(n, flag) == getattr(t, flag), flag
    assert n.get_device() == t.get_device() == -1


# ---------------------------------------------------------------------- grad mode, devices, seeds

def test_inference_mode():
    x = nabla.ones(2, requires_grad=True)
    with nabla.inference_mode():
        assert not (x * 2).requires_grad
    with nabla.inference_mode(False):
        assert (x * 2).requires_grad

    @nabla.inference_mode()
    def f(a):
        return a * 2

    assert not f(x).requires_grad
    assert nabla.is_grad_enabled()

    @nabla.inference_mode
    def g(a):
        return a * 3

    assert not g(x).requires_grad and g(x).tolist() == [3.0, 3.0]


def test_set_default_device_cpu_and_errors():
    assert nabla.get_default_device() == "cpu"
    nabla.set_default_device("cpu")
    assert nabla.zeros(2).device == "cpu" and nabla.tensor([1.0]).device == "cpu"
    if not nabla.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            nabla.set_default_device("cuda")
    with pytest.raises(ValueError, match="unknown device"):
        nabla.set_default_device("tpu")
    nabla.set_default_device(None)
    assert nabla.get_default_device() == "cpu"


def test_cuda_accelerator_backends_namespaces_agree_with_torch_on_this_machine():
    assert nabla.cuda.is_available() == torch.cuda.is_available() or not torch.cuda.is_available()
    nabla.cuda.manual_seed_all(0)  # accepted without CUDA, as in PyTorch
    nabla.cuda.manual_seed(0)
    torch.cuda.manual_seed_all(0)
    if not nabla.cuda.is_available():
        assert nabla.cuda.device_count() == 0
        assert nabla.accelerator.is_available() is False
        assert nabla.accelerator.current_accelerator() is None
        assert nabla.accelerator.device_count() == 0
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            nabla.cuda.current_device()
    nabla.accelerator.synchronize()
    nabla.backends.cudnn.benchmark = True
    nabla.backends.cudnn.deterministic = True
    assert nabla.backends.cudnn.is_available() is False
    with nabla.backends.cudnn.flags(enabled=False):
        assert nabla.backends.cudnn.enabled is False
    assert nabla.backends.cudnn.enabled is True
    nabla.backends.cuda.matmul.allow_tf32 = True
    assert nabla.backends.mps.is_available() is False
    nabla.backends.cudnn.benchmark = False
    nabla.backends.cudnn.deterministic = False


# ------------------------------------------------------------------------------ Module.apply

def test_module_apply_order_and_init():
    order_n, order_t = [], []
    net_n = nabla.nn.Sequential(nabla.nn.Linear(2, 3), nabla.nn.Sequential(nabla.nn.ReLU(), nabla.nn.Linear(3, 1)))
    net_t = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(3, 1)))
    assert net_n.apply(lambda m: order_n.append(type(m).__name__)) is net_n
    net_t.apply(lambda m: order_t.append(type(m).__name__))
    assert order_n == order_t

    def init(m):
        if isinstance(m, nabla.nn.Linear):
            nabla.nn.init.constant_(m.weight, 0.5)
            nabla.nn.init.zeros_(m.bias)

    net_n.apply(init)
    assert all((p.detach().numpy() == 0.5).all() for n, p in net_n.named_parameters() if n.endswith("weight"))
    with pytest.raises(TypeError, match="expected a function"):
        net_n.apply(3)


# -------------------------------------------------------------------------- grad_fn.next_functions

def test_next_functions_walk_the_graph():
    a, b = nabla.ones(2, requires_grad=True), nabla.ones(2)
    y = (a * b + a).sum()
    (add, _), = y.grad_fn.next_functions
    assert add.name() == "AddBackward"
    (mul, _), (acc, _) = add.next_functions
    assert acc.name() == "AccumulateGrad" and acc.variable is a
    (acc2, _), (none, _) = mul.next_functions
    assert acc2.variable is a and none is None
    ta = torch.ones(2, requires_grad=True)
    ty = (ta * torch.ones(2) + ta).sum()
    assert len(ty.grad_fn.next_functions) == 1 and len(ty.grad_fn.next_functions[0][0].next_functions) == 2
    y.backward()
    assert y.grad_fn.next_functions == ()
