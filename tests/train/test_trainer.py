"""Trainer, Keras-style compile/fit and the callbacks."""

import csv
import math

import numpy
import pytest

import nabla
import nabla.nn as nn
from nabla.data import DataLoader, TensorDataset
from nabla.optim.lr_scheduler import StepLR
from nabla.train import (
    Callback,
    CSVLogger,
    EarlyStopping,
    History,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
    Trainer,
)

pytest.importorskip("sklearn")


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


@pytest.fixture(scope="module")
def digits():
    from nabla.data.datasets import digits
    return digits()


def tiny(n=64, seed=0):
    rng = numpy.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(numpy.float32)
    y = (x @ numpy.array([1.0, -2.0, 0.5, 3.0], dtype=numpy.float32))[:, None]
    return x, y


class Scripted(Callback):
    """Puts a synthetic ``score`` in the logs and marks the weights with the epoch number."""

    def __init__(self, scores):
        self.scores = scores

    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = self.scores[epoch]
        self.model.weight._data[...] = epoch


# ------------------------------------------------------------------------------ the digits MLP

def test_compile_fit_evaluate_digits(digits):
    tr, te = digits
    nabla.manual_seed(0)
    model = mlp()
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"], lr=3e-3)
    hist = model.fit(tr, epochs=10, batch_size=32, verbose=0)
    assert isinstance(hist, History)
    assert hist.epoch == list(range(10))
    assert set(hist.history) == {"loss", "accuracy"}
    assert len(hist.history["loss"]) == 10 and hist.history["loss"][-1] < hist.history["loss"][0]
    res = model.evaluate(te)
    assert res["accuracy"] >= 0.95
    pred = model.predict(te)
    assert pred.shape == (len(te), 10)
    acc = (pred.numpy().argmax(1) == te.tensors[1].numpy()).mean()
    assert abs(acc - res["accuracy"]) < 1e-9
    assert model.training  # predict/evaluate restore train mode


def test_trainer_path_digits(digits):
    tr, te = digits
    nabla.manual_seed(1)
    model = mlp()
    trainer = Trainer(model, nabla.optim.Adam(model.parameters(), lr=3e-3), nn.CrossEntropyLoss(),
                      metrics=["accuracy"])
    hist = trainer.fit(DataLoader(tr, batch_size=32, shuffle=True), epochs=10, val_data=DataLoader(te, 128),
                       verbose=0)
    assert set(hist.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 10 for v in hist.history.values())
    assert hist.history["val_accuracy"][-1] >= 0.95
    assert trainer.evaluate(te)["accuracy"] == pytest.approx(hist.history["val_accuracy"][-1])
    # a Dataset works too (batched by fit's batch_size)
    h2 = trainer.fit(tr, epochs=1, batch_size=64, verbose=0)
    assert h2.epoch == [0]


def test_validation_split_and_data():
    x, y = tiny(100)
    nabla.manual_seed(0)
    model = nn.Linear(4, 1)
    model.compile("sgd", "mse", metrics=["mae"], lr=0.05)
    h = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.2, verbose=0)
    assert set(h.history) == {"loss", "mae", "val_loss", "val_mae"}
    # the validation part is the last 20 samples
    last = model.evaluate(x[80:], y[80:])
    assert last["loss"] == pytest.approx(h.history["val_loss"][-1], rel=1e-5)
    h = model.fit(x[:80], y[:80], epochs=2, validation_data=(x[80:], y[80:]), verbose=0)
    assert len(h.history["val_loss"]) == 2
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(x, y, validation_split=1.5, verbose=0)


def test_fit_before_compile_and_predict_without_compile():
    model = nn.Linear(4, 1)
    x, y = tiny(10)
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(x, y, verbose=0)
    assert model.predict(x, batch_size=3).shape == (10, 1)


# ------------------------------------------------------------------------------ callbacks

def _scripted_fit(scores, epochs, *cbs):
    x, y = tiny(32)
    model = nn.Linear(4, 1)
    model.compile("sgd", "mse", lr=0.0)
    return model, model.fit(x, y, epochs=epochs, callbacks=[Scripted(scores), *cbs], verbose=0)


def test_early_stopping_stops_and_restores():
    es = EarlyStopping(monitor="score", patience=1, restore_best_weights=True)
    model, h = _scripted_fit([3, 2, 1, 2, 3, 4, 5, 6], 8, es)
    assert h.epoch == [0, 1, 2, 3, 4]
    assert es.stopped_epoch == 4 and es.best_epoch == 2
    numpy.testing.assert_array_equal(model.weight.detach().numpy(), 2.0)


def test_early_stopping_restores_when_epochs_run_out():
    es = EarlyStopping(monitor="score", patience=5, restore_best_weights=True)
    model, h = _scripted_fit([3, 2, 1, 2], 4, es)
    assert h.epoch == [0, 1, 2, 3] and es.stopped_epoch is None
    numpy.testing.assert_array_equal(model.weight.detach().numpy(), 2.0)  # not 3: the best epoch's weights


def test_early_stopping_mode_auto_max_and_no_restore():
    es = EarlyStopping(monitor="val_accuracy", patience=0)
    assert es.mode == "max"
    es = EarlyStopping(monitor="score", patience=0, mode="max")
    model, h = _scripted_fit([1, 2, 2, 5], 4, es)
    assert h.epoch == [0, 1, 2]
    numpy.testing.assert_array_equal(model.weight.detach().numpy(), 2.0)  # last epoch's weights kept


def test_model_checkpoint_save_best_only(tmp_path):
    pattern = str(tmp_path / "ckpt-{epoch}.safetensors")
    best = str(tmp_path / "best.safetensors")
    ck = ModelCheckpoint(pattern, monitor="score", save_best_only=True)
    ck_best = ModelCheckpoint(best, monitor="score", save_best_only=True, mode="min")
    model, _ = _scripted_fit([3, 1, 2, 0.5, 0.7], 5, ck, ck_best)
    assert sorted(p.name for p in tmp_path.glob("ckpt-*")) == ["ckpt-1.safetensors", "ckpt-2.safetensors",
                                                                 "ckpt-4.safetensors"]
    assert len(ck_best.saved) == 3
    fresh = nn.Linear(4, 1)
    fresh.load_state_dict(nabla.load(best))
    numpy.testing.assert_array_equal(fresh.weight.detach().numpy(), 3.0)  # epoch 3 had the best score
    # without save_best_only: every epoch
    every = ModelCheckpoint(str(tmp_path / "e{epoch}.safetensors"), monitor="score")
    _scripted_fit([1, 2, 3], 3, every)
    assert len(list(tmp_path.glob("e*.safetensors"))) == 3


def test_csv_logger(tmp_path):
    path = tmp_path / "log.csv"
    x, y = tiny(40)
    model = nn.Linear(4, 1)
    model.compile("adam", "mse", metrics=["mae"])
    model.fit(x, y, epochs=3, validation_split=0.25, callbacks=[CSVLogger(str(path))], verbose=0)
    rows = list(csv.DictReader(open(path)))
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    assert set(rows[0]) == {"epoch", "loss", "mae", "val_loss", "val_mae"}
    assert all(math.isfinite(float(r["val_loss"])) for r in rows)


def test_terminate_on_nan():
    x, y = tiny(64)
    x = x * 100
    model = nn.Linear(4, 1)
    model.compile("sgd", "mse", lr=1e6)
    t = TerminateOnNaN()
    h = model.fit(x, y, epochs=20, batch_size=8, callbacks=[t], verbose=0)
    assert t.terminated_at is not None
    assert len(h.epoch) < 20
    assert not math.isfinite(h.history["loss"][-1])


def test_lr_scheduler_callback():
    x, y = tiny(32)
    model = nn.Linear(4, 1)
    opt = nabla.optim.SGD(model.parameters(), lr=0.1)
    model.compile(opt, "mse")
    h = model.fit(x, y, epochs=5, callbacks=[LearningRateScheduler(StepLR(opt, step_size=2, gamma=0.5))],
                  verbose=0)
    assert h.history["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.025)  # stepped 5 times


def test_reduce_lr_on_plateau_callbacks():
    # the torch scheduler wrapped: it gets the monitored value
    x, y = tiny(32)
    model = nn.Linear(4, 1)
    opt = nabla.optim.SGD(model.parameters(), lr=0.0)
    model.compile(opt, "mse")
    opt.param_groups[0]["lr"] = 1.0
    sched = nabla.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)
    h = model.fit(x, y, epochs=4, callbacks=[Scripted([1, 1, 1, 1]), LearningRateScheduler(sched, monitor="score")],
                  verbose=0)
    assert h.history["lr"] == pytest.approx([1.0, 1.0, 0.5, 0.25])
    # the convenience callback
    opt.param_groups[0]["lr"] = 1.0
    cb = ReduceLROnPlateau(monitor="score", factor=0.1, patience=1)
    h = model.fit(x, y, epochs=4, callbacks=[Scripted([3, 2, 2, 2]), cb], verbose=0)
    assert h.history["lr"] == pytest.approx([1.0, 1.0, 1.0, 1.0])  # cut at the end of epoch 3
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)


def test_progress_bar_non_tty(capsys):
    x, y = tiny(32)
    model = nn.Linear(4, 1)
    model.compile("adam", "mse", metrics=["mae"])
    model.fit(x, y, epochs=2, verbose=1)
    err = capsys.readouterr().err
    assert "Epoch 1/2" in err and "Epoch 2/2" in err and "mae" in err
    model.fit(x, y, epochs=2, verbose=0)
    out = capsys.readouterr()
    assert out.err == "" and out.out == ""


# ------------------------------------------------------------------------------ names and subclassing

def test_unknown_names_list_valid_ones():
    model = nn.Linear(4, 1)
    with pytest.raises(ValueError, match="valid names:.*adam.*sgd"):
        model.compile(optimizer="adamm", loss="mse")
    with pytest.raises(ValueError, match="valid names:.*bce_with_logits.*cross_entropy.*mse"):
        model.compile(optimizer="adam", loss="msee")
    with pytest.raises(ValueError, match="valid names:.*accuracy"):
        model.compile(optimizer="adam", loss="mse", metrics=["acuracy"])


def test_loss_and_optimizer_objects():
    x, y = tiny(32)
    model = nn.Linear(4, 1)
    calls = []

    def loss(out, target):
        calls.append(1)
        return ((out - target) ** 2).mean()

    model.compile(optimizer=nabla.optim.Adam, loss=loss, lr=0.01)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert len(calls) == 4
    for name in ("bce", "bce_with_logits", "mae", "cross_entropy", "mse"):
        model.compile("sgd", name)


def test_custom_trainer_train_step():
    class Counting(Trainer):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self.steps = 0

        def train_step(self, batch):
            self.steps += 1
            x, y = batch
            self.optimizer.zero_grad()
            loss = self.loss_fn(self.model(x), y) + 0.0 * sum((p * p).sum() for p in self.model.parameters())
            loss.backward()
            self.optimizer.step()
            return {"loss": loss.item(), "extra": 1.0}

    x, y = tiny(40)
    model = nn.Linear(4, 1)
    t = Counting(model, nabla.optim.SGD(model.parameters(), lr=0.05), nn.MSELoss())
    h = t.fit(TensorDataset(x, y), epochs=6, batch_size=10, verbose=0)
    assert t.steps == 24
    assert h.history["loss"][-1] < h.history["loss"][0]
