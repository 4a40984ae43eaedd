"""Four ways to train the same MLP on scikit-learn's 8x8 digits, from the most automatic to the most manual,
the levels of TensorFlow 2 the notes walk through (Keras ``fit``, a custom loop, and autograph's graphs).

1. Keras style: ``model.compile(...)`` then ``model.fit(...)`` — names for the optimizer, loss, metrics.
2. ``nabla.train.Trainer`` — your module, your optimizer and loss objects, callbacks; override
   ``train_step`` when one step needs more than forward / loss / backward / update.
3. A plain loop over a ``DataLoader`` with autograd — every line of a training step in view.
4. The same plain loop with its step in ``nabla.compile`` (TensorFlow's ``@tf.function``): written as
   plain Python, traced once into a flat program of array operations and replayed for every batch.

All four draw from the same seed and reach about 97-98% test accuracy (3 and 4 give identical numbers). Run:
``python examples/training_levels.py``
"""

from __future__ import annotations

import nabla
from nabla import nn, optim
from nabla.data import DataLoader
from nabla.data.datasets import digits
from nabla.train import EarlyStopping, Trainer


def make_model() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


def keras_style(epochs: int = 30) -> float:
    nabla.manual_seed(0)
    train, test = digits()
    model = make_model()
    model.compile(optimizer="adam", lr=3e-3, loss="cross_entropy", metrics=["accuracy"])
    model.fit(train, epochs=epochs, batch_size=32, validation_data=test, verbose=0,
              callbacks=[EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)])
    return model.evaluate(test)["accuracy"]


def with_trainer(epochs: int = 30) -> float:
    nabla.manual_seed(0)
    train, test = digits()
    model = make_model()
    trainer = Trainer(model, optim.Adam(model.parameters(), lr=3e-3), nn.CrossEntropyLoss(), metrics=["accuracy"])
    trainer.fit(DataLoader(train, batch_size=32, shuffle=True), epochs=epochs, verbose=0)
    return trainer.evaluate(DataLoader(test, batch_size=256))["accuracy"]


def accuracy_on(model: nn.Module, test) -> float:
    """Accuracy on ``test`` in evaluation mode, without gradients."""
    model.eval()
    correct = 0
    with nabla.no_grad():
        for x, y in DataLoader(test, batch_size=256):
            correct += int((model(x).argmax(dim=1) == y).sum().item())
    return correct / len(test)


def plain_loop(epochs: int = 30) -> float:
    nabla.manual_seed(0)
    train, test = digits()
    model = make_model()
    opt = optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(train, batch_size=32, shuffle=True)  # a new shuffle every epoch
    for _epoch in range(epochs):
        model.train()
        for x, y in loader:
            loss = loss_fn(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return accuracy_on(model, test)


def compiled_loop(epochs: int = 30) -> float:
    nabla.manual_seed(0)
    train, test = digits()
    model = make_model()
    opt = optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(train, batch_size=32, shuffle=True)

    @nabla.compile  # traced on the first batch (and once more for the smaller last batch), then replayed
    def step(x, y):
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    for _epoch in range(epochs):
        model.train()
        for x, y in loader:
            step(x, y)
    return accuracy_on(model, test)


if __name__ == "__main__":
    for name, fn in [("1. compile/fit", keras_style), ("2. Trainer", with_trainer), ("3. plain loop", plain_loop),
                     ("4. compiled", compiled_loop)]:
        print(f"{name:15s} test accuracy {fn():.2%}")
