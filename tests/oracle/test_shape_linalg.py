"""matmul and the shape ops against PyTorch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import nabla

from .helpers import F32, F64, check

DTYPES = [F32, F64]

# ----------------------------------------------------------------------------------------- matmul

MATMUL_SHAPES = [
    ((4,), (4,)),
    ((4,), (4, 3)),
    ((3, 4), (4,)),
    ((3, 4), (4, 2)),
    ((1, 4), (4, 1)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((4,), (2, 4, 3)),
    ((2, 3, 4), (4,)),
    ((2, 1, 3, 4), (1, 5, 4, 2)),
    ((0, 4), (4, 3)),
    ((3, 0), (0, 2)),
    ((2, 0, 4), (4, 3)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES, ids=[f"{a}@{b}" for a, b in MATMUL_SHAPES])
def test_matmul(sa, sb, dtype):
    check(lambda a, b: a @ b, [sa, sb], dtype=dtype)


def test_matmul_spellings():
    check(lambda a, b: nabla.matmul(a, b), [(2, 3), (3, 4)], lambda a, b: torch.matmul(a, b))
    check(lambda a, b: a.matmul(b), [(2, 3, 4), (4,)])
    check(lambda a, b: nabla.mm(a, b), [(2, 3), (3, 4)], lambda a, b: torch.mm(a, b))
    check(lambda a, b: nabla.bmm(a, b), [(2, 2, 3), (2, 3, 4)], lambda a, b: torch.bmm(a, b))
    check(lambda a, b: nabla.dot(a, b), [(5,), (5,)], lambda a, b: torch.dot(a, b))
    check(lambda a, b: a.T @ b, [(3, 2), (3, 4)], dtype=F64)
    check(lambda a, b: a @ b.mT, [(2, 3, 4), (2, 5, 4)], dtype=F64)


def test_matmul_same_input_twice():
    check(lambda a: a @ a, [(3, 3)], dtype=F64)
    check(lambda a: a @ a.T, [(2, 3)], dtype=F64)


def test_matmul_errors():
    with pytest.raises(ValueError):
        nabla.ones(2, 3) @ nabla.ones(4, 2)
    with pytest.raises(ValueError):
        nabla.ones(2, 2, 3) @ nabla.ones(3, 3, 2)
    with pytest.raises(ValueError):
        nabla.matmul(nabla.ones(()), nabla.ones(2))


# ------------------------------------------------------------------------------------------ shape


@pytest.mark.parametrize("dtype", DTYPES)
def test_reshape_view(dtype):
    check(lambda x: x.reshape(6, 4), [(2, 3, 4)], dtype=dtype)
    check(lambda x: x.reshape(-1), [(2, 3, 4)], dtype=dtype)
    check(lambda x: x.reshape((4, -1, 2)), [(2, 3, 4)], dtype=dtype)
    check(lambda x: x.view(3, 8), [(2, 3, 4)], dtype=dtype)
    check(lambda x: x.view(-1, 4), [(2, 3, 4)], dtype=dtype)
    check(lambda x: x.reshape(()), [(1,)], dtype=dtype)
    check(lambda x: x.reshape(1, 1), [()], dtype=dtype)
    check(lambda x: x.reshape(3, 0), [(0, 3)], dtype=dtype)
    check(lambda x: nabla.reshape(x, (4, 6)), [(2, 3, 4)], lambda x: torch.reshape(x, (4, 6)), dtype=dtype)
    check(lambda x, y: x.view_as(y), [(2, 3), (3, 2)], requires_grad=[True, False])
    check(lambda x, y: x.reshape_as(y), [(2, 3), (6,)], requires_grad=[True, False])
    check(lambda x: x.T.reshape(-1), [(3, 4)], dtype=dtype)  # reshape of a non-contiguous view


def test_reshape_errors():
    with pytest.raises(ValueError):
        nabla.ones(2, 3).reshape(4, 2)
    with pytest.raises(ValueError):
        nabla.ones(2, 3).reshape(-1, -1)


def test_flatten():
    check(lambda x: x.flatten(), [(2, 3, 4)])
    check(lambda x: x.flatten(1), [(2, 3, 4)])
    check(lambda x: x.flatten(0, 1), [(2, 3, 4)])
    check(lambda x: x.flatten(-2, -1), [(2, 3, 4, 5)])
    check(lambda x: x.flatten(), [()])
    check(lambda x: x.flatten(1), [(2, 0, 3)])
    check(lambda x: nabla.flatten(x, 1, 2), [(2, 3, 4, 2)], lambda x: torch.flatten(x, 1, 2), dtype=F64)


def test_transpose_permute_T():
    check(lambda x: x.transpose(0, 1), [(2, 3, 4)])
    check(lambda x: x.transpose(-1, 0), [(2, 3, 4)])
    check(lambda x: x.transpose(1, 1), [(2, 3, 4)])
    check(lambda x: nabla.transpose(x, 2, 1), [(2, 3, 4)], lambda x: torch.transpose(x, 2, 1))
    check(lambda x: nabla.swapaxes(x, 0, 2), [(2, 3, 4)], lambda x: torch.swapaxes(x, 0, 2))
    check(lambda x: x.permute(2, 0, 1), [(2, 3, 4)])
    check(lambda x: x.permute((1, 2, 0)), [(2, 3, 4)])
    check(lambda x: x.permute(-1, -3, -2), [(2, 3, 4)])
    check(lambda x: nabla.permute(x, (1, 0, 2)), [(2, 3, 4)], lambda x: torch.permute(x, (1, 0, 2)))
    check(lambda x: x.T, [(3, 4)])
    check(lambda x: x.t(), [(3, 4)])
    check(lambda x: x.mT, [(2, 3, 4)], dtype=F64)
    check(lambda x: x.T.T * 2, [(3, 4)])


def test_squeeze_unsqueeze():
    check(lambda x: x.squeeze(), [(1, 3, 1, 4)])
    check(lambda x: x.squeeze(0), [(1, 3, 1, 4)])
    check(lambda x: x.squeeze(-2), [(1, 3, 1, 4)])
    check(lambda x: x.squeeze(1), [(1, 3, 1, 4)])  # not size 1: unchanged
    check(lambda x: x.squeeze((0, 2)), [(1, 3, 1, 4)])
    check(lambda x: x.squeeze(), [(1, 1)])
    check(lambda x: nabla.squeeze(x, 0), [(1, 3)], lambda x: torch.squeeze(x, 0))
    for d in (0, 1, 2, -1, -3):
        check(lambda x: x.unsqueeze(d), [(3, 4)])
    check(lambda x: x.unsqueeze(0), [()])
    check(lambda x: nabla.unsqueeze(x, 1), [(3,)], lambda x: torch.unsqueeze(x, 1))


def test_expand_broadcast_to():
    check(lambda x: x.expand(3, 4), [(1, 4)])
    check(lambda x: x.expand(2, 3, 4), [(3, 1)])
    check(lambda x: x.expand(-1, 5), [(3, 1)])
    check(lambda x: x.expand((2, -1, 4)), [(3, 1)])
    check(lambda x: x.expand(2, 3), [()])
    check(lambda x: x.expand(0, 3), [(1, 3)])
    check(lambda x, y: x.expand_as(y), [(3, 1), (2, 3, 4)], requires_grad=[True, False])
    check(lambda x: x.broadcast_to((2, 3, 4)), [(3, 1)])
    check(lambda x: nabla.broadcast_to(x, (5, 2)), [(2,)], lambda x: torch.broadcast_to(x, (5, 2)))
    check(lambda x: nabla.expand(x, (2, 3)), [(1, 3)], lambda x: x.expand(2, 3), dtype=F64)
    with pytest.raises(ValueError):
        nabla.ones(2, 3).expand(4, 3)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cat_stack(dtype):
    check(lambda a, b: nabla.cat([a, b]), [(2, 3), (4, 3)], lambda a, b: torch.cat([a, b]), dtype=dtype)
    check(
        lambda a, b, c: nabla.cat([a, b, c], 1),
        [(2, 3), (2, 1), (2, 0)],
        lambda a, b, c: torch.cat([a, b, c], 1),
        dtype=dtype,
    )
    check(
        lambda a, b: nabla.cat((a, b), dim=-1),
        [(2, 3, 1), (2, 3, 2)],
        lambda a, b: torch.cat((a, b), dim=-1),
        dtype=dtype,
    )
    check(lambda a, b: nabla.concat([a, b]), [(1,), (2,)], lambda a, b: torch.concat([a, b]), dtype=dtype)
    check(
        lambda a, b: nabla.concatenate([a, b], 0),
        [(1, 2), (2, 2)],
        lambda a, b: torch.concatenate([a, b], 0),
        dtype=dtype,
    )
    check(lambda a: nabla.cat([a, a * 2, a]), [(2, 2)], lambda a: torch.cat([a, a * 2, a]), dtype=dtype)
    check(lambda a, b: nabla.stack([a, b]), [(2, 3), (2, 3)], lambda a, b: torch.stack([a, b]), dtype=dtype)
    check(lambda a, b: nabla.stack([a, b], 1), [(2, 3), (2, 3)], lambda a, b: torch.stack([a, b], 1), dtype=dtype)
    check(lambda a, b: nabla.stack([a, b], -1), [(2, 3), (2, 3)], lambda a, b: torch.stack([a, b], -1), dtype=dtype)
    check(lambda a, b: nabla.stack([a, b]), [(), ()], lambda a, b: torch.stack([a, b]), dtype=dtype)


def test_cat_legacy_empty():
    check(lambda a, b: nabla.cat([a, b]), [(2, 3), (0,)], lambda a, b: torch.cat([a, b]))
    check(lambda a, b: nabla.cat([b, a], 1), [(2, 3), (0,)], lambda a, b: torch.cat([b, a], 1))


def test_cat_mixed_dtypes():
    check(lambda a, b: nabla.cat([a, b]), [np.ones((2, 2), F32), np.ones((1, 2), F64)], lambda a, b: torch.cat([a, b]))
    check(
        lambda a, b: nabla.cat([a, b]),
        [np.ones((2, 2), np.int64), np.ones((1, 2), F32)],
        lambda a, b: torch.cat([a, b]),
    )
    check(
        lambda a, b: nabla.stack([a, b]),
        [np.ones(2, np.int32), np.ones(2, np.int64)],
        lambda a, b: torch.stack([a, b]),
        grad=False,
    )


def test_split_chunk():
    check(lambda x: x.split(2), [(5, 3)])
    check(lambda x: x.split(2, dim=1), [(2, 5)])
    check(lambda x: x.split([1, 3, 1]), [(5, 3)])
    check(lambda x: x.split([2, 0, 1], 1), [(2, 3)])
    check(lambda x: x.split(10), [(5, 3)])
    check(lambda x: nabla.split(x, 2, -1), [(3, 4)], lambda x: torch.split(x, 2, -1))
    check(lambda x: x.split(2)[1], [(5, 3)])  # unused pieces get zero gradient
    for n in (1, 2, 3, 4, 6):
        check(lambda x: x.chunk(n), [(5, 2)])
        check(lambda x: x.chunk(n, 1), [(2, 6)])
    check(lambda x: nabla.chunk(x, 2, 0), [(4, 2)], lambda x: torch.chunk(x, 2, 0))
    check(lambda x: x.chunk(3), [(1, 2)])
    for n in (1, 2, 3):
        check(lambda x: x.chunk(n), [(0, 2)])
        check(lambda x: x.split(n), [(0, 2)])


@pytest.mark.parametrize(
    "pad",
    [(1, 1), (0, 2), (2, 0, 1, 1), (1, 2, 0, 0, 3, 1), (0, 0), (3, 3, 0, 0)],
    ids=str,
)
def test_pad(pad):
    check(lambda x: nabla.pad(x, pad), [(2, 3, 4)], lambda x: TF.pad(x, pad))
    check(lambda x: nabla.pad(x, pad, value=1.5), [(2, 3, 4)], lambda x: TF.pad(x, pad, value=1.5), dtype=F64)
    check(lambda x: nabla.pad(x, pad, mode="constant", value=-2.0), [(2, 3, 4)],
          lambda x: TF.pad(x, pad, mode="constant", value=-2.0))


def test_flip():
    check(lambda x: x.flip(0), [(2, 3, 4)])
    check(lambda x: x.flip(-1), [(2, 3, 4)])
    check(lambda x: x.flip((0, 2)), [(2, 3, 4)])
    check(lambda x: x.flip([1, 2, 0]), [(2, 3, 4)])
    check(lambda x: nabla.flip(x, (1,)), [(2, 3)], lambda x: torch.flip(x, (1,)))


def test_repeat():
    check(lambda x: x.repeat(2, 3), [(2, 3)])
    check(lambda x: x.repeat(1, 1), [(2, 3)])
    check(lambda x: x.repeat(2, 1, 3), [(2, 3)])
    check(lambda x: x.repeat((3, 2)), [(4,)])
    check(lambda x: x.repeat(2, 2), [()])
    check(lambda x: x.repeat(0, 2), [(2, 3)])
    check(lambda x: nabla.repeat(x, (2, 1, 2)), [(1, 2, 3)], lambda x: x.repeat(2, 1, 2), dtype=F64)


def test_clone_and_cast_keep_gradient():
    check(lambda x: x.clone() * 2, [(2, 3)])
    check(lambda x: nabla.clone(x), [(2, 3)], lambda x: torch.clone(x))
    check(lambda x: x.double() * 2, [(2, 3)])
    check(lambda x: x.float() * 2, [(2, 3)], dtype=F64, grad_atol=1e-6, rtol=1e-6)
    check(lambda x: x.to(nabla.float64), [(2, 3)], lambda x: x.to(torch.float64))
    check(lambda x: x.long(), [(2, 3)], grad=False, low=-5, high=5)
    check(lambda x: x.int(), [(2, 3)], grad=False, low=-5, high=5)
    check(lambda x: x.bool(), [np.array([0.0, 1.0, -2.0], F32)], grad=False)
    check(lambda x: x.float(), [np.array([0, 1, -2])], grad=False)
    check(lambda x: (x * 1).contiguous(), [(2, 3)])
    check(lambda x: x.detach() * x, [(2, 3)])
