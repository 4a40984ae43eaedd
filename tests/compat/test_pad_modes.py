"""F.pad's reflect / replicate / circular modes against PyTorch: values, gradients, errors."""

from __future__ import annotations

import pytest
import torch
from oracle.helpers import check, gradcheck

import nabla


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,pad", [((2, 3, 5), (2, 1)), ((2, 3, 4, 5), (2, 1, 3, 0)), ((1, 2, 4, 4), (3, 3, 3, 3)),
                                       ((1, 1, 3, 4, 5), (1, 2, 0, 1, 2, 1))])
def test_pad_modes_match_torch(mode, shape, pad):
    if mode == "reflect" and max(pad) >= min(shape[-len(pad) // 2:]):
        pytest.skip("reflect needs padding smaller than the size")
    check(lambda a: nabla.ops.pad(a, pad, mode=mode), [shape], lambda a: torch.nn.functional.pad(a, pad, mode=mode))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_modes_gradcheck(mode):
    gradcheck(lambda a: nabla.ops.pad(a, (2, 1, 1, 2), mode=mode), [(1, 1, 3, 4)])


def test_pad_mode_errors():
    x = nabla.ones(1, 1, 3, 3)
    with pytest.raises(ValueError, match="reflect padding of \\(3, 0\\) on dimension 3 of size 3"):
        nabla.ops.pad(x, (3, 0), mode="reflect")
    with pytest.raises(RuntimeError):
        torch.nn.functional.pad(torch.ones(1, 1, 3, 3), (3, 0), mode="reflect")
    with pytest.raises(ValueError, match="circular padding"):
        nabla.ops.pad(x, (4, 0), mode="circular")
    with pytest.raises(ValueError, match="mode must be one of constant, reflect, replicate, circular"):
        nabla.ops.pad(x, (1, 1), mode="mirror")
