"""A model's weights move between nabla and PyTorch through safetensors files, both ways, and
freezing (transfer learning) keeps frozen parameters unchanged through optimizer steps."""

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import nabla
from nabla import nn


def nabla_model():
    return nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))


def torch_model():
    tn = torch.nn
    return tn.Sequential(tn.Linear(6, 16), tn.BatchNorm1d(16), tn.ReLU(), tn.Dropout(0.3), tn.Linear(16, 3))


def _train_a_little(m, x):
    m.train()
    for _ in range(3):  # non-trivial running statistics
        m(x)


def test_nabla_checkpoint_runs_in_pytorch(tmp_path):
    x = np.random.default_rng(0).standard_normal((8, 6)).astype(np.float32)
    m = nabla_model()
    _train_a_little(m, nabla.tensor(x))
    path = tmp_path / "model.safetensors"
    nabla.save(m.state_dict(), path)
    t = torch_model()
    t.load_state_dict(load_file(str(path)), strict=True)
    m.eval()
    t.eval()
    with nabla.no_grad(), torch.no_grad():
        np.testing.assert_allclose(m(nabla.tensor(x)).numpy(), t(torch.tensor(x)).numpy(), rtol=1e-5, atol=1e-6)


def test_pytorch_checkpoint_runs_in_nabla(tmp_path):
    x = np.random.default_rng(1).standard_normal((8, 6)).astype(np.float32)
    t = torch_model()
    _train_a_little(t, torch.tensor(x))
    path = tmp_path / "model.safetensors"
    save_file(t.state_dict(), str(path))
    m = nabla_model()
    m.load_state_dict(nabla.load(path), strict=True)
    m.eval()
    t.eval()
    with nabla.no_grad(), torch.no_grad():
        np.testing.assert_allclose(m(nabla.tensor(x)).numpy(), t(torch.tensor(x)).numpy(), rtol=1e-5, atol=1e-6)


def test_round_trip_is_bit_exact(tmp_path):
    m = nabla_model()
    _train_a_little(m, nabla.randn(8, 6))
    nabla.save(m.state_dict(), tmp_path / "a.safetensors")
    back = nabla.load(tmp_path / "a.safetensors")
    for k, v in m.state_dict().items():
        assert back[k].dtype == v.dtype
        np.testing.assert_array_equal(back[k].numpy(), v.numpy())


@pytest.mark.parametrize("opt", ["sgd", "adamw"])
def test_frozen_backbone_does_not_move(opt):
    backbone = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU())
    model = nn.Sequential(backbone, nn.Linear(16, 3))
    backbone.requires_grad_(False)
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    params = list(model.parameters())  # frozen ones included, as people often do
    o = (
        nabla.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-2)
        if opt == "sgd"
        else nabla.optim.AdamW(params, lr=1e-2, weight_decay=1e-2)
    )
    x, y = nabla.randn(32, 6), nabla.randint(0, 3, (32,))
    for _ in range(5):
        o.zero_grad()
        nn.CrossEntropyLoss()(model(x), y).backward()
        o.step()
    after = model.state_dict()
    for k in before:
        if k.startswith("0."):
            np.testing.assert_array_equal(after[k].numpy(), before[k], err_msg=k)
        else:
            assert not np.array_equal(after[k].numpy(), before[k]), k
