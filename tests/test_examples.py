"""The examples run and show what they claim; they start quick (about a minute) with the long settings
one flag away (``--full``), and write their pictures into an ``--out`` folder, never the current one."""

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ENV = dict(os.environ, PYTHONPATH=str(EXAMPLES.parent / "src"), OPENBLAS_NUM_THREADS="1")


def test_xor_perceptron_fails_and_mlp_succeeds():
    mod = runpy.run_path(str(EXAMPLES / "xor.py"), run_name="xor_example")
    assert mod["perceptron_best_accuracy"]() == 0.75
    loss, accuracy = mod["train_mlp"]()
    assert accuracy == 1.0 and loss < 0.05


@pytest.mark.parametrize("example, quick, full", [
    ("gpt_shakespeare", {"minutes": 1.0, "eval_every": 30.0, "eval_batches": 5},
     {"minutes": 30.0, "eval_every": 60.0, "eval_batches": 20}),
    ("char_lstm", {"minutes": 0.75}, {"minutes": 3.0}),
    ("bert_finetune", {"pretrain_steps": 800, "finetune_epochs": 6}, {"pretrain_steps": 1500, "finetune_epochs": 12}),
])
def test_slow_examples_are_quick_by_default_and_full_with_one_flag(example, quick, full):
    mod = runpy.run_path(str(EXAMPLES / f"{example}.py"), run_name=f"{example}_example")
    args, long = mod["parse_args"]([]), mod["parse_args"](["--full"])
    assert {k: getattr(args, k) for k in quick} == quick and not args.full
    assert {k: getattr(long, k) for k in full} == full and long.full
    assert "--full" in mod["__doc__"]  # the docstring's usage lines say how to get the long run


@pytest.mark.parametrize("example, argv, pictures", [
    ("seq2seq_dates", ["--steps", "2", "--train-pairs", "200", "--test-pairs", "20"], ["attention.png"]),
    ("long_memory", ["--lags", "5", "--steps", "2"], ["long_memory.png"]),
    ("cnn_digits", ["--epochs", "1"], ["first_layer.png"]),
    ("vae_mnist", ["--data-dir", "no-mnist-here", "--epochs", "1", "--k", "2"],
     ["vae_reconstructions.png", "vae_samples.png"]),
])
def test_examples_write_pictures_into_their_out_folder_only(example, argv, pictures, tmp_path):
    pytest.importorskip("matplotlib")
    if example in ("cnn_digits", "vae_mnist"):
        pytest.importorskip("sklearn")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    r = subprocess.run([sys.executable, str(EXAMPLES / f"{example}.py"), *argv], cwd=cwd, env=ENV,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    written = sorted(str(p.relative_to(cwd)) for p in cwd.rglob("*") if p.is_file())
    assert written == [f"runs/{example}/{p}" for p in pictures], written  # the default --out, nothing at the top
    assert all((cwd / "runs" / example / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pictures)
    r = subprocess.run([sys.executable, str(EXAMPLES / f"{example}.py"), *argv, "--out", str(tmp_path / "mine")],
                       cwd=cwd, env=ENV, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and all((tmp_path / "mine" / p).exists() for p in pictures)
