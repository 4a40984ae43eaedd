"""Export: the trained weights as safetensors, and nabla Python code that builds and trains the same network.

The generated script is plain nabla (``nabla.nn``, ``nabla.optim``) plus ``make_data``/``features``
from :mod:`nabla.playground.datasets` for the points themselves. It repeats :class:`.network.Run`
step for step — same data, initial weights, batch order and updates — so, without dropout, it reaches
the same losses as the page after the same number of epochs (tests/playground checks this).
"""

from __future__ import annotations

import json
import os
import tempfile

import nabla

from .config import ExperimentConfig
from .datasets import Upload
from .network import ACTIVATION_MODULES, OPTIMIZER_CALLS

__all__ = ["generate_code", "weights_bytes"]


def weights_bytes(model: nabla.nn.Module) -> bytes:
    """``model.state_dict()`` as the bytes of a safetensors file (written by ``nabla.save``)."""
    fd, path = tempfile.mkstemp(suffix=".safetensors")
    os.close(fd)
    try:
        nabla.save(model.state_dict(), path)
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.unlink(path)


def _model_lines(c: ExperimentConfig, outputs: int) -> list[str]:
    lines = []
    width = len(c.features)
    act = ACTIVATION_MODULES[c.activation]
    for n in c.layers:
        parts = [f"nn.Linear({width}, {n})"]
        if c.batch_norm:
            parts.append(f"nn.BatchNorm1d({n})")
        parts.append(f"nn.{act}()")
        if c.dropout > 0:
            parts.append(f"nn.Dropout({c.dropout!r})")
        lines.append("    " + ", ".join(parts) + ",")
        width = n
    lines.append(f"    nn.Linear({width}, {outputs}),")
    return lines


def generate_code(c: ExperimentConfig, epochs: int, upload: Upload | None = None) -> str:
    """A runnable script that builds the network of ``c`` and trains it for ``epochs`` epochs."""
    outputs = 1 if c.problem == "regression" else (upload.classes if upload is not None else c.classes)
    problem = upload.problem if upload is not None else c.problem
    cls, kwargs = OPTIMIZER_CALLS[c.optimizer]
    opt_args = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    regression = problem == "regression"
    if upload is not None:
        data_lines = [
            "# the uploaded points (scaled into [-1, 1]^2) and their labels",
            f"UPLOAD = Upload.from_json(json.loads({json.dumps(json.dumps(upload.to_json()))}))",
            f"data = make_data({problem!r}, 'upload', test_ratio={c.test_ratio!r}, seed={c.seed}, upload=UPLOAD)",
        ]
        imports = "import json\n\n"
        ds_import = "from nabla.playground.datasets import Upload, features, make_data"
    else:
        data_lines = [f"data = make_data({c.problem!r}, {c.dataset!r}, n_points={c.n_points}, noise={c.noise!r}, "
                      f"test_ratio={c.test_ratio!r}, seed={c.seed}, classes={c.classes})"]
        imports = ""
        ds_import = "from nabla.playground.datasets import features, make_data"
    bn_guard = c.batch_norm
    reg = ""
    if c.regularization == "l1" and c.reg_rate > 0:
        reg = f"\n        loss = loss + {c.reg_rate!r} * optim.l1_penalty(weights)  # L1 regularization"
    elif c.regularization == "l2" and c.reg_rate > 0:
        reg = f"\n        loss = loss + {c.reg_rate!r} * 0.5 * sum((w * w).sum() for w in weights)  # L2 regularization"
    target = ".reshape(-1, 1)" if regression else ""
    batch_lines = [
        "    order = rng.permutation(n)",
        "    starts = list(range(0, n, BATCH_SIZE))",
    ]
    if bn_guard:
        batch_lines += [
            "    if len(starts) > 1 and n - starts[-1] == 1:  # BatchNorm needs 2+ samples: merge a lone last one",
            "        starts.pop()",
        ]
    batch_lines += [
        "    for k, s in enumerate(starts):",
        "        idx = order[s:starts[k + 1] if k + 1 < len(starts) else n]",
    ]
    if bn_guard:
        batch_lines += ["        if len(idx) < 2:", "            continue"]
    accuracy = "" if regression else (
        "\n            acc = float((pred.numpy().argmax(1) == y.numpy()).mean())"
        "\n            print(f'  {name}: loss {loss:.4f}, accuracy {acc:.3f}')")
    report = "\n            print(f'  {name}: loss {loss:.4f}')" if regression else accuracy
    return f'''"""A nabla playground experiment as a script: builds the network and trains it as the page did.

Settings: {json.dumps(c.model_dump(), sort_keys=True)}
Run it with `python {{this file}}`; load exported weights with
`model.load_state_dict(nabla.load("weights.safetensors"))`.
"""
{imports}import numpy

import nabla
from nabla import nn, optim
{ds_import}

EPOCHS = {epochs}
BATCH_SIZE = {c.batch_size}
FEATURES = {tuple(c.features)!r}

{chr(10).join(data_lines)}
x_train = nabla.from_numpy(features(data.x_train, FEATURES))
y_train = nabla.from_numpy(data.y_train)
x_test = nabla.from_numpy(features(data.x_test, FEATURES))
y_test = nabla.from_numpy(data.y_test)

model = nn.Sequential(
{chr(10).join(_model_lines(c, outputs))}
)
generator = nabla.Generator({c.seed})  # the same initial weights as the page
for m in model:
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight, generator=generator)
        nn.init.zeros_(m.bias)
weights = [m.weight for m in model if isinstance(m, nn.Linear)]

optimizer = optim.{cls}(model.parameters(), lr={c.learning_rate!r}{opt_args})
loss_fn = nn.{"MSELoss" if regression else "CrossEntropyLoss"}()
rng = numpy.random.default_rng({c.seed})  # mini-batch order


def train_epoch():
    model.train()
    n = x_train.shape[0]
{chr(10).join(batch_lines)}
        loss = loss_fn(model(x_train[idx]), y_train[idx]{target}){reg}
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def evaluate():
    model.eval()
    losses = {{}}
    with nabla.no_grad():
        for name, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
            pred = model(x)
            loss = losses[name] = loss_fn(pred, y{target}).item(){report}
    return losses


if __name__ == "__main__":
    for epoch in range(1, EPOCHS + 1):
        train_epoch()
    print(f"after {{EPOCHS}} epochs:")
    evaluate()
'''


def state_from_bytes(raw: bytes) -> dict:
    """The state dict in safetensors bytes made by :func:`weights_bytes` (for tests and reloads)."""
    fd, path = tempfile.mkstemp(suffix=".safetensors")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        return nabla.load(path)
    finally:
        os.unlink(path)

