"""nabla.onnx.export: models round-trip through onnxruntime within 1e-5 of nabla's outputs."""

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

import nabla  # noqa: E402
import nabla.onnx  # noqa: E402
from nabla import models, nn  # noqa: E402


def _roundtrip(model, examples, path, dynamic_axes=None, **kw):
    """Export with examples[0]; return the max |onnxruntime - nabla| over every example (other shapes too)."""
    nabla.onnx.export(model, nabla.tensor(examples[0]), path, dynamic_axes=dynamic_axes, **kw)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    model.eval()
    worst = 0.0
    for x in examples:
        with nabla.no_grad():
            ref = model(nabla.tensor(x)).numpy()
        (out,) = sess.run(None, {sess.get_inputs()[0].name: x})
        assert out.shape == ref.shape
        worst = max(worst, float(np.abs(out - ref).max()))
    return worst


def test_mlp_dynamic_batch(tmp_path):
    nabla.manual_seed(0)
    rng = np.random.default_rng(0)
    model = models.mlp(in_features=64, hidden=(32, 16), num_classes=10)
    xs = [rng.standard_normal((n, 64)).astype(np.float32) for n in (4, 1, 9)]
    assert _roundtrip(model, xs, tmp_path / "mlp.onnx", {"input": {0: "batch"}}) < 1e-5


def test_lenet5(tmp_path):
    nabla.manual_seed(0)
    rng = np.random.default_rng(1)
    model = models.lenet5()
    xs = [rng.standard_normal((n, 1, 28, 28)).astype(np.float32) for n in (2, 5)]
    assert _roundtrip(model, xs, tmp_path / "lenet.onnx", {"input": [0]}) < 1e-5


def test_resnet18_batchnorm_eval_residuals_global_pool(tmp_path):
    nabla.manual_seed(0)
    rng = np.random.default_rng(2)
    model = models.resnet18(num_classes=10)
    # non-trivial running statistics, so the exported batch norm is not the identity
    model.train()
    with nabla.no_grad():
        for _ in range(2):
            model(nabla.tensor(rng.standard_normal((4, 3, 32, 32)).astype(np.float32)))
    xs = [rng.standard_normal((n, 3, 32, 32)).astype(np.float32) for n in (2, 3)]
    assert _roundtrip(model, xs, tmp_path / "resnet18.onnx", {"input": {0: "batch"}}) < 1e-5
    assert model.training is False  # _roundtrip switched it to eval; export restores what it found


def test_parameters_are_named_initializers_and_model_checks(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    proto = nabla.onnx.export(model, nabla.randn(2, 3), tmp_path / "m.onnx", output_names=["logits"])
    names = {i.name for i in proto.graph.initializer}
    assert {"0.weight", "0.bias", "2.weight", "2.bias"} <= names
    assert [o.name for o in proto.graph.output] == ["logits"]
    onnx.checker.check_model(onnx.load(str(tmp_path / "m.onnx")))


def test_export_restores_training_mode_and_other_ops(tmp_path):
    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(6, 6)

        def forward(self, x):
            h = nabla.nn.functional.gelu(self.fc(x)) + x[:, ::-1] * 0.5
            h = nabla.cat([h.sigmoid(), nabla.nn.functional.leaky_relu(h, 0.1)], dim=1)
            return nabla.nn.functional.log_softmax(h.reshape(-1, 3, 4).permute(0, 2, 1).sum(-1), dim=-1)

    nabla.manual_seed(0)
    rng = np.random.default_rng(3)
    model = Odd()
    model.train()
    xs = [rng.standard_normal((n, 6)).astype(np.float32) for n in (5, 2)]
    assert _roundtrip(model, xs, tmp_path / "odd.onnx", {"input": {0: "n"}}) < 1e-5


def test_unsupported_op_names_op_and_layer(tmp_path):
    class UsesCumsum(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            return nabla.cumsum(self.fc(x), 1)

    with pytest.raises(nabla.onnx.UnsupportedOpError, match=r"CumSum.*layer model \(UsesCumsum\)"):
        nabla.onnx.export(UsesCumsum(), nabla.randn(2, 3), tmp_path / "x.onnx")


def test_bad_arguments(tmp_path):
    model = nn.Linear(3, 2)
    with pytest.raises(TypeError, match="example input 0"):
        nabla.onnx.export(model, [[1.0, 2.0, 3.0]], tmp_path / "x.onnx")
    with pytest.raises(ValueError, match="opset"):
        nabla.onnx.export(model, nabla.randn(1, 3), tmp_path / "x.onnx", opset=7)
    with pytest.raises(ValueError, match="dynamic_axes names 'x'"):
        nabla.onnx.export(model, nabla.randn(1, 3), tmp_path / "x.onnx", dynamic_axes={"x": [0]})
    with pytest.raises(ValueError, match="input_names"):
        nabla.onnx.export(model, nabla.randn(1, 3), tmp_path / "x.onnx", input_names=["a", "b"])


def _tokens(rng, vocab, shapes):
    return [rng.integers(0, vocab, shape).astype(np.int64) for shape in shapes]


def test_gpt_dynamic_batch_and_sequence_length(tmp_path):
    nabla.manual_seed(0)
    model = models.gpt(vocab_size=65, block_size=32, n_layer=2, n_head=2, n_embd=32)
    xs = _tokens(np.random.default_rng(4), 65, [(2, 16), (3, 9), (1, 32)])  # traced at T=16, run at 9 and 32
    diff = _roundtrip(model, xs, tmp_path / "gpt.onnx", {"input": {0: "batch", 1: "sequence"}})
    assert diff < 1e-5


def test_bert_classifier_dynamic_batch_and_sequence_length(tmp_path):
    nabla.manual_seed(0)
    model = models.bert(vocab_size=100, num_classes=3)
    xs = _tokens(np.random.default_rng(5), 100, [(2, 16), (3, 11)])
    assert _roundtrip(model, xs, tmp_path / "bert.onnx", {"input": {0: "batch", 1: "sequence"}}) < 1e-5


@pytest.mark.parametrize("build", [models.char_lstm, models.char_gru])
def test_recurrent_language_model_dynamic_batch_and_sequence_length(tmp_path, build):
    nabla.manual_seed(0)
    model = build(65)
    xs = _tokens(np.random.default_rng(6), 65, [(2, 16), (3, 7)])
    assert _roundtrip(model, xs, tmp_path / "rnn.onnx", {"input": {0: "batch", 1: "sequence"}}) < 1e-5


def test_rnn_relu_layer_and_nonzero_initial_state(tmp_path):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.RNN(5, 7, num_layers=2, nonlinearity="relu", batch_first=True)
            self.lstm = nn.LSTM(7, 4, batch_first=True)

        def forward(self, x):
            h, _ = self.rnn(x)
            y, _ = self.lstm(h, (nabla.ones(1, x.shape[0], 4) * 0.5, nabla.ones(1, x.shape[0], 4) * -0.25))
            return y

    nabla.manual_seed(0)
    rng = np.random.default_rng(7)
    xs = [rng.standard_normal((3, 6, 5)).astype(np.float32)]
    assert _roundtrip(Net(), xs, tmp_path / "rnn.onnx") < 1e-5


def test_verify_catches_a_wrong_converter(tmp_path, monkeypatch):
    from nabla.onnx import CONVERTERS

    monkeypatch.setitem(CONVERTERS, "Tanh", lambda g, c: g.node("Sigmoid", [g.value(c.inputs[0])]))
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
    with pytest.raises(RuntimeError, match="differs from nabla's"):
        nabla.onnx.export(model, nabla.randn(2, 3), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
    nabla.onnx.export(model, nabla.randn(2, 3), tmp_path / "m.onnx", verify=False)
    assert (tmp_path / "m.onnx").exists()


def test_pooling_variants_resizing_and_two_inputs(tmp_path):
    F = nabla.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 4, 3, stride=2, padding=(1, 2), dilation=1, groups=2)

        def forward(self, x, y):
            h = self.conv(x)
            a = F.max_pool2d(h, 3, stride=2, padding=1, ceil_mode=True)
            b = F.avg_pool2d(h, 2, stride=1, padding=1, count_include_pad=False)
            c = F.adaptive_avg_pool2d(h, (3, 2))
            d = F.interpolate(h, scale_factor=2, mode="bilinear", align_corners=False)
            return nabla.cat([a.flatten(1), b.flatten(1), c.flatten(1), d.flatten(1)], dim=1) * y

    nabla.manual_seed(0)
    rng = np.random.default_rng(8)
    model = Net()
    x, y = rng.standard_normal((2, 2, 11, 9)).astype(np.float32), np.array(1.5, dtype=np.float32)
    with nabla.no_grad():
        ref = model(nabla.tensor(x), nabla.tensor(y)).numpy()
    nabla.onnx.export(model, (nabla.tensor(x), nabla.tensor(y)), tmp_path / "p.onnx", input_names=["x", "y"])
    sess = ort.InferenceSession(str(tmp_path / "p.onnx"), providers=["CPUExecutionProvider"])
    (out,) = sess.run(None, {"x": x, "y": y})
    assert out.shape == ref.shape and np.abs(out - ref).max() < 1e-5


def test_float64_mlp(tmp_path):
    nabla.manual_seed(0)
    model = models.mlp(in_features=8, hidden=(16,), num_classes=3).double()
    xs = [np.random.default_rng(9).standard_normal((n, 8)) for n in (4, 2)]
    assert _roundtrip(model, xs, tmp_path / "m64.onnx", {"input": [0]}) < 1e-12


def test_verify_catches_values_read_behind_the_tracers_back(tmp_path):
    class Sneaky(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            scale = nabla.tensor(np.abs(x.detach().numpy()).max(axis=1, keepdims=True))  # NumPy: invisible
            return self.fc(x) / scale

    with pytest.raises(RuntimeError, match="other input values of the same shape"):
        nabla.onnx.export(Sneaky(), nabla.randn(4, 3), tmp_path / "s.onnx")


def test_model_on_a_gpu_exports(tmp_path, gpu_device):
    """Parameters, masks and inputs on the device are copied to the host for the file."""
    nabla.manual_seed(0)
    rng = np.random.default_rng(10)
    cpu_model = models.gpt(vocab_size=30, block_size=16, n_layer=1, n_head=2, n_embd=16)
    model = models.gpt(vocab_size=30, block_size=16, n_layer=1, n_head=2, n_embd=16)
    model.load_state_dict(cpu_model.state_dict())
    model.to(gpu_device)
    ids = rng.integers(0, 30, (2, 8)).astype(np.int64)
    nabla.onnx.export(model, nabla.tensor(ids, device=gpu_device), tmp_path / "g.onnx",
                      dynamic_axes={"input": [0, 1]})
    sess = ort.InferenceSession(str(tmp_path / "g.onnx"), providers=["CPUExecutionProvider"])
    other = rng.integers(0, 30, (3, 5)).astype(np.int64)
    cpu_model.eval()
    with nabla.no_grad():
        ref = cpu_model(nabla.tensor(other)).numpy()
    assert np.abs(sess.run(None, {"input": other})[0] - ref).max() < 1e-5


def test_more_elementwise_reduction_and_mask_ops(tmp_path):
    F = nabla.nn.functional

    class Many(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(5, 5)

        def forward(self, x):
            h = self.fc(x)
            a = F.softplus(h, beta=2.0) + F.elu(h, 0.7) + nabla.clamp(h, -0.5, 0.5) + h.abs().sqrt().exp().log1p()
            b = nabla.tril(h.unsqueeze(0).expand(3, 4, 5)).mean(0) + h.amax(1, keepdim=True) - h.amin(0)
            c = nabla.where(h > 0, h, h * 0.1).softmax(-1) + nabla.rsqrt(h * h + 1) + h.max(1)[0].unsqueeze(1)
            return (a * b / (c + 2)).sum(-1) + F.pad(h, (1, 0))[:, :1].squeeze(1) ** 2

    nabla.manual_seed(0)
    rng = np.random.default_rng(11)
    xs = [rng.standard_normal((4, 5)).astype(np.float32)]
    assert _roundtrip(Many(), xs, tmp_path / "many.onnx") < 1e-5
