"""`nabla train|evaluate|sample` for the generative models, run as the real command (`python -m nabla`)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nabla

SRC = Path(__file__).resolve().parents[2] / "src"
SHARED_MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "mnist"


def nabla_cmd(*argv, timeout=300):
    env = dict(os.environ, PYTHONPATH=str(SRC), OPENBLAS_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "nabla", *map(str, argv)], capture_output=True, text=True, env=env,
                          timeout=timeout)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One short run per kind on the 8x8 digits: a VAE, a denoising AE and a conditional GAN."""
    root = tmp_path_factory.mktemp("gen")
    for name, extra in [("vae", ["-a", "hidden=64,"]), ("dae", ["-a", "hidden=64,"]),
                        ("cgan", ["-a", "width=8", "-a", "fc=32", "--batch-size", "32"])]:
        r = nabla_cmd("train", name, "--dataset", "digits", "--epochs", "2", "--out", root / name, "-q", *extra)
        assert r.returncode == 0, r.stderr
    return root


def test_train_writes_checkpoint_metrics_curves_and_a_grid_per_epoch(runs):
    for name, key in [("vae", "elbo"), ("dae", "mse"), ("cgan", "d_loss")]:
        out = runs / name
        names = {p.name for p in out.iterdir()}
        assert {"checkpoint.safetensors", "metrics.json", "curves.png", "samples_epoch001.png",
                "samples_epoch002.png"} <= names
        report = json.loads((out / "metrics.json").read_text())
        assert len(report["history"]["loss"]) == 2 and key in report["history"] and "val_" + key in report["history"]
        assert np.isfinite(report["test"]["loss"])
    vae = json.loads((runs / "vae" / "metrics.json").read_text())
    assert vae["config"]["batch_size"] == 128 and vae["config"]["lr"] == 1e-3  # the model's recipe (PyTorch's)
    gan = json.loads((runs / "cgan" / "metrics.json").read_text())
    assert gan["config"]["lr"] == 2e-4


def test_evaluate_prints_the_elbo_in_nats(runs):
    r = nabla_cmd("evaluate", runs / "vae")
    assert r.returncode == 0, r.stderr
    assert "elbo: -" in r.stdout  # a log-likelihood bound: negative nats per image
    r = nabla_cmd("evaluate", runs / "dae", "--json")
    assert r.returncode == 0 and "mse" in json.loads(r.stdout)


def test_sample_png_and_npy_deterministic_under_a_seed(runs, tmp_path):
    r = nabla_cmd("sample", runs / "vae", "--n", "12", "--out", tmp_path / "grid.png")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "grid.png").stat().st_size > 100
    for i in (1, 2):
        r = nabla_cmd("sample", runs / "vae", "--n", "5", "--seed", "3", "--out", tmp_path / f"s{i}.npy")
        assert r.returncode == 0
    a, b = np.load(tmp_path / "s1.npy"), np.load(tmp_path / "s2.npy")
    assert a.shape == (5, 1, 8, 8) and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
    np.testing.assert_array_equal(a, b)


def test_sample_with_labels_for_the_conditional_gan(runs, tmp_path):
    r = nabla_cmd("sample", runs / "cgan", "--n", "4", "--labels", "7", "--out", tmp_path / "sevens.npy")
    assert r.returncode == 0, r.stderr
    r = nabla_cmd("sample", runs / "cgan", "--n", "4", "--labels", "1,2,3,4", "--out", tmp_path / "x.npy")
    assert r.returncode == 0
    assert not np.array_equal(np.load(tmp_path / "sevens.npy"), np.load(tmp_path / "x.npy"))


@pytest.mark.parametrize("argv,message", [
    (["--labels", "3"], "not conditional"),
    (["--out", "grid.jpg"], ".png grid or a .npy"),
    (["--n", "0"], "must be > 0"),
])
def test_sample_bad_usage_exits_2(runs, tmp_path, argv, message):
    argv = [a if a != "grid.jpg" else tmp_path / a for a in argv]
    r = nabla_cmd("sample", runs / "vae", *argv)
    assert r.returncode == 2 and message in r.stderr


def test_sample_bad_labels_and_non_generative_checkpoint_exit_2(runs, tmp_path):
    r = nabla_cmd("sample", runs / "cgan", "--n", "3", "--labels", "1,2", "--out", tmp_path / "a.npy")
    assert r.returncode == 2 and "one label or --n" in r.stderr
    r = nabla_cmd("sample", runs / "cgan", "--labels", "12", "--out", tmp_path / "a.npy")
    assert r.returncode == 2 and "0..9" in r.stderr
    r = nabla_cmd("train", "mlp", "--dataset", "digits", "--epochs", "1", "--out", tmp_path / "mlp", "-q")
    assert r.returncode == 0
    r = nabla_cmd("sample", tmp_path / "mlp", "--out", tmp_path / "a.png")
    assert r.returncode == 2 and "does not draw samples" in r.stderr


def test_gan_resume_mid_run_is_bit_identical(tmp_path):
    """Both networks and both optimizers come back: 2 epochs, killed after the first (checkpoint), resumed."""
    common = ["--dataset", "digits", "-a", "width=8", "-a", "latent_size=8", "-a", "fc=32", "--batch-size", "64",
              "-q"]
    assert nabla_cmd("train", "dcgan", *common, "--epochs", "2", "--out", tmp_path / "full").returncode == 0
    assert nabla_cmd("train", "dcgan", *common, "--epochs", "1", "--out", tmp_path / "half").returncode == 0
    r = nabla_cmd("train", "--resume", "--out", tmp_path / "half", "--epochs", "2", "-q")
    assert r.returncode == 0, r.stderr
    full = nabla.load(tmp_path / "full" / "checkpoint.safetensors")
    half = nabla.load(tmp_path / "half" / "checkpoint.safetensors")
    assert set(full["optimizer"]) == {"generator", "discriminator"}
    for k, v in full["model"].items():
        np.testing.assert_array_equal(half["model"][k].numpy(), v.numpy(), err_msg=k)
    for net in ("generator", "discriminator"):
        for i, st in full["optimizer"][net]["state"].items():
            for field, v in st.items():
                np.testing.assert_array_equal(np.asarray(half["optimizer"][net]["state"][i][field]), np.asarray(v))


@pytest.mark.skipif(not SHARED_MNIST.exists(), reason="needs ../shared/datasets/mnist (the MNIST test set)")
def test_vae_on_mnist_one_epoch(tmp_path):
    r = nabla_cmd("train", "vae", "--dataset", "mnist", "--data-dir", SHARED_MNIST, "--split", "test", "--holdout",
                  "2000", "--epochs", "1", "--out", tmp_path / "vae", "-q")
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "vae" / "metrics.json").read_text())
    assert report["test"]["loss"] < 240  # nats per image after 63 steps (measured 215; about 543 untrained)
    r = nabla_cmd("sample", tmp_path / "vae", "--n", "8", "--out", tmp_path / "s.npy")
    assert r.returncode == 0 and np.load(tmp_path / "s.npy").shape == (8, 1, 28, 28)
