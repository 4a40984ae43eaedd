"""Every loss against torch.nn's: functional and Module forms, every option and reduction, values and
gradients (input and, where torch differentiates it, target) in float32 and float64, gradcheck in
float64, extreme logits, and the error messages."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from oracle.helpers import F32, F64, check, check_double, gradcheck, ints, rng

import nabla
from nabla.functional import loss as NF
from nabla.nn import losses as NL

DTYPES = [F32, F64]
RED = ["none", "mean", "sum"]
W5 = np.array([0.5, 2.0, 1.0, 0.1, 3.0])
W3 = np.array([0.5, 2.0, 1.5])
EXTREME = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4], [0.0, 3.0, 1e4]])


def _tensor(lib, a, like):
    """``a`` (NumPy) as a constant tensor of ``lib`` in ``like``'s float dtype."""
    if a is None or not isinstance(a, np.ndarray):
        return a
    if lib == "torch":
        return torch.from_numpy(a.astype(str(like.dtype).replace("torch.", "")))
    return nabla.tensor(a.astype(str(like.dtype)))


def both_fn(name, **kw):
    """nabla's and torch's functional ``name`` with keyword options; NumPy options become tensors."""

    def n(x, y):
        return getattr(NF, name)(x, y, **{k: _tensor("nabla", v, x) for k, v in kw.items()})

    def t(x, y):
        return getattr(TF, name)(x, y, **{k: _tensor("torch", v, x) for k, v in kw.items()})

    return n, t


def both_module(cls, **kw):
    """nabla.nn.<cls>(**kw) and torch.nn.<cls>(**kw), built per call in the input's dtype."""

    def n(x, y):
        return getattr(NL, cls)(**{k: _tensor("nabla", v, x) for k, v in kw.items()})(x, y)

    def t(x, y):
        return getattr(torch.nn, cls)(**{k: _tensor("torch", v, x) for k, v in kw.items()})(x, y)

    return n, t


def run_both(name, cls, inputs, kw, **check_kw):
    """The functional form and the Module form, both against torch."""
    n, t = both_fn(name, **kw)
    check(n, inputs, t, **check_kw)
    n, t = both_module(cls, **kw)
    check(n, inputs, t, **check_kw)


def probs(shape, dtype, seed=3, axis=1):
    """Random class probabilities (rows summing to 1 along ``axis``)."""
    e = np.exp(rng(seed).normal(size=shape))
    return (e / e.sum(axis=axis, keepdims=True)).astype(dtype)


def onehot(classes, c, dtype):
    return np.eye(c, dtype=dtype)[classes]


# ------------------------------------------------------------------------------------- regression


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("name,cls,kw", [
    ("mse_loss", "MSELoss", {}),
    ("l1_loss", "L1Loss", {}),
    ("huber_loss", "HuberLoss", {}),
    ("huber_loss", "HuberLoss", {"delta": 0.3}),
    ("huber_loss", "HuberLoss", {"delta": 2.5}),
])
def test_regression(name, cls, kw, reduction, dtype):
    for shape in [(5, 3), (2, 3, 4), ()]:
        run_both(name, cls, [shape, shape], {"reduction": reduction, **kw}, dtype=dtype, low=-3, high=3)


def test_regression_int_target_is_cast():
    y = ints((4, 3), -2, 3)
    for name in ["mse_loss", "l1_loss", "huber_loss"]:
        check(lambda x, t: getattr(NF, name)(x, t), [(4, 3), y],
              lambda x, t: getattr(TF, name)(x, t.to(x.dtype)), dtype=F64)


# --------------------------------------------------------------------------- binary cross-entropy


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("weight", [None, W3, rng(7).uniform(0.1, 2, (4, 3))])
def test_bce(weight, reduction, dtype):
    run_both("binary_cross_entropy", "BCELoss", [(4, 3), (4, 3)], {"weight": weight, "reduction": reduction},
             dtype=dtype, low=0.02, high=0.98)
    if weight is None or weight.ndim == 1:
        run_both("binary_cross_entropy", "BCELoss", [(2, 4, 3), (2, 4, 3)],
                 {"weight": weight, "reduction": reduction}, dtype=dtype, low=0.02, high=0.98)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_saturated_probabilities(dtype):
    """Probabilities of exactly 0 and 1: the log is clamped at -100, the gradient stays finite."""
    x = np.array([[0.0, 1.0, 0.0], [1.0, 0.5, 1e-30]], dtype=dtype)
    y = np.array([[0.0, 1.0, 1.0], [0.0, 0.3, 1.0]], dtype=dtype)
    for reduction in RED:
        n, t = both_fn("binary_cross_entropy", reduction=reduction)
        # torch's target gradient is +-inf there; nabla's is the derivative of the clamped loss (+-100).
        check(n, [x, y], t, dtype=dtype, finite=True, requires_grad=[True, False], grad_rtol=1e-4)
    xt = nabla.tensor(x, requires_grad=False)
    yt = nabla.tensor(y, requires_grad=True)
    NF.binary_cross_entropy(xt, yt, reduction="sum").backward()
    assert np.isfinite(yt.grad.numpy()).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("weight,pos_weight", [
    (None, None), (W3, None), (None, np.array([0.3, 1.0, 4.0])),
    (rng(8).uniform(0.1, 2, (4, 3)), np.array([2.0, 0.5, 1.0])),
])
def test_bce_with_logits(weight, pos_weight, reduction, dtype):
    kw = {"weight": weight, "pos_weight": pos_weight, "reduction": reduction}
    y = rng(5).uniform(0, 1, (4, 3)).astype(dtype)
    run_both("binary_cross_entropy_with_logits", "BCEWithLogitsLoss", [(4, 3), y], kw, dtype=dtype, low=-5, high=5)
    if weight is None or weight.ndim == 1:
        y3 = rng(6).uniform(0, 1, (2, 5, 3)).astype(dtype)
        run_both("binary_cross_entropy_with_logits", "BCEWithLogitsLoss", [(2, 5, 3), y3], kw, dtype=dtype,
                 low=-5, high=5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", RED)
def test_bce_with_logits_extreme(reduction, dtype):
    x = EXTREME.astype(dtype)
    y = np.array([[1, 0, 1], [0, 1, 0.5], [1, 0, 0], [0, 0.5, 1], [1, 1, 0]], dtype=dtype)
    for kw in ({}, {"pos_weight": np.array([3.0, 0.5, 1.0]), "weight": W3}):
        n, t = both_fn("binary_cross_entropy_with_logits", reduction=reduction, **kw)
        check(n, [x, y], t, dtype=dtype, finite=True, grad_rtol=1e-4)


# -------------------------------------------------------------------------------- cross-entropy


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("weight", [None, W5])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2, 1.0])
def test_cross_entropy_class_targets(label_smoothing, weight, reduction, dtype):
    kw = {"weight": weight, "reduction": reduction, "label_smoothing": label_smoothing}
    run_both("cross_entropy", "CrossEntropyLoss", [(6, 5), ints((6,), 0, 5)], kw, dtype=dtype, low=-3, high=3)
    run_both("cross_entropy", "CrossEntropyLoss", [(2, 5, 3, 2), ints((2, 3, 2), 0, 5)], kw, dtype=dtype,
             low=-3, high=3)
    run_both("cross_entropy", "CrossEntropyLoss", [(5,), np.array(2)], kw, dtype=dtype, low=-3, high=3)
    ignored = np.array([0, -100, 3, 4, -100, 1])
    run_both("cross_entropy", "CrossEntropyLoss", [(6, 5), ignored], kw, dtype=dtype, low=-3, high=3)
    run_both("cross_entropy", "CrossEntropyLoss", [(2, 5, 3), np.array([[2, 0, 1], [2, 2, 4]])],
             {**kw, "ignore_index": 2}, dtype=dtype, low=-3, high=3)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_cross_entropy_all_ignored(label_smoothing):
    for reduction in RED:
        for weight in (None, W5):
            n, t = both_fn("cross_entropy", reduction=reduction, weight=weight, label_smoothing=label_smoothing)
            check(n, [(3, 5), np.full(3, -100)], t)  # mean: NaN loss, zero gradient


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("weight", [None, W5])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.15])
def test_cross_entropy_probability_targets(label_smoothing, weight, reduction, dtype):
    """Float targets of the input's shape: class probabilities, gradients for the target too."""
    kw = {"weight": weight, "reduction": reduction, "label_smoothing": label_smoothing}
    run_both("cross_entropy", "CrossEntropyLoss", [(6, 5), probs((6, 5), dtype)], kw, dtype=dtype, low=-3, high=3)
    run_both("cross_entropy", "CrossEntropyLoss", [(2, 5, 3), probs((2, 5, 3), dtype)], kw, dtype=dtype,
             low=-3, high=3)
    run_both("cross_entropy", "CrossEntropyLoss", [(5,), probs((5,), dtype, axis=0)], kw, dtype=dtype,
             low=-3, high=3)
    run_both("cross_entropy", "CrossEntropyLoss", [(6, 5), onehot(ints((6,), 0, 5), 5, dtype)], kw, dtype=dtype,
             low=-3, high=3)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("weight", [None, W5])
def test_cross_entropy_onehot_equals_class_index(weight, label_smoothing):
    """One-hot rows give the class-index loss, weights and smoothing included: both are
    ``q = (1 - ls) w[t] onehot(t) + ls w / C`` ("sum"/"none"; "mean" normalises differently)."""
    cls = ints((6,), 0, 5)
    x = nabla.tensor(rng(2).normal(size=(6, 5)))
    w = None if weight is None else nabla.tensor(weight)
    for reduction in ("sum", "none"):
        a = nabla.cross_entropy(x, nabla.tensor(cls), w, reduction=reduction, label_smoothing=label_smoothing)
        b = nabla.cross_entropy(x, nabla.tensor(onehot(cls, 5, F64)), w, reduction=reduction,
                                label_smoothing=label_smoothing)
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", RED)
def test_cross_entropy_extreme_logits(reduction, dtype):
    x = EXTREME.astype(dtype)
    for kw in ({"label_smoothing": 0.1}, {"label_smoothing": 0.1, "weight": W3}):
        n, t = both_fn("cross_entropy", reduction=reduction, **kw)
        check(n, [x, np.array([0, 0, 2, 1, 1])], t, dtype=dtype, finite=True)
        p = np.array([[1, 0, 0], [0.2, 0.3, 0.5], [0, 0, 1], [0.5, 0, 0.5], [1, 0, 0]], dtype=dtype)
        check(n, [x, p], t, dtype=dtype, finite=True)


def test_cross_entropy_target_dtype_follows_input():
    """A float64 probability target with float32 logits: computed in float32, target grad in float64."""
    x = nabla.randn(3, 4, requires_grad=True)
    p = nabla.tensor(probs((3, 4), F64), requires_grad=True)
    loss = nabla.cross_entropy(x, p, label_smoothing=0.1)
    assert loss.dtype == nabla.float32
    loss.backward()
    assert p.grad.dtype == nabla.float64 and x.grad.dtype == nabla.float32


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_cross_entropy_second_order(reduction, label_smoothing):
    n, t = both_fn("cross_entropy", reduction=reduction, weight=W5, label_smoothing=label_smoothing)
    check_double(lambda x: n(x, nabla.tensor(ints((4,), 0, 5))), [(4, 5)],
                 lambda x: t(x, torch.from_numpy(ints((4,), 0, 5))))
    check_double(n, [(4, 5), probs((4, 5), F64)], t)


# ------------------------------------------------------------------------------------------ NLL


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("weight", [None, W5])
def test_nll(weight, reduction, dtype):
    kw = {"weight": weight, "reduction": reduction}
    run_both("nll_loss", "NLLLoss", [(6, 5), ints((6,), 0, 5)], kw, dtype=dtype, low=-4, high=0)
    run_both("nll_loss", "NLLLoss", [(2, 5, 3, 2), ints((2, 3, 2), 0, 5)], kw, dtype=dtype, low=-4, high=0)
    run_both("nll_loss", "NLLLoss", [(5,), np.array(4)], kw, dtype=dtype, low=-4, high=0)
    run_both("nll_loss", "NLLLoss", [(6, 5), np.array([0, -100, 3, 4, -100, 1])], kw, dtype=dtype, low=-4, high=0)
    run_both("nll_loss", "NLLLoss", [(2, 5, 3), np.array([[2, 0, 1], [2, 2, 4]])], {**kw, "ignore_index": 2},
             dtype=dtype, low=-4, high=0)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_nll_all_ignored():
    for reduction in RED:
        n, t = both_fn("nll_loss", reduction=reduction)
        check(n, [(3, 5), np.full(3, -100)], t)


def test_nll_of_log_softmax_is_cross_entropy():
    x = nabla.tensor(rng(1).normal(size=(6, 5)) * 50)
    t = nabla.tensor(ints((6,), 0, 5))
    w = nabla.tensor(W5)
    a = NL.NLLLoss(weight=w)(x.log_softmax(1), t)
    b = NL.CrossEntropyLoss(weight=w)(x, t)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)


# ---------------------------------------------------------------------------------------- KLDiv


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", RED + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(log_target, reduction, dtype):
    kw = {"reduction": reduction, "log_target": log_target}
    y = probs((4, 5), dtype)
    y = np.log(y) if log_target else y
    run_both("kl_div", "KLDivLoss", [(4, 5), y], kw, dtype=dtype, low=-3, high=0)
    y3 = probs((2, 3, 4), dtype)
    y3 = np.log(y3) if log_target else y3
    run_both("kl_div", "KLDivLoss", [(2, 3, 4), y3], kw, dtype=dtype, low=-3, high=0)


@pytest.mark.parametrize("reduction", RED + ["batchmean"])
def test_kl_div_zero_target(reduction):
    """``0 * log 0`` is 0: a target with zeros (one-hot) gives a finite loss and input gradient."""
    y = onehot(ints((4,), 0, 5), 5, F64)
    n, t = both_fn("kl_div", reduction=reduction)
    check(n, [(4, 5), y], t, dtype=F64, low=-3, high=0, finite=True, requires_grad=[True, False])


# ------------------------------------------------------------------------------------ gradcheck


GRADCHECK = [
    ("mse", lambda x, y: NF.mse_loss(x, y), [(3, 4), (3, 4)], None),
    ("l1", lambda x, y: NF.l1_loss(x, y, reduction="sum"), [(3, 4), (3, 4)], None),
    ("huber", lambda x, y: NF.huber_loss(x, y, reduction="none", delta=0.7), [(3, 4), (3, 4)], None),
    ("bce", lambda x, y: NF.binary_cross_entropy(x, y, weight=nabla.tensor(W3)), [(2, 3), (2, 3)], (0.05, 0.95)),
    ("bce_logits", lambda x, y: NF.binary_cross_entropy_with_logits(
        x, y, weight=nabla.tensor(W3), pos_weight=nabla.tensor([2.0, 0.5, 1.0], dtype=nabla.float64),
        reduction="none"), [(2, 3), (2, 3)], (0.05, 0.95)),
    ("ce_smooth", lambda x: NF.cross_entropy(x, nabla.tensor([0, 2, -100, 1]), weight=nabla.tensor(W3),
                                             label_smoothing=0.2), [(4, 3)], None),
    ("ce_smooth_nd", lambda x: NF.cross_entropy(x, nabla.tensor([[0, 2], [1, 1]]), reduction="none",
                                                label_smoothing=0.3), [(2, 3, 2)], None),
    ("ce_probs", lambda x, p: NF.cross_entropy(x, p, weight=nabla.tensor(W3), label_smoothing=0.1),
     [(4, 3), (4, 3)], (0.05, 0.95)),
    ("ce_probs_none", lambda x, p: NF.cross_entropy(x, p, reduction="none"), [(2, 3, 2), (2, 3, 2)], None),
    ("nll", lambda x: NF.nll_loss(x, nabla.tensor([0, 2, -100, 1]), weight=nabla.tensor(W3)), [(4, 3)], None),
    ("kl", lambda x, y: NF.kl_div(x, y, reduction="batchmean"), [(3, 4), (3, 4)], (0.05, 0.95)),
    ("kl_log", lambda x, y: NF.kl_div(x, y, reduction="sum", log_target=True), [(3, 4), (3, 4)], None),
]


@pytest.mark.parametrize("name,fn,inputs,rng_", GRADCHECK, ids=[c[0] for c in GRADCHECK])
def test_gradcheck(name, fn, inputs, rng_):
    low, high = rng_ or (-2.0, 2.0)
    if name == "huber":  # away from the |d| = delta kink
        a, b = (rng(0).choice([-1, 1], s) * rng(1).uniform(0.1, 2, s) for s in inputs)
        a = np.where(np.abs(np.abs(a - b) - 0.7) < 0.05, a + 0.2, a)
        ns = [nabla.tensor(a, requires_grad=True), nabla.tensor(b, requires_grad=True)]
        assert nabla.autograd.gradcheck(fn, ns)
        return
    gradcheck(fn, inputs, low=low, high=high)


# --------------------------------------------------------------------------------------- modules


def test_module_reprs_and_buffers():
    w = nabla.tensor(W5)
    assert repr(NL.MSELoss()) == "MSELoss(reduction='mean')"
    assert repr(NL.L1Loss(reduction="sum")) == "L1Loss(reduction='sum')"
    assert repr(NL.HuberLoss(delta=2.0)) == "HuberLoss(delta=2.0, reduction='mean')"
    assert repr(NL.CrossEntropyLoss(weight=w, label_smoothing=0.1)) == (
        "CrossEntropyLoss(weight=Tensor(shape=(5,)), reduction='mean', ignore_index=-100, label_smoothing=0.1)"
    )
    assert repr(NL.BCEWithLogitsLoss(pos_weight=w)) == (
        "BCEWithLogitsLoss(reduction='mean', pos_weight=Tensor(shape=(5,)))"
    )
    assert repr(NL.KLDivLoss("batchmean", log_target=True)) == "KLDivLoss(reduction='batchmean', log_target=True)"
    assert repr(NL.NLLLoss(ignore_index=0)) == "NLLLoss(reduction='mean', ignore_index=0)"
    assert repr(NL.BCELoss()) == "BCELoss(reduction='mean')"
    m = NL.CrossEntropyLoss(weight=w)
    assert list(dict(m.named_buffers())) == ["weight"] and list(m.state_dict()) == ["weight"]
    assert list(m.parameters()) == []
    b = NL.BCEWithLogitsLoss(weight=nabla.tensor(W3), pos_weight=nabla.tensor(W3))
    assert sorted(b.state_dict()) == ["pos_weight", "weight"]
    assert NL.MSELoss().state_dict() == {}


def test_module_double_moves_weight():
    m = NL.CrossEntropyLoss(weight=nabla.tensor(W5, dtype=nabla.float32)).double()
    assert m.weight.dtype == nabla.float64


# ---------------------------------------------------------------------------------------- errors


PAIRS = [
    ("mse_loss", "MSELoss"), ("l1_loss", "L1Loss"), ("huber_loss", "HuberLoss"),
    ("binary_cross_entropy", "BCELoss"), ("binary_cross_entropy_with_logits", "BCEWithLogitsLoss"),
    ("kl_div", "KLDivLoss"),
]


@pytest.mark.parametrize("name,cls", PAIRS + [("cross_entropy", "CrossEntropyLoss"), ("nll_loss", "NLLLoss")])
def test_bad_reduction(name, cls):
    x = nabla.rand(4, 3)
    y = nabla.tensor([0, 1, 2, 0]) if name in ("cross_entropy", "nll_loss") else nabla.rand(4, 3)
    with pytest.raises(ValueError, match="reduction must be.*'avg'"):
        getattr(NF, name)(x, y, reduction="avg")
    with pytest.raises(ValueError, match=f"{cls}: reduction must be.*'avg'"):
        getattr(NL, cls)(reduction="avg")
    if cls != "KLDivLoss":
        with pytest.raises(ValueError, match="reduction"):
            getattr(NL, cls)(reduction="batchmean")


@pytest.mark.parametrize("name,cls", PAIRS)
def test_shape_mismatch_is_an_error(name, cls):
    """(N, 1) against (N,): PyTorch broadcasts to (N, N) (MSE only warns); nabla names both shapes."""
    x, y = nabla.rand(4, 1), nabla.rand(4)
    for f in (lambda: getattr(NF, name)(x, y), lambda: getattr(NL, cls)()(x, y)):
        with pytest.raises(ValueError, match=r"\(4, 1\).*\(4,\)"):
            f()


def test_bce_rejects_non_probabilities():
    y = nabla.rand(2, 3)
    for bad in (nabla.tensor([[0.1, 1.5, 0.2], [0.3, 0.4, 0.5]]), nabla.tensor([[-0.1, 0.5, 0.2], [0.3, 0.4, 0.5]]),
                nabla.tensor([[float("nan"), 0.5, 0.2], [0.3, 0.4, 0.5]])):
        with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*BCEWithLogitsLoss"):
            NL.BCELoss()(bad, y)


def test_option_errors():
    with pytest.raises(ValueError, match="delta must be positive"):
        NL.HuberLoss(delta=0.0)
    with pytest.raises(ValueError, match="delta must be positive"):
        NF.huber_loss(nabla.rand(3), nabla.rand(3), delta=-1.0)
    with pytest.raises(ValueError, match=r"label_smoothing must lie in \[0, 1\]"):
        NL.CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"label_smoothing must lie in \[0, 1\]"):
        NF.cross_entropy(nabla.rand(2, 3), nabla.tensor([0, 1]), label_smoothing=-0.1)
    with pytest.raises(ValueError, match=r"weight of shape \(2,\) does not broadcast.*\(4, 3\)"):
        NF.binary_cross_entropy(nabla.rand(4, 3), nabla.rand(4, 3), weight=nabla.ones(2))
    with pytest.raises(ValueError, match=r"pos_weight of shape \(4,\)"):
        NL.BCEWithLogitsLoss(pos_weight=nabla.ones(4))(nabla.rand(4, 3), nabla.rand(4, 3))
    with pytest.raises(TypeError, match="weight must be a Tensor"):
        NL.CrossEntropyLoss(weight=[1.0, 2.0])
    with pytest.raises(TypeError, match="must be Tensors"):
        NF.mse_loss(np.zeros(3), nabla.rand(3))


def test_cross_entropy_target_errors():
    x = nabla.rand(4, 3)
    with pytest.raises(TypeError, match=r"\.long\(\)"):  # float class labels
        NF.cross_entropy(x, nabla.tensor([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(4, 2\)"):  # probabilities of the wrong shape
        NF.cross_entropy(x, nabla.rand(4, 2))
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(3,\)"):
        NL.CrossEntropyLoss()(x, nabla.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="ignore_index=1 does not apply to class-probability targets"):
        NL.CrossEntropyLoss(ignore_index=1)(x, nabla.rand(4, 3))
    with pytest.raises(IndexError, match=r"\[0, 3\)"):
        NL.CrossEntropyLoss()(x, nabla.tensor([0, 1, 3, 1]))
    with pytest.raises(ValueError, match="0-d"):
        NF.cross_entropy(nabla.tensor(1.0), nabla.tensor(0))


def test_nll_errors():
    x = nabla.rand(4, 3)
    with pytest.raises(IndexError, match=r"\[0, 3\)"):
        NL.NLLLoss()(x, nabla.tensor([0, 1, 3, 1]))
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(4,\).*\(2,\)"):
        NL.NLLLoss()(x, nabla.tensor([0, 1]))
    with pytest.raises(TypeError, match=r"\.long\(\)"):
        NL.NLLLoss()(x, nabla.tensor([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        NL.NLLLoss(weight=nabla.ones(4))(x, nabla.tensor([0, 1, 2, 1]))
