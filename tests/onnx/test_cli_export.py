"""`nabla export CHECKPOINT --onnx out.onnx`, run as a subprocess on a real 1-epoch training run."""

import os
import subprocess
import sys

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
pytest.importorskip("sklearn")

ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def nabla_cli(*argv, cwd):
    return subprocess.run([sys.executable, "-m", "nabla", *map(str, argv)], capture_output=True, text=True,
                          env=ENV, cwd=cwd, timeout=300)


def test_train_export_run_in_onnxruntime(tmp_path):
    r = nabla_cli("train", "mlp", "--dataset", "digits", "--epochs", "1", "--out", tmp_path / "run", "-q",
                  cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = nabla_cli("export", tmp_path / "run", "--onnx", tmp_path / "mlp.onnx", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout and "mlp.onnx" in r.stdout

    from sklearn.datasets import load_digits

    import nabla
    from nabla.cli.common import restore_model

    model, _, _ = restore_model(str(tmp_path / "run"))
    digits = load_digits()
    x = (digits.images[:500] / 16.0).astype(np.float32)[:, None]  # N, 1, 8, 8 like the digits data set
    sess = ort.InferenceSession(str(tmp_path / "mlp.onnx"), providers=["CPUExecutionProvider"])
    (out,) = sess.run(None, {"input": x})  # a batch of 500 although the export traced a batch of 1
    with nabla.no_grad():
        ref = model(nabla.tensor(x)).numpy()
    assert out.shape == (500, 10)
    assert np.abs(out - ref).max() < 1e-5
    assert (out.argmax(1) == digits.target[:500]).mean() > 0.5  # a trained model, not noise


def test_token_model_exports_with_dynamic_sequence_length(tmp_path):
    """A BERT classifier on the reviews data set takes int64 ids; the export accepts other lengths."""
    r = nabla_cli("train", "bert", "--dataset", "reviews", "--epochs", "1", "-a", "hidden_size=16", "-a",
                  "num_hidden_layers=1", "-a", "num_attention_heads=2", "-a", "intermediate_size=32",
                  "--out", tmp_path / "run", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = nabla_cli("export", tmp_path / "run", "--onnx", tmp_path / "bert.onnx", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "int64" in r.stdout

    import nabla
    from nabla.cli.common import restore_model

    model, _, _ = restore_model(str(tmp_path / "run"))
    sess = ort.InferenceSession(str(tmp_path / "bert.onnx"), providers=["CPUExecutionProvider"])
    ids = np.random.default_rng(0).integers(1, 20, (3, 12)).astype(np.int64)  # 12 tokens, traced with 25
    (out,) = sess.run(None, {"input": ids})
    with nabla.no_grad():
        ref = model(nabla.tensor(ids)).numpy()
    assert out.shape == ref.shape == (3, 2) and np.abs(out - ref).max() < 1e-5
    r = nabla_cli("export", tmp_path / "run", "--onnx", tmp_path / "b.onnx", "--seq-len", "7", cwd=tmp_path)
    assert r.returncode == 0 and "['N', 7]" in r.stdout, r.stderr


@pytest.mark.parametrize("argv, message", [
    (["export", "{tmp}/missing", "--onnx", "{tmp}/m.onnx"], "no checkpoint at"),
    (["export", "{tmp}/run", "--onnx", "{tmp}/no/such/dir/m.onnx"], "no such folder"),
    (["export", "{tmp}/run", "--onnx", "{tmp}/m.txt"], "should end in .onnx"),
    (["export", "{tmp}/run"], "the following arguments are required: --onnx"),
])
def test_bad_input_exits_2(tmp_path, argv, message):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "checkpoint.safetensors").write_bytes(b"not a checkpoint")
    r = nabla_cli(*[a.format(tmp=tmp_path) for a in argv], cwd=tmp_path)
    assert r.returncode == 2
    assert message in r.stderr
