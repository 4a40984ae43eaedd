"""nabla.compat.torch: an unmodified PyTorch script runs on nabla and gives PyTorch's numbers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPTS = Path(__file__).parent / "torch_scripts"
SCRIPT = SCRIPTS / "tutorial_cnn.py"


def _run(args, cwd, check=True):
    r = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    if check:
        assert r.returncode == 0, r.stderr[-3000:]
    return r


def test_tutorial_cnn_runs_unmodified_and_matches_pytorch(tmp_path):
    _run(["-m", "nabla.compat.torch", str(SCRIPT), "--out", str(tmp_path / "nabla.json")], tmp_path)
    real = _run([str(SCRIPT), "--out", str(tmp_path / "torch.json")], tmp_path)
    n = json.loads((tmp_path / "nabla.json").read_text())
    t = json.loads((tmp_path / "torch.json").read_text())
    assert n["tensor_module"] == "nabla.tensor" and t["tensor_module"] == "torch"  # really two frameworks
    assert len(n["losses"]) == len(t["losses"]) == 12
    np.testing.assert_allclose(n["losses"], t["losses"], rtol=1e-5)  # 12 SGD steps, momentum, StepLR
    assert n["top2"] == t["top2"] and n["reload_same"] and n["sample_shape"] == t["sample_shape"] == [32]
    assert "epoch 2: loss" in real.stdout


def test_nanogpt_style_model_runs_unmodified_and_matches_pytorch(tmp_path):
    script = SCRIPTS / "nanogpt_style.py"
    _run(["-m", "nabla.compat.torch", str(script), "--out", str(tmp_path / "nabla.json")], tmp_path)
    _run([str(script), "--out", str(tmp_path / "torch.json")], tmp_path)
    n = json.loads((tmp_path / "nabla.json").read_text())
    t = json.loads((tmp_path / "torch.json").read_text())
    assert n["tensor_module"] == "nabla.tensor" and t["tensor_module"] == "torch"
    # 8 AdamW steps (weight-decay groups, clipping, tied embeddings, ignore_index) agree to float32 rounding
    np.testing.assert_allclose(n["losses"], t["losses"], rtol=1e-5)
    assert n["greedy"] == t["greedy"] and n["n_params"] == t["n_params"]
    assert n["sampled_shape"] == t["sampled_shape"] == [2, 21]


PROBE = """
import sys
import nabla.compat.torch as ct
ct.install()
import torch, torch.nn as nn, torch.nn.functional as F, torch.optim.lr_scheduler as sched
from torch.utils.data import DataLoader
from torch.nn.modules.linear import Linear
from torch.utils.data.dataloader import DataLoader as DL2
import nabla
assert torch is nabla and torch.Tensor is nabla.Tensor and nn is nabla.nn and F is nabla.nn.functional
assert Linear is nabla.nn.Linear and DataLoader is DL2 is nabla.data.DataLoader and sched is nabla.optim.lr_scheduler
assert torch.utils.data.TensorDataset is nabla.data.TensorDataset
try:
    import torch.nn.quantized
except ModuleNotFoundError as e:
    print("missing:", e)
ct.uninstall()
assert "torch" not in sys.modules
print("ok")
"""


def test_install_maps_torch_paths_to_nabla_modules(tmp_path):
    r = _run(["-c", PROBE], tmp_path)
    assert r.stdout.strip().endswith("ok")
    assert "nabla has no 'nabla.nn.quantized'" in r.stdout


def test_install_refuses_after_pytorch_and_runner_errors(tmp_path):
    r = _run(["-c", "import torch, nabla.compat.torch as ct; ct.install()"], tmp_path, check=False)
    assert r.returncode != 0 and "PyTorch is already imported" in r.stderr
    r = _run(["-m", "nabla.compat.torch", "missing.py"], tmp_path, check=False)
    assert r.returncode == 2 and "no such script" in r.stderr
    r = _run(["-m", "nabla.compat.torch"], tmp_path, check=False)
    assert r.returncode == 2 and "usage: python -m nabla.compat.torch script.py" in r.stdout


@pytest.mark.parametrize("code,name", [("import torch\ntorch.definitely_not_an_op(1)\n", "definitely_not_an_op")])
def test_a_missing_name_fails_like_any_script(tmp_path, code, name):
    script = tmp_path / "s.py"
    script.write_text(code)
    r = _run(["-m", "nabla.compat.torch", str(script)], tmp_path, check=False)
    assert r.returncode == 1 and f"has no attribute '{name}'" in r.stderr
