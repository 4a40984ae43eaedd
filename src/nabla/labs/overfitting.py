"""Lab 12 — overfitting: model size, the epoch where validation loss turns, and early stopping.

A one-hidden-layer MLP is trained on a deliberately small MNIST training set (so that a big model can
memorise it) with the Keras-style :class:`nabla.train.Trainer`. Only the width of the hidden layer
changes; train and validation accuracy/loss are logged every epoch. For one width, the epoch with the
lowest validation loss is where overfitting starts. Then the same run (same initial weights and
shuffles) is repeated with ``EarlyStopping(monitor="val_loss", restore_best_weights=True)`` and
compared with training to the end.
"""

from __future__ import annotations

import numpy

import nabla
from nabla.data import TensorDataset
from nabla.nn import functional as F
from nabla.train import EarlyStopping, Trainer

from ._common import Data, evaluate, fmt, make_mlp, mnist_8k2k, seed_all
from .base import Lab, LabResult, Measurement, Verdict

BATCH = 32
LR = 1e-3
PATIENCE = 5


def fit(data: Data, width: int, seed: int, epochs: int, callbacks=()) -> tuple:
    """Train a 784-``width``-10 ReLU MLP with Adam; returns ``(model, history)``."""
    seed_all(seed)
    model = make_mlp([data.features, width, data.classes])
    trainer = Trainer(model, nabla.optim.Adam(model.parameters(), lr=LR), F.cross_entropy, metrics=["accuracy"])
    train_ds = TensorDataset(nabla.tensor(data.x_train), nabla.tensor(data.y_train))
    val_ds = TensorDataset(nabla.tensor(data.x_test), nabla.tensor(data.y_test))
    history = trainer.fit(train_ds, epochs=epochs, val_data=val_ds, callbacks=list(callbacks), verbose=0,
                          batch_size=BATCH)
    return model, history


def run(ctx) -> LabResult:
    n_train = 300 if ctx.quick else 500
    data = mnist_8k2k(ctx.data_dir, n_train=n_train, n_test=1000 if ctx.quick else 2000)
    widths = [4, 32, 256] if ctx.quick else [4, 16, 64, 256, 1024]
    epochs = 25 if ctx.quick else 60
    focus = 256  # the width whose validation curve and early stopping are studied
    gap = {w: [] for w in widths}
    val_acc = {w: [] for w in widths}
    turn_epoch, loss_rise, es = [], [], {k: [] for k in ("val_loss_es", "val_loss_end", "val_acc_es", "val_acc_end",
                                                          "stopped_epoch", "best_epoch")}
    histories = {}
    for seed in ctx.progress(ctx.seeds, desc="seeds"):
        for w in widths:
            model, h = fit(data, w, seed, epochs)
            tr_acc, _ = evaluate(model, data.x_train, data.y_train)
            va_acc, va_loss = evaluate(model, data.x_test, data.y_test)
            gap[w].append(tr_acc - va_acc)
            val_acc[w].append(va_acc)
            if seed == ctx.seeds[0]:
                histories[w] = h.history
            if w == focus:
                vl = numpy.array(h["val_loss"])
                turn_epoch.append(int(vl.argmin()) + 1)  # 1-based: after this many epochs
                loss_rise.append(float(vl[-1] - vl.min()))
                es["val_loss_end"].append(va_loss)
                es["val_acc_end"].append(va_acc)
        stopper = EarlyStopping(monitor="val_loss", patience=PATIENCE, restore_best_weights=True)
        model, h = fit(data, focus, seed, epochs, callbacks=[stopper])
        va_acc, va_loss = evaluate(model, data.x_test, data.y_test)
        es["val_loss_es"].append(va_loss)
        es["val_acc_es"].append(va_acc)
        es["stopped_epoch"].append((stopper.stopped_epoch if stopper.stopped_epoch is not None else epochs - 1) + 1)
        es["best_epoch"].append(stopper.best_epoch + 1)

    _figures(ctx, histories, widths, gap, focus, data)
    small, big = widths[0], widths[-1]
    gap_grows = all(b > s for s, b in zip(gap[small], gap[big]))
    turns = all(t < epochs for t in turn_epoch) and all(r > 0 for r in loss_rise)
    es_loss_better = all(e < f for e, f in zip(es["val_loss_es"], es["val_loss_end"]))
    es_acc_not_worse = all(e >= f - 0.005 for e, f in zip(es["val_acc_es"], es["val_acc_end"]))
    if gap_grows and turns and es_loss_better and es_acc_not_worse:
        verdict, condition = Verdict.SUPPORTED, None
    elif not gap_grows and not turns and not es_loss_better:
        verdict, condition = Verdict.REFUTED, None
    else:
        holds = [p for p, ok in (("the widest net has the larger train-validation gap", gap_grows),
                                 ("the validation loss turns and rises", turns),
                                 ("early stopping restores a lower validation loss", es_loss_better),
                                 ("with no loss of validation accuracy", es_acc_not_worse)) if ok]
        fails = [p for p, ok in (("the widest net does not have a larger train-validation gap than the "
                                  "narrowest (it generalises better)", gap_grows),
                                 ("the validation loss does not turn within the budget", turns),
                                 ("early stopping does not lower the validation loss", es_loss_better),
                                 ("the early-stopped model has lower validation accuracy than the fully trained "
                                  "one", es_acc_not_worse)) if not ok]
        verdict = Verdict.DEPENDS
        condition = "; ".join(holds or ["none of the parts holds in every seed"]) + "; but " + "; ".join(fails)
    reading = (
        f"On {data.describe()} after {epochs} epochs of Adam, the train-minus-validation accuracy gap is "
        + ", ".join(f"{fmt(gap[w], 2)} (width {w})" for w in widths)
        + f"; validation accuracy {fmt(val_acc[small], 3)} (width {small}) vs {fmt(val_acc[big], 3)} (width {big}). "
        f"For width {focus} the validation loss is lowest after epoch {fmt(turn_epoch, 2)} and then rises by "
        f"{fmt(loss_rise)} nats by epoch {epochs}. EarlyStopping (patience {PATIENCE}, restore_best_weights) stops "
        f"at epoch {fmt(es['stopped_epoch'], 2)} and restores epoch {fmt(es['best_epoch'], 2)}: validation loss "
        f"{fmt(es['val_loss_es'])} vs {fmt(es['val_loss_end'])} at the end of training, validation accuracy "
        f"{fmt(es['val_acc_es'])} vs {fmt(es['val_acc_end'])}.")
    notes_wrong = None
    if not gap_grows:
        notes_wrong = (f"Note 003 says a model that is too complex overfits. Here the widest net ({big} hidden units, "
                       f"{fmt(val_acc[big], 3)} validation accuracy) has a smaller train-validation gap than the "
                       f"narrowest ({small} units: gap {fmt(gap[small], 2)} vs {fmt(gap[big], 2)}, validation accuracy "
                       f"{fmt(val_acc[small], 3)}): at these sizes more capacity generalises better, not worse. What "
                       "overfits here is training too long (the validation loss turns), not the width.")
    if not es_acc_not_worse:
        notes_wrong = (notes_wrong + " " if notes_wrong else "") + (
                       "The notes present stopping when the validation loss rises as picking the best model. The "
                       "loss turns epochs before accuracy stops improving (the model grows over-confident on the "
                       "examples it gets wrong): the restored model has the best validation loss but a lower "
                       "validation accuracy than the fully trained one in every seed.")
    measurements = []
    for w in widths:
        measurements += [Measurement(f"width_{w}", "train_minus_val_accuracy", gap[w], "", "lower"),
                         Measurement(f"width_{w}", "val_accuracy", val_acc[w], "", "higher")]
    measurements += [
        Measurement(f"width_{focus}", "epoch_of_lowest_val_loss", turn_epoch, "epoch", None),
        Measurement(f"width_{focus}", "val_loss_rise_after_turn", loss_rise, "nats", None),
        Measurement("early_stopping", "val_loss", es["val_loss_es"], "nats", "lower"),
        Measurement(f"full_{epochs}_epochs", "val_loss", es["val_loss_end"], "nats", "lower"),
        Measurement("early_stopping", "val_accuracy", es["val_acc_es"], "", "higher"),
        Measurement(f"full_{epochs}_epochs", "val_accuracy", es["val_acc_end"], "", "higher"),
        Measurement("early_stopping", "stopped_after_epoch", es["stopped_epoch"], "epoch", None),
        Measurement("early_stopping", "restored_epoch", es["best_epoch"], "epoch", None),
    ]
    return LabResult(measurements, verdict, condition, reading, notes_wrong,
                     extra={"data": data.describe(), "data_note": data.note, "epochs": epochs, "batch_size": BATCH,
                            "lr": LR, "patience": PATIENCE, "widths": widths})


def _figures(ctx, histories: dict, widths: list, gap: dict, focus: int, data: Data) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    h = histories[focus]
    ep = range(1, len(h["loss"]) + 1)
    ax = axes[0]
    ax.plot(ep, h["loss"], label="train loss (running, per epoch)")
    ax.plot(ep, h["val_loss"], label="validation loss")
    turn = int(numpy.argmin(h["val_loss"])) + 1
    ax.axvline(turn, color="gray", ls=":", label=f"validation loss turns (epoch {turn})")
    ax.set(xlabel="epoch", ylabel="cross-entropy", yscale="log", title=f"width {focus}, seed {ctx.seeds[0]}")
    ax.legend(fontsize=8)
    ax = axes[1]
    for i, w in enumerate(widths):
        ax.plot(ep, histories[w]["accuracy"], color=f"C{i}", ls="--", lw=1)
        ax.plot(ep, histories[w]["val_accuracy"], color=f"C{i}", label=f"width {w}")
    ax.set(xlabel="epoch", ylabel="accuracy (dashed: train)", title="train vs validation accuracy by width")
    ax.legend(fontsize=8)
    ax = axes[2]
    means = [numpy.mean(gap[w]) for w in widths]
    stds = [numpy.std(gap[w], ddof=1) if len(gap[w]) > 1 else 0 for w in widths]
    ax.errorbar(widths, means, yerr=stds, marker="o", capsize=3)
    ax.set(xscale="log", xlabel="hidden units", ylabel="train − validation accuracy",
           title=f"{data.name}, {len(data.y_train)} training images: the gap")
    fig.tight_layout()
    ctx.savefig(fig, "overfitting")


LAB = Lab(
    name="overfitting",
    title="Overfitting: model size, the turning epoch, early stopping",
    claim=("A model that is too complex overfits: high performance on the training data, lower on new data. Early "
           "stopping ends training when the validation loss starts to rise and so keeps the best model."),
    note="003_e08a359f4782c39a.txt,000_a64c7b5953f5f1e7.txt,004_7e784a9328faeb63.txt",
    setup=("MNIST, 500 training images (deliberately small) and 2,000 validation images (digits if absent); one "
           "hidden ReLU layer of 4 to 1,024 units, Adam lr 1e-3, batch 32, 60 epochs, nabla.train.Trainer. Only "
           "the width changes. For width 256: the epoch of lowest validation loss, and the same run with "
           "EarlyStopping(monitor='val_loss', patience=5, restore_best_weights=True) vs run to the end."),
    seeds=3,
    run=run,
)
