"""A run's training, frames and divergence; export: the generated code trains the same network."""

from __future__ import annotations

import base64
import os
import struct
import subprocess
import sys
import zlib

import numpy
import pytest

import nabla
from nabla.playground.config import parse_config
from nabla.playground.datasets import make_data, parse_csv
from nabla.playground.export import generate_code, state_from_bytes, weights_bytes
from nabla.playground.network import BOUNDARY_GRID, NEURON_GRID, Run, build_model
from nabla.playground.thumbnail import PNG_SIGNATURE, boundary_png


def make_run(upload=None, **settings) -> Run:
    c = parse_config(settings)
    return Run(c, make_data(c.problem, c.dataset, c.n_points, c.noise, c.test_ratio, c.seed, c.classes, upload))


def test_spiral_test_loss_falls():
    run = make_run(dataset="spiral", noise=0.0, layers=[8, 8], activation="relu", optimizer="adam",
                   learning_rate=0.01, features=["x1", "x2", "x1^2", "x2^2", "sin(x1)", "sin(x2)"])
    start = run.losses()[1]
    for _ in range(40):
        assert run.train_epoch()
    train_loss, test_loss, train_acc, test_acc = run.losses()
    assert test_loss < 0.5 * start and test_acc > 0.85 and run.epoch == 40 and run.steps == 40 * 25


@pytest.mark.parametrize("settings", [
    dict(problem="multiclass", dataset="gauss", classes=4, batch_norm=True, dropout=0.2, activation="relu"),
    dict(problem="regression", dataset="bumps", regularization="l1", reg_rate=0.001, activation="elu"),
    dict(dataset="circle", layers=[], optimizer="rmsprop", activation="sigmoid"),
    dict(dataset="xor", layers=[8, 8, 8, 8, 8, 8], optimizer="nadam", activation="leaky_relu", batch_size=1),
])
def test_frames_carry_everything_the_page_draws(settings):
    run = make_run(**settings)
    run.train_epoch()
    f = run.frame("playing")
    layers = run.config.layers
    assert f["status"] == "playing" and f["epoch"] == 1 and f["point"][0] == 1
    assert len(f["grad_norms"]) == len(layers) + 1 and all(numpy.isfinite(f["grad_norms"]))
    assert [len(maps) for maps in f["neurons"]] == list(layers)
    for maps in f["neurons"]:
        assert all(len(base64.b64decode(m)) == NEURON_GRID ** 2 for m in maps)
    b = f["boundary"]
    assert len(base64.b64decode(b["values"])) == BOUNDARY_GRID ** 2
    if run.data.problem == "multiclass":
        labels = numpy.frombuffer(base64.b64decode(b["labels"]), numpy.uint8)
        assert labels.max() < 4 and b["classes"] == 4
    if run.data.problem == "regression":
        assert f["train_acc"] is None and b["lo"] < b["hi"]
    assert run.take_grad_norms() == f["grad_norms"]  # no step since the frame: the same numbers


def test_divergence_is_detected_and_reported():
    run = make_run(problem="regression", dataset="plane", optimizer="sgd", learning_rate=10.0, activation="relu",
                   layers=[8, 8, 8], batch_size=1)
    for _ in range(20):
        if not run.train_epoch():
            break
    assert run.diverged and "Lower the learning rate" in run.diverged
    f = run.frame("playing")
    assert f["status"] == "diverged" and f["message"] == run.diverged
    assert not run.train_epoch()
    assert run.metrics()["diverged"] is True
    run.reset()
    assert run.diverged is None and run.epoch == 0 and run.history == []


def test_build_model_is_seeded_and_shaped():
    a = build_model(3, (4, 2), "tanh", 2, batch_norm=True, dropout=0.1, seed=5)
    b = build_model(3, (4, 2), "tanh", 2, batch_norm=True, dropout=0.1, seed=5)
    names = [type(m).__name__ for m in a]
    assert names == ["Linear", "BatchNorm1d", "Tanh", "Dropout", "Linear", "BatchNorm1d", "Tanh", "Dropout", "Linear"]
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and numpy.array_equal(va.numpy(), vb.numpy())
    assert not numpy.array_equal(a[0].weight.detach().numpy(),
                                 build_model(3, (4, 2), "tanh", 2, seed=6)[0].weight.detach().numpy())


def _exec(code: str) -> dict:
    ns = {"__name__": "exported"}
    exec(compile(code, "exported.py", "exec"), ns)
    return ns


@pytest.mark.parametrize("settings", [
    dict(dataset="spiral", layers=[6, 4], optimizer="momentum", regularization="l2", reg_rate=0.001, batch_size=7,
         features=["x1", "x2", "x1*x2"]),
    dict(problem="multiclass", dataset="circle", classes=3, batch_norm=True, optimizer="adam", learning_rate=0.01),
    dict(problem="regression", dataset="bumps", regularization="l1", reg_rate=0.0001, optimizer="adagrad"),
])
def test_generated_code_trains_the_same_network(settings):
    run = make_run(**settings)
    for _ in range(3):
        run.train_epoch()
    ns = _exec(generate_code(run.config, 3))
    for _ in range(3):
        ns["train_epoch"]()
    losses = ns["evaluate"]()
    train_loss, test_loss, _, _ = run.losses()
    assert losses["train"] == pytest.approx(train_loss, rel=1e-5)
    assert losses["test"] == pytest.approx(test_loss, rel=1e-5)
    # the exported weights load into the generated model and give the run's predictions
    ns["model"].load_state_dict(state_from_bytes(weights_bytes(run.model)))
    ns["model"].eval()
    run.model.eval()
    with nabla.no_grad():
        numpy.testing.assert_allclose(ns["model"](run.x_test).numpy(), run.model(run.x_test).numpy(), rtol=1e-6)


def test_generated_code_for_an_upload_embeds_the_points():
    rng = numpy.random.default_rng(0)
    x = rng.uniform(-3, 3, (60, 2))
    text = "\n".join(f"{a},{b},{int(a * b > 0)}" for a, b in x).encode()
    up = parse_csv(text)
    run = make_run(upload=up, dataset="upload", upload_id="abc", layers=[4])
    run.train_epoch()
    ns = _exec(generate_code(run.config, 1, up))
    ns["train_epoch"]()
    assert ns["evaluate"]()["test"] == pytest.approx(run.losses()[1], rel=1e-5)


def test_generated_script_runs_on_its_own(tmp_path):
    run = make_run(dataset="xor", layers=[4])
    path = tmp_path / "experiment.py"
    path.write_text(generate_code(run.config, 2))
    src = os.path.join(os.path.dirname(nabla.__file__), "..")
    env = dict(os.environ, PYTHONPATH=os.path.abspath(src))
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "after 2 epochs" in out.stdout and "test: loss" in out.stdout and "accuracy" in out.stdout


def _read_png(data: bytes) -> numpy.ndarray:
    assert data.startswith(PNG_SIGNATURE)
    pos, chunks = 8, {}
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        chunks[kind] = body
        pos += 12 + n
    w, h, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 2) and b"IEND" in chunks
    raw = zlib.decompress(chunks[b"IDAT"])
    rows = [raw[y * (3 * w + 1) + 1:(y + 1) * (3 * w + 1)] for y in range(h)]
    return numpy.frombuffer(b"".join(rows), numpy.uint8).reshape(h, w, 3)


def test_thumbnail_is_a_valid_png_of_the_boundary():
    values = numpy.zeros((4, 4))
    values[:, 2:] = 1.0
    img = _read_png(boundary_png(values, scale=2))
    assert img.shape == (8, 8, 3)
    assert tuple(img[0, 0]) == (245, 147, 34) and tuple(img[0, 7]) == (8, 119, 189)
    run = make_run(dataset="gauss", layers=[2])
    assert _read_png(boundary_png(run.boundary_values())).shape == (2 * BOUNDARY_GRID, 2 * BOUNDARY_GRID, 3)
    with pytest.raises(ValueError, match="uint8"):
        from nabla.playground.thumbnail import png_bytes
        png_bytes(numpy.zeros((2, 2, 3)))
