"""Activation layers: thin modules over ``nabla.functional``."""

from __future__ import annotations

from ... import functional as F
from ...tensor import Tensor
from ..module import Module


class _Activation(Module):
    def _check(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(f"expected a Tensor input, got {type(input).__name__}")
        return input


class Sigmoid(_Activation):
    """``1 / (1 + exp(-x))``."""

    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(self._check(input))


class Tanh(_Activation):
    """``tanh(x)``."""

    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(self._check(input))


class ReLU(_Activation):
    """``max(x, 0)``. ``inplace`` is accepted for compatibility (a new tensor is returned)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(self._check(input))

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(_Activation):
    """``x`` where positive, ``negative_slope * x`` elsewhere."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(self._check(input), self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(_Activation):
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(self._check(input), self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GELU(_Activation):
    """``x * Phi(x)``; ``approximate="tanh"`` for the tanh approximation."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(self._check(input), self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(_Activation):
    """``log(1 + exp(beta * x)) / beta`` (linear above ``threshold``)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(self._check(input), self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(_Activation):
    """Softmax along ``dim``."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(self._check(input), self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(_Activation):
    """Log-softmax along ``dim``."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(self._check(input), self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Step(_Activation):
    """Heaviside step (1 for x > 0, 0 for x < 0, ``value_at_zero`` at 0); its gradient is zero.

    The perceptron's activation: see ``nabla.functional.step`` for why the gradient is zero.
    """

    def __init__(self, value_at_zero: float = 1.0) -> None:
        super().__init__()
        self.value_at_zero = value_at_zero

    def forward(self, input: Tensor) -> Tensor:
        return F.step(self._check(input), self.value_at_zero)

    def extra_repr(self) -> str:
        return f"value_at_zero={self.value_at_zero}"


class _Simple(_Activation):
    """An activation with no settings but ``inplace`` (accepted; a new tensor is returned)."""

    _fn = "silu"

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return getattr(F, self._fn)(self._check(input))

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class SiLU(_Simple):
    """``x * sigmoid(x)`` (swish)."""

    _fn = "silu"


class Mish(_Simple):
    """``x * tanh(softplus(x))``."""

    _fn = "mish"


class ReLU6(_Simple):
    """``min(max(x, 0), 6)``."""

    _fn = "relu6"


class Hardsigmoid(_Simple):
    """``relu6(x + 3) / 6``."""

    _fn = "hardsigmoid"


class Hardswish(_Simple):
    """``x * relu6(x + 3) / 6``."""

    _fn = "hardswish"


class SELU(_Simple):
    """Self-normalising ELU with the paper's constants."""

    _fn = "selu"


class Softsign(_Activation):
    """``x / (1 + |x|)``."""

    def forward(self, input: Tensor) -> Tensor:
        return F.softsign(self._check(input))


class LogSigmoid(_Activation):
    """``log(sigmoid(x))``."""

    def forward(self, input: Tensor) -> Tensor:
        return F.logsigmoid(self._check(input))


class Tanhshrink(_Activation):
    """``x - tanh(x)``."""

    def forward(self, input: Tensor) -> Tensor:
        return F.tanhshrink(self._check(input))


class Hardtanh(_Activation):
    """``x`` clipped to ``[min_val, max_val]``."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.hardtanh(self._check(input), self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class CELU(_Activation):
    """``alpha * elu(x / alpha)``."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.celu(self._check(input), self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GLU(_Activation):
    """Gated linear unit over ``dim``: ``a * sigmoid(b)`` for the two halves."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.glu(self._check(input), self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmin(_Activation):
    """``softmax(-x)`` along ``dim``."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmin(self._check(input), self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Threshold(_Activation):
    """``x`` where ``x > threshold``, else ``value``."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.threshold(self._check(input), self.threshold, self.value)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}" + (", inplace=True" if self.inplace else "")
