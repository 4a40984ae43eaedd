"""The `nabla` command, run in-process through `nabla.cli.main` (one real subprocess for `python -m nabla`)."""

import json
import os
import subprocess
import sys
import urllib.error
from pathlib import Path

import numpy as np
import pytest

import nabla
from nabla.cli import main

SHARED_MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "mnist"
SRC = Path(__file__).resolve().parents[2] / "src"


def run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_no_command_prints_help(capsys):
    rc, out, _ = run(capsys)
    assert rc == 0 and "usage: nabla" in out and "train" in out and "evaluate" in out


def test_python_dash_m_is_the_same_command():
    env = dict(os.environ, PYTHONPATH=str(SRC))
    r = subprocess.run([sys.executable, "-m", "nabla", "models"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0 and "mlp" in r.stdout and "perceptron" in r.stdout
    r = subprocess.run([sys.executable, "-m", "nabla", "train", "nope", "--dataset", "digits"], capture_output=True,
                       text=True, env=env, timeout=60)
    assert r.returncode == 2 and "valid names: " in r.stderr


def test_models_and_datasets_lists(capsys):
    rc, out, _ = run(capsys, "models")
    names = [line.split()[0] for line in out.splitlines()]
    assert rc == 0 and {"mlp", "perceptron"} <= set(names) and names == sorted(names)
    rc, out, _ = run(capsys, "datasets")
    assert rc == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert {"digits", "mnist", "fashion_mnist", "cifar10", "xor", "spiral", "plane"} <= set(names)


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """The demo: `nabla train mlp --dataset digits` with its defaults."""
    pytest.importorskip("sklearn")
    out = tmp_path_factory.mktemp("run") / "digits"
    rc = main(["train", "mlp", "--dataset", "digits", "--out", str(out), "--quiet"])
    assert rc == 0
    return out


def test_train_digits_demo_reaches_97_percent_and_writes_outputs(digits_run):
    report = json.loads((digits_run / "metrics.json").read_text())
    assert report["test"]["accuracy"] >= 0.97, report["test"]
    assert report["epochs_run"] == 30 and len(report["history"]["val_accuracy"]) == 30
    assert report["config"]["lr"] == 3e-3 and report["train_samples"] == 1438 and report["test_samples"] == 359
    assert (digits_run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    state = nabla.train.load_checkpoint(digits_run / "checkpoint.safetensors")
    assert state["epoch"] == 30 and state["meta"]["model"] == "mlp" and state["meta"]["dataset"] == "digits"


def test_evaluate_gives_the_training_runs_numbers(digits_run, capsys):
    report = json.loads((digits_run / "metrics.json").read_text())
    rc, out, _ = run(capsys, "evaluate", digits_run / "checkpoint.safetensors", "--json")
    assert rc == 0
    got = json.loads(out)
    assert got["samples"] == 359
    assert got["accuracy"] == pytest.approx(report["test"]["accuracy"])
    assert got["loss"] == pytest.approx(report["test"]["loss"], rel=1e-5)


def test_predict_from_npy_csv_and_png(digits_run, capsys, tmp_path):
    from matplotlib.image import imsave

    _, test = nabla.data.datasets.digits()
    x, y = test.tensors[0].numpy()[:5], test.tensors[1].numpy()[:5]
    np.save(tmp_path / "x.npy", x)
    np.savetxt(tmp_path / "x.csv", x.reshape(5, -1), delimiter=",")
    imsave(tmp_path / "x.png", x[0, 0], cmap="gray", vmin=0, vmax=1)
    ckpt = digits_run / "checkpoint.safetensors"
    for f in ("x.npy", "x.csv"):
        rc, out, _ = run(capsys, "predict", ckpt, tmp_path / f, "--json")
        assert rc == 0
        rows = json.loads(out)
        assert [r["index"] for r in rows] == [0, 1, 2, 3, 4]
        assert sum(r["class"] == str(t) for r, t in zip(rows, y)) >= 4
        assert all(len(r["top"]) == 3 and abs(sum(t["probability"] for t in r["top"]) - 1) < 0.5 for r in rows)
    rc, out, _ = run(capsys, "predict", ckpt, tmp_path / "x.png")
    assert rc == 0 and out.startswith(f"0: {y[0]}")
    np.save(tmp_path / "bad.npy", np.zeros((3, 5)))
    rc, _, err = run(capsys, "predict", ckpt, tmp_path / "bad.npy")
    assert rc == 2 and "(3, 5)" in err and "(N, 64)" in err


def test_resume_continues_to_the_same_weights(tmp_path, capsys):
    common = ["--dataset", "circle", "--seed", "3", "--batch-size", "16", "-q", "-a", "hidden=8,8", "-a", "dropout=0.1"]
    assert main(["train", "mlp", *common, "--epochs", "4", "--out", str(tmp_path / "a")]) == 0
    assert main(["train", "mlp", *common, "--epochs", "2", "--out", str(tmp_path / "b")]) == 0
    assert main(["train", "mlp", *common, "--epochs", "4", "--out", str(tmp_path / "b"), "--resume"]) == 0
    capsys.readouterr()
    a = nabla.load(tmp_path / "a" / "checkpoint.safetensors")["model"]
    b = nabla.load(tmp_path / "b" / "checkpoint.safetensors")["model"]
    for k in a:
        assert a[k].numpy().tobytes() == b[k].numpy().tobytes(), k
    report = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert len(report["history"]["loss"]) == 4


def test_perceptron_and_regression(tmp_path, capsys):
    rc, out, _ = run(capsys, "train", "perceptron", "--dataset", "gauss", "-q", "--out", tmp_path / "p")
    assert rc == 0 and json.loads((tmp_path / "p" / "metrics.json").read_text())["test"]["accuracy"] >= 0.95
    rc, _, err = run(capsys, "train", "perceptron", "--dataset", "plane", "-q", "--out", tmp_path / "q")
    assert rc == 2 and "cannot build perceptron for plane" in err
    rc, out, _ = run(capsys, "train", "mlp", "--dataset", "plane", "-q", "--out", tmp_path / "r")
    assert rc == 0 and json.loads((tmp_path / "r" / "metrics.json").read_text())["test"]["r2"] > 0.9
    (tmp_path / "pt.csv").write_text("0.5,0.5\n-0.5,-0.5\n")
    rc, out, _ = run(capsys, "predict", tmp_path / "r" / "checkpoint.safetensors", tmp_path / "pt.csv")
    values = [float(line.split(": ")[1]) for line in out.splitlines()]
    assert rc == 0 and values[0] > 0.3 and values[1] < -0.3


@pytest.mark.parametrize("argv, message", [
    (["train", "lenet99", "--dataset", "digits"], "unknown model 'lenet99'; valid names: "),
    (["train", "mlp", "--dataset", "imagenet"], "unknown data set 'imagenet'; valid names: "),
    (["train", "mlp", "--dataset", "digits", "--optimizer", "adamm"], "unknown optimizer 'adamm'"),
    (["train", "mlp", "--dataset", "digits", "--split", "test"], "needs --holdout"),
    (["train", "mlp", "--dataset", "digits", "-a", "hiden=3"], "has no argument 'hiden'"),
    (["train", "mlp", "--dataset", "digits", "--resume", "/nonexistent/ckpt"], "no checkpoint at"),
    (["train", "mlp", "--dataset", "digits", "--device", "cuda:0"], "cuda"),
])
def test_usage_errors_exit_2(capsys, monkeypatch, tmp_path, argv, message):
    monkeypatch.chdir(tmp_path)  # runs/MODEL-DATASET of an earlier `make demo` must not answer first
    rc, _, err = run(capsys, *argv)
    assert rc == 2 and message in err


@pytest.mark.parametrize("flag, value, message", [
    ("--epochs", "-1", "must be > 0"), ("--epochs", "two", "whole number"), ("--lr", "0", "> 0"),
    ("--lr", "-0.1", "> 0"), ("--lr", "nan", "finite"), ("--batch-size", "0", "must be > 0"),
])
def test_invalid_numbers_are_usage_errors(capsys, flag, value, message):
    with pytest.raises(SystemExit) as e:
        main(["train", "mlp", "--dataset", "digits", flag, value])
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_checkpoint_from_another_model_names_keys_and_shapes(digits_run, capsys, tmp_path):
    rc, _, err = run(capsys, "evaluate", digits_run / "checkpoint.safetensors", "--model", "perceptron")
    assert rc == 2 and "unexpected keys" in err and "1.weight: checkpoint (128, 64), model (10, 64)" in err
    other = ["train", "mlp", "--dataset", "digits", "-q", "--epochs", "1", "-a", "hidden=32,", "--out", tmp_path,
             "--resume", digits_run / "checkpoint.safetensors"]
    rc, _, err = run(capsys, *other)
    assert rc == 2 and "trained with -a (none), not hidden=32" in err and "another --out" in err
    nabla.save({"w": nabla.zeros(2)}, tmp_path / "plain.safetensors")
    rc, _, err = run(capsys, "evaluate", tmp_path / "plain.safetensors")
    assert rc == 2 and "not a nabla training checkpoint" in err


def test_missing_data_offline_says_what_to_download_and_where(capsys, tmp_path, monkeypatch):
    def offline(*a, **k):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr("urllib.request.urlopen", offline)
    rc, _, err = run(capsys, "train", "mlp", "--dataset", "mnist", "--data-dir", tmp_path, "-q")
    assert rc == 1
    assert "train-images-idx3-ubyte.gz" in err and str(tmp_path) in err and "--data-dir" in err
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (tmp_path / name).write_bytes(b"")
    rc, _, err = run(capsys, "train", "mlp", "--dataset", "mnist", "--data-dir", tmp_path, "-q")
    assert rc == 1 and "--split test --holdout 2000" in err


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_MNIST.exists(), reason="needs ../shared/datasets/mnist (the MNIST test set)")
def test_mnist_acceptance_mlp_reaches_96_percent_on_held_out_2000(tmp_path, capsys):
    rc = main(["train", "mlp", "--dataset", "mnist", "--data-dir", str(SHARED_MNIST), "--split", "test",
               "--holdout", "2000", "--epochs", "20", "--batch-size", "32", "-a", "hidden=512,256",
               "-a", "dropout=0.3", "--out", str(tmp_path), "-q"])
    assert rc == 0
    report = json.loads((tmp_path / "metrics.json").read_text())
    assert report["train_samples"] == 8000 and report["test_samples"] == 2000
    assert report["test"]["accuracy"] >= 0.96, report["test"]


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_MNIST.exists(), reason="needs ../shared/datasets/mnist (the MNIST test set)")
def test_mnist_acceptance_lenet5_reaches_98_percent_within_10_epochs(tmp_path):
    """Issue 5: `nabla train lenet5 --dataset mnist` on the 8,000/2,000 split with the data set's defaults
    (Adam, lr 2e-3 with a cosine schedule, 10 epochs, batch 64)."""
    rc = main(["train", "lenet5", "--dataset", "mnist", "--data-dir", str(SHARED_MNIST), "--split", "test",
               "--holdout", "2000", "--out", str(tmp_path), "-q"])
    assert rc == 0
    report = json.loads((tmp_path / "metrics.json").read_text())
    assert report["epochs_run"] == 10 and report["config"]["schedule"] == "cosine"
    assert report["test"]["accuracy"] >= 0.98, report["test"]
