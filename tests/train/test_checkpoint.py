"""Checkpoint and resume: a run SIGKILLed mid-epoch and resumed ends bit-identical to an uninterrupted one."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import nabla
from nabla import nn, optim
from nabla.data import DataLoader, TensorDataset
from nabla.train import BackupAndRestore, EarlyStopping, Trainer, load_checkpoint, save_checkpoint

SCRIPT = Path(__file__).with_name("resume_script.py")
SRC = Path(__file__).resolve().parents[2] / "src"


def _run(*args, **kw):
    env = dict(os.environ, PYTHONPATH=str(SRC), OPENBLAS_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, str(SCRIPT), *map(str, args)], env=env, **kw)


def _weights(path):
    return {k: v.numpy() for k, v in nabla.load(path)["model"].items()}


def test_sigkill_mid_epoch_then_resume_is_bit_identical(tmp_path):
    ref = _run(tmp_path / "ref.ckpt", tmp_path / "ref.out")
    assert ref.wait(120) == 0

    ckpt, out, progress = tmp_path / "run.ckpt", tmp_path / "run.out", tmp_path / "progress"
    child = _run(ckpt, out, "--progress", progress, "--delay", "0.02")
    deadline = time.time() + 120
    # Kill once a checkpoint exists and the run is somewhere inside epoch 2 (15 batches per epoch,
    # checkpoints every 7 batches), i.e. between checkpoints and mid-epoch.
    while time.time() < deadline:
        if child.poll() is not None:
            pytest.fail("the training run finished before it could be killed")
        text = progress.read_text() if progress.exists() else ""
        if ckpt.exists() and text.count(" ") == 2 and int(text.split()[2]) >= 24:
            break
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    assert child.wait(30) == -signal.SIGKILL
    assert not out.exists()
    state = load_checkpoint(ckpt)
    assert (state["epoch"], state["step"]) != (0, 0) and state["step"] > 0, "the kill should land mid-epoch"

    resumed = _run(ckpt, out)
    assert resumed.wait(120) == 0
    a, b = _weights(tmp_path / "ref.out"), _weights(out)
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].tobytes() == b[k].tobytes(), f"{k} differs after resuming"
    ha, hb = nabla.load(tmp_path / "ref.out")["history"], nabla.load(out)["history"]
    assert ha["lr"] == hb["lr"] and len(hb["loss"]) == 6
    assert ha["loss"] == pytest.approx(hb["loss"], rel=0, abs=0)  # running epoch loss restored too


def _setup(seed=0):
    nabla.manual_seed(seed)
    r = np.random.default_rng(3)
    x = r.normal(size=(96, 5)).astype(np.float32)
    y = (x.sum(1) > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Dropout(0.2), nn.Linear(8, 2))
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1, momentum=0.9), nn.CrossEntropyLoss())
    return trainer, DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)


def test_resume_after_finished_epochs_in_process(tmp_path):
    t1, data = _setup()
    t1.fit(data, epochs=4, verbose=0)
    ref = {k: v.numpy().copy() for k, v in t1.model.state_dict().items()}

    t2, data = _setup()
    t2.fit(data, epochs=2, verbose=0, callbacks=[BackupAndRestore(tmp_path / "c")])
    t3, data = _setup(seed=123)  # a fresh process would start from another state: the checkpoint wins
    h = t3.fit(data, epochs=4, verbose=0, callbacks=[b := BackupAndRestore(tmp_path / "c")])
    assert b.resumed_from == (2, 0)
    assert h.epoch == [0, 1, 2, 3]
    for k, v in t3.model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), ref[k])


def test_early_stopped_run_stays_stopped(tmp_path):
    t, data = _setup()
    es = EarlyStopping(monitor="loss", patience=0, min_delta=10.0)  # stops after the 2nd epoch
    t.fit(data, epochs=5, verbose=0, callbacks=[es, BackupAndRestore(tmp_path / "c")])
    assert len(t.history.epoch) == 2
    t2, data = _setup()
    h = t2.fit(data, epochs=5, verbose=0, callbacks=[EarlyStopping(monitor="loss", patience=0, min_delta=10.0),
                                                     BackupAndRestore(tmp_path / "c")])
    assert h.epoch == [0, 1]


def test_checkpoint_errors(tmp_path):
    t, data = _setup()
    nabla.save(t.model.state_dict(), tmp_path / "plain.safetensors")
    with pytest.raises(ValueError, match="not a nabla training checkpoint"):
        load_checkpoint(tmp_path / "plain.safetensors")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "missing")
    save_checkpoint(tmp_path / "c", t, epoch=1)
    other = Trainer(nn.Sequential(nn.Linear(5, 4), nn.Linear(4, 2)), None, nn.CrossEntropyLoss())
    with pytest.raises(ValueError, match="does not fit this model") as e:
        other.fit(data, epochs=2, verbose=0, callbacks=[BackupAndRestore(tmp_path / "c")])
    assert "0.weight" in str(e.value)
    with pytest.raises(ValueError, match="save_freq"):
        BackupAndRestore(tmp_path / "c", save_freq=0)


def test_rng_state_roundtrip_through_a_file(tmp_path):
    nabla.manual_seed(5)
    nabla.rand(3)
    state = nabla.get_rng_state()
    a = nabla.rand(4).numpy()
    nabla.save({"rng": state}, tmp_path / "r")
    nabla.manual_seed(99)
    nabla.set_rng_state(nabla.load(tmp_path / "r")["rng"])
    np.testing.assert_array_equal(nabla.rand(4).numpy(), a)
    with pytest.raises(ValueError, match="get_rng_state"):
        nabla.set_rng_state({"x": 1})
