"""Lab 16 — epochs: what one is, and under- and over-fitting as a function of how many.

A ``Callback`` counts what :class:`nabla.train.Trainer` does in one epoch — optimizer steps (mini-
batches) and samples — to settle what an epoch is. Then an MLP is trained for many epochs on a small
MNIST training set, and after every epoch the whole training and validation sets are evaluated (eval
mode): few epochs underfit (both losses high), many overfit (the training loss keeps falling while the
validation loss rises). Validation accuracy is tracked too, because it need not turn when the loss does.
"""

from __future__ import annotations

import math

import numpy

import nabla
from nabla.data import TensorDataset
from nabla.nn import functional as F
from nabla.train import Callback, Trainer

from ._common import Data, evaluate, fmt, make_mlp, mnist_8k2k, seed_all
from .base import Lab, LabResult, Measurement, Verdict

BATCH, LR, WIDTH = 32, 1e-3, 512


class EpochRecorder(Callback):
    """Counts the steps and samples of each epoch and evaluates the full train and validation sets after it."""

    def __init__(self, data: Data) -> None:
        self.data = data
        self.steps, self.samples = [], []
        self.rows = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.steps.append(0)
        self.samples.append(0)

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.steps[-1] += 1
        self.samples[-1] += min(BATCH, len(self.data.y_train) - batch * BATCH)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        acc, loss = evaluate(self.model, self.data.x_train, self.data.y_train)
        self.rows["train_acc"].append(acc)
        self.rows["train_loss"].append(loss)
        acc, loss = evaluate(self.model, self.data.x_test, self.data.y_test)
        self.rows["val_acc"].append(acc)
        self.rows["val_loss"].append(loss)


def train_for(data: Data, seed: int, epochs: int) -> EpochRecorder:
    seed_all(seed)
    model = make_mlp([data.features, WIDTH, data.classes])
    trainer = Trainer(model, nabla.optim.Adam(model.parameters(), lr=LR), F.cross_entropy)
    recorder = EpochRecorder(data)
    trainer.fit(TensorDataset(nabla.tensor(data.x_train), nabla.tensor(data.y_train)), epochs=epochs,
                callbacks=[recorder], verbose=0, batch_size=BATCH)
    return recorder


def run(ctx) -> LabResult:
    n_train = 300 if ctx.quick else 1000
    data = mnist_8k2k(ctx.data_dir, n_train=n_train, n_test=500 if ctx.quick else 2000)
    epochs = 12 if ctx.quick else 60
    rows = {k: [] for k in ("steps_per_epoch", "samples_per_epoch", "best_epoch", "val_loss_1", "val_loss_best",
                            "val_loss_end", "train_loss_1", "train_loss_end", "val_acc_1", "val_acc_best_loss",
                            "val_acc_max", "val_acc_end", "best_acc_epoch")}
    curves = None
    for seed in ctx.progress(ctx.seeds, desc="seeds"):
        rec = train_for(data, seed, epochs)
        r = {k: numpy.array(v) for k, v in rec.rows.items()}
        best = int(r["val_loss"].argmin())
        rows["steps_per_epoch"].append(float(numpy.median(rec.steps)))
        rows["samples_per_epoch"].append(float(numpy.median(rec.samples)))
        rows["best_epoch"].append(best + 1)
        rows["val_loss_1"].append(r["val_loss"][0])
        rows["val_loss_best"].append(r["val_loss"][best])
        rows["val_loss_end"].append(r["val_loss"][-1])
        rows["train_loss_1"].append(r["train_loss"][0])
        rows["train_loss_end"].append(r["train_loss"][-1])
        rows["val_acc_1"].append(r["val_acc"][0])
        rows["val_acc_best_loss"].append(r["val_acc"][best])
        rows["val_acc_max"].append(r["val_acc"].max())
        rows["val_acc_end"].append(r["val_acc"][-1])
        rows["best_acc_epoch"].append(int(r["val_acc"].argmax()) + 1)
        curves = curves or rec.rows

    _figure(ctx, curves, data)
    expected_steps = math.ceil(n_train / BATCH)
    epoch_is_pass = all(s == expected_steps for s in rows["steps_per_epoch"]) and all(
        s == n_train for s in rows["samples_per_epoch"])
    underfit = all(v1 > vb * 1.5 for v1, vb in zip(rows["val_loss_1"], rows["val_loss_best"]))
    overfit_loss = all(ve > vb * 1.02 and b < epochs - 1 for ve, vb, b in
                       zip(rows["val_loss_end"], rows["val_loss_best"], rows["best_epoch"]))
    overfit_acc = all(ae < am - 0.01 for ae, am in zip(rows["val_acc_end"], rows["val_acc_max"]))
    if underfit and overfit_loss and overfit_acc:
        verdict, condition = Verdict.SUPPORTED, None
    elif underfit and overfit_loss:
        verdict, condition = Verdict.DEPENDS, (
            "too few epochs underfit and too many overfit in the validation loss, but validation accuracy does not "
            "fall by more than a point after its peak: the extra epochs make the model over-confident, not wrong "
            "more often")
    elif underfit:
        verdict, condition = Verdict.DEPENDS, (f"too few epochs underfit, but {epochs} epochs do not overfit")
    else:
        verdict, condition = Verdict.REFUTED, None
    reading = (
        f"{data.describe()}: nabla's Trainer runs {fmt(rows['steps_per_epoch'], 3)} optimizer steps and sees "
        f"{fmt(rows['samples_per_epoch'], 4)} samples per epoch at batch {BATCH} (ceil({n_train}/{BATCH}) = "
        f"{expected_steps}): an epoch is one pass over the training set. After 1 epoch the validation loss is "
        f"{fmt(rows['val_loss_1'])} (train {fmt(rows['train_loss_1'])}): underfit. It is lowest after epoch "
        f"{fmt(rows['best_epoch'], 2)} ({fmt(rows['val_loss_best'])}) and rises to {fmt(rows['val_loss_end'])} by "
        f"epoch {epochs} while the training loss falls to {fmt(rows['train_loss_end'])}. Validation accuracy: "
        f"{fmt(rows['val_acc_1'])} after 1 epoch, {fmt(rows['val_acc_best_loss'])} at the loss minimum, peak "
        f"{fmt(rows['val_acc_max'])} (epoch {fmt(rows['best_acc_epoch'], 2)}), {fmt(rows['val_acc_end'])} at the end.")
    notes_wrong = None
    if epoch_is_pass:
        notes_wrong = (f"Note 000 defines an epoch as 'the unit of performing one mini-batch' in backprop training. "
                       f"Measured in nabla's Trainer (as in Keras and PyTorch loops): one epoch = one pass over all "
                       f"{n_train} training samples = {expected_steps} mini-batches of {BATCH}; one mini-batch is one "
                       "step (iteration). Note 004 has it right.")
    measurements = [
        Measurement("trainer", "optimizer_steps_per_epoch", rows["steps_per_epoch"], "steps", None),
        Measurement("trainer", "samples_per_epoch", rows["samples_per_epoch"], "samples", None),
        Measurement("mlp", "epoch_of_lowest_val_loss", rows["best_epoch"], "epoch", None),
        Measurement("epoch_1", "val_loss", rows["val_loss_1"], "nats", "lower"),
        Measurement("lowest", "val_loss", rows["val_loss_best"], "nats", "lower"),
        Measurement(f"epoch_{epochs}", "val_loss", rows["val_loss_end"], "nats", "lower"),
        Measurement("epoch_1", "train_loss", rows["train_loss_1"], "nats", "lower"),
        Measurement(f"epoch_{epochs}", "train_loss", rows["train_loss_end"], "nats", "lower"),
        Measurement("epoch_1", "val_accuracy", rows["val_acc_1"], "", "higher"),
        Measurement("at_lowest_val_loss", "val_accuracy", rows["val_acc_best_loss"], "", "higher"),
        Measurement("peak", "val_accuracy", rows["val_acc_max"], "", "higher"),
        Measurement(f"epoch_{epochs}", "val_accuracy", rows["val_acc_end"], "", "higher"),
        Measurement("mlp", "epoch_of_peak_val_accuracy", rows["best_acc_epoch"], "epoch", None),
    ]
    return LabResult(measurements, verdict, condition, reading, notes_wrong,
                     extra={"data": data.describe(), "data_note": data.note, "epochs": epochs, "batch_size": BATCH,
                            "lr": LR, "width": WIDTH, "epoch_is_one_pass": epoch_is_pass, "curves_seed0": curves})


def _figure(ctx, curves: dict, data: Data) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    ep = numpy.arange(1, len(curves["val_loss"]) + 1)
    best = int(numpy.argmin(curves["val_loss"])) + 1
    ax = axes[0]
    ax.plot(ep, curves["train_loss"], label="train")
    ax.plot(ep, curves["val_loss"], label="validation")
    ax.axvline(best, color="gray", ls=":", label=f"lowest validation loss (epoch {best})")
    ax.axvspan(0.5, min(3, best) + 0.5, color="C1", alpha=0.1, label="underfitting")
    ax.axvspan(best + 0.5, ep[-1], color="C3", alpha=0.08, label="overfitting (by loss)")
    ax.set(xlabel="epoch (one pass over the training set)", ylabel="cross-entropy", yscale="log",
           title=f"{data.name}, {len(data.y_train)} training images (seed {ctx.seeds[0]})")
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.plot(ep, curves["train_acc"], label="train")
    ax.plot(ep, curves["val_acc"], label="validation")
    ax.axvline(best, color="gray", ls=":")
    ax.set(xlabel="epoch", ylabel="accuracy", title="accuracy over the same epochs")
    ax.legend(fontsize=8)
    fig.tight_layout()
    ctx.savefig(fig, "epochs")


LAB = Lab(
    name="epochs",
    title="Epochs: what one is, and under- vs over-fitting",
    claim=("An epoch is how many times the whole data set is used for training; too few epochs underfit, too many "
           "overfit (note 004). Note 000 instead defines an epoch as one mini-batch of backprop training."),
    note="004_7e784a9328faeb63.txt,000_a64c7b5953f5f1e7.txt",
    setup=("MNIST, 1,000 training and 2,000 validation images (digits if absent), MLP 784-512-10 ReLU, Adam lr 1e-3, "
           "batch 32, 60 epochs with nabla.train.Trainer. A callback counts the optimizer steps and samples of "
           "each epoch and evaluates the whole training and validation sets after it. Only the number of epochs "
           "varies (read off one run)."),
    seeds=3,
    run=run,
)
