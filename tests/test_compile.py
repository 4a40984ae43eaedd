"""nabla.compile: compiled training equals eager training, guards retrace, what cannot be traced runs eagerly."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import nabla
import nabla.nn as nn
import nabla.nn.functional as F
from nabla.compiler import CompileError

F64 = nabla.float64


def _pair(make, dtype=F64):
    """Two identical (model, optimizer) pairs built from the same seed."""
    out = []
    for _ in range(2):
        nabla.manual_seed(0)
        model = make().to(dtype)
        out.append((model, nabla.optim.Adam(model.parameters(), lr=1e-2)))
    return out


def _step(model, opt, x, y):
    opt.zero_grad()
    out = model(x)
    loss = F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
    loss.backward()
    opt.step()
    return loss


def _same_training(make, x, y, steps=5):
    (m1, o1), (m2, o2) = _pair(make)
    step = nabla.compile(_step, fullgraph=True)
    for i in range(steps):
        nabla.manual_seed(100 + i)
        l1 = _step(m1, o1, x, y)
        nabla.manual_seed(100 + i)
        l2 = step(m2, o2, x, y)
        assert l1.item() == l2.item(), f"step {i}: loss {l1.item()} eager vs {l2.item()} compiled"
    for (n, a), b in zip(m1.state_dict().items(), m2.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=n)
    assert step.stats["replays"] == steps - 1 and step.stats["traces"] == 1 and step.stats["check_failures"] == 0
    return step


class _LM(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb, self.rnn, self.out = nn.Embedding(30, 16), nn.LSTM(16, 24, batch_first=True), nn.Linear(24, 30)

    def forward(self, x):
        h, _ = self.rnn(self.emb(x))
        return self.out(h)


def test_mlp_bn_dropout_compiled_equals_eager_bit_for_bit():
    def make():
        return nn.Sequential(nn.Linear(20, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 5))

    nabla.manual_seed(1)
    _same_training(make, nabla.randn(16, 20, dtype=F64), nabla.randint(0, 5, (16,)), steps=8)


def test_lenet_compiled_equals_eager():
    from nabla.models import get_model

    nabla.manual_seed(1)
    _same_training(lambda: get_model("lenet5"), nabla.randn(4, 1, 28, 28, dtype=F64), nabla.randint(0, 10, (4,)),
                   steps=3)


def test_lstm_language_model_compiled_equals_eager():
    nabla.manual_seed(1)
    _same_training(_LM, nabla.randint(0, 30, (3, 10)), nabla.randint(0, 30, (3, 10)), steps=4)


def test_gpt_compiled_equals_eager():
    from nabla.models import get_model

    def make():
        return get_model("gpt", vocab_size=40, block_size=12, n_layer=2, n_head=2, n_embd=32, dropout=0.1)

    nabla.manual_seed(1)
    _same_training(make, nabla.randint(0, 40, (2, 12)), nabla.randint(0, 40, (2, 12)), steps=3)


def test_tiny_mlp_hand_written_sgd_100_steps():
    """The benchmark's step: primitives, a hand-written BCE and SGD under no_grad, `p.grad = None`."""
    rng = np.random.default_rng(0)
    x, y = nabla.tensor(rng.standard_normal((32, 2))), nabla.tensor((rng.random((32, 1)) > 0.5) * 1.0)
    shapes = [(2, 8), (8,), (8, 8), (8,), (8, 1), (1,)]
    init = [rng.standard_normal(s) * 0.5 for s in shapes]

    def make_step():
        params = [nabla.tensor(a.copy(), requires_grad=True) for a in init]
        w1, b1, w2, b2, w3, b3 = params

        def step():
            h = (x @ w1 + b1).tanh()
            h = (h @ w2 + b2).tanh()
            p = (h @ w3 + b3).sigmoid().clamp(1e-7, 1 - 1e-7)
            loss = -(y * p.log() + (1 - y) * (1 - p).log()).mean()
            loss.backward()
            with nabla.no_grad():
                for q in params:
                    q -= 0.1 * q.grad
                    q.grad = None
            return loss

        return step, params

    eager, pe = make_step()
    compiled_raw, pc = make_step()
    compiled = nabla.compile(compiled_raw, fullgraph=True)
    for _ in range(100):
        assert eager().item() == compiled().item()
    for a, b in zip(pe, pc):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
        assert b.grad is None  # the function's `q.grad = None` is replayed
    src = compiled.programs()[0]
    assert "Tensor(" not in src and "_generic_backward" not in src  # every op on this path has an array kernel


# ------------------------------------------------------------------------------------------ guards


def test_new_shapes_dtypes_and_modes_are_traced_as_new_variants():
    model = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.5))
    f = nabla.compile(lambda x: model(x) * 2, fullgraph=True)
    with nabla.no_grad():
        for shape in [(5, 4), (5, 4), (5, 4), (7, 4), (7, 4)]:
            x = nabla.randn(*shape)
            model.eval()
            np.testing.assert_allclose(f(x).numpy(), (model(x) * 2).numpy(), rtol=1e-6)
        assert f.stats["traces"] == 2
        model.train()  # dropout on: a different program (and eval mode's program is kept)
        y = f(nabla.randn(7, 4))
        assert f.stats["traces"] == 3 and y.shape == (7, 3)
        model.eval()
        f(nabla.randn(7, 4))
        assert f.stats["traces"] == 3
        f(nabla.randn(7, 4, dtype=F64).to(nabla.float32))  # same dtype after the cast: no new trace
        assert f.stats["traces"] == 3
    y = f(nabla.randn(7, 4))  # grad mode on: a new variant, whose output carries a compiled backward
    assert f.stats["traces"] == 4 and y.requires_grad


def test_python_arguments_are_guards():
    f = nabla.compile(lambda x, k: x * k, fullgraph=True)
    x = nabla.ones(3)
    assert f(x, 2).tolist() == [2.0] * 3
    assert f(x, 3).tolist() == [3.0] * 3  # a new value of a Python argument: traced again, not replayed wrong
    assert f(x, 3).tolist() == [3.0] * 3
    assert f.stats["traces"] == 2


def test_a_frozen_parameter_invalidates_the_program():
    model = nn.Linear(3, 2)
    opt = nabla.optim.SGD(model.parameters(), lr=0.1)
    x, y = nabla.randn(4, 3), nabla.randn(4, 2)

    def step():
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss

    f = nabla.compile(step, fullgraph=True)
    for _ in range(3):
        f()
    model.bias.requires_grad_(False)
    b = model.bias.numpy().copy()
    f()
    f()
    np.testing.assert_array_equal(model.bias.numpy(), b)
    assert model.weight.grad is not None  # frozen: not updated by the old program
    assert f.stats["traces"] == 2


def test_cache_size_limits_variants():
    f = nabla.compile(lambda x: x + 1, cache_size=2)
    with pytest.warns(RuntimeWarning, match="cache_size=2"):
        for n in (1, 2, 3):
            assert f(nabla.zeros(n)).tolist() == [1.0] * n


# ------------------------------------------------------------------------- what runs eagerly, and why


def test_reading_a_value_runs_eagerly_with_a_warning_and_fullgraph_raises():
    def f(x):
        return x * 2 if (x.sum() > 0).item() else x * 3

    g = nabla.compile(f)
    with pytest.warns(RuntimeWarning, match=r"item\(\) reads a tensor's value"):
        assert g(nabla.ones(2)).tolist() == [2.0, 2.0]
    assert g(-nabla.ones(2)).tolist() == [-3.0, -3.0]  # eager: follows the branch
    with pytest.raises(CompileError, match="item"):
        nabla.compile(f, fullgraph=True)(nabla.ones(2))


def test_random_draw_outside_an_op_runs_eagerly():
    g = nabla.compile(lambda x: x + nabla.randn(3))
    with pytest.warns(RuntimeWarning, match="random numbers drawn outside an op"):
        a = g(nabla.zeros(3))
    b = g(nabla.zeros(3))
    assert not np.array_equal(a.numpy(), b.numpy())  # a fresh draw each call, as eagerly


def test_a_value_computed_outside_the_ops_is_caught_by_the_first_replay_check():
    def f(x):  # np.asarray(...) on the tensor's data is invisible to the tracer: frozen at trace time
        return x + nabla.from_numpy(np.asarray(x._data) * 2)

    g = nabla.compile(f)
    assert g(nabla.ones(2)).tolist() == [3.0, 3.0]
    with pytest.warns(RuntimeWarning, match="did not match eager"):
        assert g(nabla.full((2,), 2.0)).tolist() == [6.0, 6.0]
    assert g(nabla.full((2,), 5.0)).tolist() == [15.0, 15.0]
    assert g.stats["check_failures"] == 1


@pytest.mark.parametrize("name", ["mlp", "lenet5", "gpt"])
def test_compiled_forward_with_backward_outside(name):
    """``nabla.compile(model)`` in training mode: the output carries one node whose backward is the traced
    backward program; gradients equal eager autograd's, also for an input that requires grad."""
    from nabla.models import get_model

    def make():
        if name == "mlp":
            return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))
        if name == "gpt":
            return get_model("gpt", vocab_size=20, block_size=8, n_layer=1, n_head=2, n_embd=16)
        return get_model(name)

    shape = {"mlp": (4, 6), "lenet5": (2, 1, 28, 28)}.get(name)
    (m1, _), (m2, _) = _pair(make)
    compiled = nabla.compile(m2, fullgraph=True)
    for i in range(4):
        nabla.manual_seed(i)
        x = nabla.randint(0, 20, (2, 8)) if name == "gpt" else nabla.randn(*shape, dtype=F64, requires_grad=True)
        x2 = x if name == "gpt" else x.detach().requires_grad_()
        m1.zero_grad()
        m2.zero_grad()
        o1, o2 = m1(x), compiled(x2)
        np.testing.assert_array_equal(o1.detach().numpy(), o2.detach().numpy())
        (o1 * o1).sum().backward()
        (o2 * o2).sum().backward()
        for (n, a), b in zip(m1.named_parameters(), m2.parameters()):
            np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy(), err_msg=n)
        if name != "gpt":
            np.testing.assert_array_equal(x.grad.numpy(), x2.grad.numpy())
    assert compiled.stats["replays"] == 3 and type(o2._ctx).__name__ == "CompiledBackward"  # (one in the check)
    with pytest.raises(RuntimeError, match="second derivative"):
        nabla.autograd.grad(compiled(x2).sum(), list(m2.parameters())[:1], create_graph=True)


def test_two_outputs_needing_grad_run_eagerly():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    g = nabla.compile(lambda x: (a(x), b(x)))
    with pytest.warns(RuntimeWarning, match="returns 2 tensors that require grad"):
        out = g(nabla.randn(3, 2))
    (out[0].sum() + out[1].sum()).backward()
    assert a.weight.grad is not None and b.weight.grad is not None


def test_bad_arguments():
    with pytest.raises(TypeError, match="expected a function or a Module"):
        nabla.compile(3)
    with pytest.raises(ValueError, match="cache_size"):
        nabla.compile(lambda x: x, cache_size=0)


def test_decorator_forms_and_inference():
    model = nn.Sequential(nn.Linear(6, 8), nn.GELU(), nn.LayerNorm(8), nn.Linear(8, 2)).eval()

    @nabla.compile
    def predict(x):
        with nabla.no_grad():
            return model(x).softmax(-1)

    @nabla.compile(fullgraph=True)
    def predict2(x):
        return model(x)

    x = nabla.randn(5, 6)
    for _ in range(3):
        np.testing.assert_allclose(predict(x).numpy(), model(x).softmax(-1).detach().numpy(), rtol=1e-6)
        with nabla.no_grad():
            np.testing.assert_allclose(predict2(x).numpy(), model(x).numpy(), rtol=1e-6)
    assert predict.stats["replays"] == 2


def test_dead_code_is_pruned():
    def f(x):
        unused = (x * 3).exp()  # noqa: F841 - computed and never used
        return x + 1

    g = nabla.compile(f)
    with nabla.no_grad():
        g(nabla.ones(3))
    src = g.programs()[0]
    assert "exp(" not in src and " * " not in src and " + " in src  # x * 3 and its exp are gone


def test_state_is_shared_with_eager_code_and_checkpoints():
    model = nn.Linear(3, 1)
    opt = nabla.optim.Adam(model.parameters(), lr=0.1)
    x, y = nabla.randn(8, 3), nabla.randn(8, 1)
    step = nabla.compile(lambda: _mse_step(model, opt, x, y), fullgraph=True)
    for _ in range(4):
        step()
    w = model.weight.detach().numpy().copy()
    np.testing.assert_array_equal(model.state_dict()["weight"].numpy(), w)
    assert opt.state[model.weight]["step"] == 4 or float(opt.state[model.weight]["step"]) == 4
    _mse_step(model, opt, x, y)  # an eager step continues from the compiled steps' state
    assert float(opt.state[model.weight]["step"]) == 5


def _mse_step(model, opt, x, y):
    opt.zero_grad()
    loss = F.mse_loss(model(x), y)
    loss.backward()
    opt.step()
    return loss


# --------------------------------------------------------------------------------- Trainer and CLI


def test_trainer_compile_gives_the_same_history():
    from nabla.train import Trainer

    rng = np.random.default_rng(0)
    x = nabla.tensor(rng.standard_normal((96, 10)).astype(np.float32))
    y = nabla.tensor(rng.integers(0, 3, 96))
    histories = []
    for compile in (False, True):
        nabla.manual_seed(0)
        model = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 3))
        t = Trainer(model, nabla.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), F.cross_entropy,
                    ["accuracy"], compile=compile)
        ds = nabla.data.TensorDataset(x, y)
        h = t.fit(nabla.data.DataLoader(ds, batch_size=32, shuffle=True), epochs=3, verbose=0,
                  val_data=nabla.data.DataLoader(ds, batch_size=40))
        histories.append(h.history)
    assert histories[0] == histories[1]


def test_cli_train_compile(tmp_path):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    outs = []
    for extra in ([], ["--compile"]):
        r = subprocess.run([sys.executable, "-m", "nabla", "train", "mlp", "--dataset", "digits", "--epochs", "1",
                            "--out", str(tmp_path / f"run{len(outs)}"), *extra],
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
        assert r.returncode == 0, r.stderr
        assert "runs eagerly" not in r.stderr
        outs.append([ln for ln in r.stdout.splitlines() if ln.startswith("test loss")][0].split(" (")[0])
    assert outs[0] == outs[1]


def test_no_warning_on_a_plain_training_step():
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 1))
    opt = nabla.optim.SGD(model.parameters(), lr=0.1)
    x, y = nabla.randn(8, 4), nabla.randn(8, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        step = nabla.compile(lambda: _mse_step(model, opt, x, y))
        for _ in range(3):
            step()
    assert step.stats["replays"] == 2


def test_buffer_reuse_keeps_outputs_of_earlier_calls_and_saves_allocations():
    w = nn.Parameter(nabla.randn(5, 5))

    def f(x):
        h = (x * 2).tanh()  # the product's array is dead after tanh: tanh writes into it
        y = (h @ w + 1).exp()
        return h.reshape(-1), y

    g = nabla.compile(f, fullgraph=True)
    kept = []
    with nabla.no_grad():
        for i in range(4):
            x = nabla.full((3, 5), float(i) / 10)
            kept.append((x, g(x)))
        for x, (h, y) in kept:  # later calls did not overwrite what earlier calls returned
            np.testing.assert_array_equal(h.numpy(), (x * 2).tanh().reshape(-1).numpy())
            np.testing.assert_allclose(y.numpy(), ((x * 2).tanh() @ w + 1).exp().numpy(), rtol=1e-6)
    src = g.programs()[0]
    assert "tanh(" in src and ", out=v" in src  # at least one op computes into a dead temporary
    plain = nabla.compile(f, reuse_buffers=False)
    with nabla.no_grad():
        plain(nabla.ones(3, 5))
    assert "out=" not in plain.programs()[0]


def test_draw_graph_of_a_compiled_step(tmp_path):
    pytest.importorskip("graphviz")
    import shutil

    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot program is not installed")
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    opt = nabla.optim.SGD(model.parameters(), lr=0.1)
    step = nabla.compile(lambda x, y: _mse_step(model, opt, x, y))
    with pytest.raises(ValueError, match="call it once first"):
        nabla.viz.draw_graph(step, tmp_path / "p.svg")
    step(nabla.randn(5, 3), nabla.randn(5, 1))
    svg = open(nabla.viz.draw_graph(step, tmp_path / "p.svg", names=dict(model.named_parameters()))).read()
    for label in ("Linear", "Tanh backward", "SGD.step()", "0.weight", "nabla.compile program"):
        assert label in svg, label
