"""Bad input raises ValueError/TypeError/RuntimeError naming the op, the shapes and the fix."""

import pytest

import nabla


def test_broadcast_mismatch_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"add: shapes \(3, 4\) and \(5,\) cannot be broadcast.*dimension -1"):
        nabla.ones(3, 4) + nabla.ones(5)
    with pytest.raises(ValueError, match=r"mul: shapes"):
        nabla.ones(2, 3) * nabla.ones(3, 2)


def test_matmul_mismatch_names_inner_dimensions():
    with pytest.raises(ValueError, match=r"matmul: shapes \(32, 128\) @ \(256, 10\).*128 vs 256"):
        nabla.ones(32, 128) @ nabla.ones(256, 10)
    with pytest.raises(ValueError, match="at least 1 dimension"):
        nabla.matmul(nabla.tensor(1.0), nabla.ones(2))


def test_reshape_and_dims():
    with pytest.raises(ValueError, match=r"cannot reshape a tensor of shape \(2, 3\)"):
        nabla.ones(2, 3).reshape(4, 2)
    with pytest.raises(IndexError, match="dim 2 is out of range"):
        nabla.ones(2, 3).sum(dim=2)
    with pytest.raises(ValueError, match="permutation"):
        nabla.ones(2, 3).permute(0, 0)
    with pytest.raises(ValueError, match="expand"):
        nabla.ones(2, 3).expand(4, 3)
    with pytest.raises(ValueError, match="cat: tensor 1 has shape"):
        nabla.cat([nabla.ones(2, 3), nabla.ones(2, 4)], dim=0)


def test_index_errors_name_shape():
    with pytest.raises(IndexError, match=r"tensor shape \(3,\)"):
        nabla.ones(3)[5]
    with pytest.raises(IndexError, match="gather"):
        nabla.ones(2, 3).gather(1, nabla.tensor([[0, 5], [1, 1]]))


def test_cross_entropy_errors():
    with pytest.raises(TypeError, match="integer class indices"):
        nabla.cross_entropy(nabla.ones(2, 3), nabla.ones(2))
    with pytest.raises(IndexError, match=r"\[0, 3\)"):
        nabla.cross_entropy(nabla.ones(2, 3), nabla.tensor([0, 3]))
    with pytest.raises(ValueError, match="target of shape"):
        nabla.cross_entropy(nabla.ones(2, 3), nabla.tensor([0, 1, 2]))


def test_inplace_cannot_grow():
    x = nabla.ones(3)
    with pytest.raises(ValueError, match="cannot grow"):
        x += nabla.ones(2, 3)
    with pytest.raises(TypeError, match="cannot be stored"):
        y = nabla.tensor([1, 2])
        y += 1.5


def test_non_number_operand():
    with pytest.raises(TypeError, match="expected a Tensor or a number"):
        nabla.ones(2) + "a"
