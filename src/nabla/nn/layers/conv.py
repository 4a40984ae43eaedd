"""Convolution layers: Conv1d, Conv2d, ConvTranspose2d (NCHW, PyTorch's arguments, init and keys).

The arithmetic lives in ``nabla/ops/conv.py`` (lowered to one GEMM; its docstring states the speed
and the memory). Parameters: ``weight`` (out, in/groups, *kernel) for convolutions,
(in, out/groups, *kernel) for the transposed one, and ``bias`` (out,). Initialised as PyTorch:
``kaiming_uniform_(weight, a=sqrt(5))`` = U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias from the
same range, with ``fan_in`` = weight.shape[1] * prod(kernel).
"""

from __future__ import annotations

import math
from typing import Any

from ...creation import empty
from ...ops.conv import _int_tuple, conv1d, conv2d, conv_transpose2d
from ...ops.shape import pad
from ...tensor import Tensor
from .. import init
from ..module import Module
from ..parameter import Parameter


class _ConvNd(Module):
    """Shared constructor, initialisation and repr of the convolution layers."""

    _n = 2
    _transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any, padding: Any,
                 dilation: Any, groups: int, bias: bool, padding_mode: str, output_padding: Any = 0,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        name, n = type(self).__name__, self._n
        for arg, v in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name}: {arg} must be a positive int, got {v!r}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        modes = ("zeros",) if self._transposed else ("zeros", "reflect", "replicate", "circular")
        if padding_mode not in modes:
            raise ValueError(f"{name}: padding_mode must be one of {', '.join(modes)}, got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _int_tuple(kernel_size, n, "kernel_size", name, 1)
        self.stride = _int_tuple(stride, n, "stride", name, 1)
        self.dilation = _int_tuple(dilation, n, "dilation", name, 1)
        if isinstance(padding, str):
            if padding not in ("same", "valid") or self._transposed:
                allowed = "ints" if self._transposed else "ints, same or valid"
                raise ValueError(f"{name}: padding must be {allowed}, got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(
                    f"{name}: padding='same' is not supported for strided convolutions (stride {self.stride})"
                )
            self.padding = padding
        else:
            self.padding = _int_tuple(padding, n, "padding", name, 0)
        self.output_padding = _int_tuple(output_padding, n, "output_padding", name, 0)
        self.padding_mode = padding_mode
        if self._transposed:
            shape = (in_channels, out_channels // groups, *self.kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = Parameter(empty(*shape, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def _check(self, input: Any) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(f"expected a Tensor input, got {type(input).__name__}")
        n = self._n
        dims = "(N, C, L) or (C, L)" if n == 1 else "(N, C, H, W) or (C, H, W)"
        batched = input.ndim == n + 2
        if input.ndim not in (n + 1, n + 2) or input.shape[1 if batched else 0] != self.in_channels:
            want = dims.replace("C", str(self.in_channels))
            raise ValueError(f"expected input {want}, got {input.shape}")
        return input

    def _padded(self, x: Tensor) -> tuple[Tensor, Any]:
        """For ``padding_mode`` other than zeros: ``x`` padded by ``F.pad(mode=...)`` and padding 0 for the
        convolution; otherwise ``x`` and the layer's padding unchanged."""
        if self.padding_mode == "zeros":
            return x, self.padding
        n = self._n
        if self.padding == "same":
            total = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            sides = [(t // 2, t - t // 2) for t in total]
        elif self.padding == "valid":
            sides = [(0, 0)] * n
        else:
            sides = [(p, p) for p in self.padding]
        widths = [w for lo_hi in reversed(sides) for w in lo_hi]  # F.pad order: last dimension first
        return pad(x, widths, mode=self.padding_mode), (0,) * n

    def extra_repr(self) -> str:
        n = self._n
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) -> (N, C_out, L_out), ``L_out = (L + 2p - d*(k-1) - 1) // s + 1``."""

    _n = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device=device, dtype=dtype)

    def forward(self, input: Tensor) -> Tensor:
        x, p = self._padded(self._check(input))
        p = p if isinstance(p, str) else p[0]
        return conv1d(x, self.weight, self.bias, self.stride[0], p, self.dilation[0], self.groups)


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) -> (N, C_out, H_out, W_out).

    ``H_out = (H + 2*ph - dh*(kh-1) - 1) // sh + 1``; ``padding`` may be ``"same"`` (stride 1) or
    ``"valid"``; ``groups=in_channels`` makes it depthwise. ``padding_mode``: "zeros", "reflect", "replicate" or
    "circular" (the input is padded by ``F.pad`` with that mode, then convolved without padding).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device=device, dtype=dtype)

    def forward(self, input: Tensor) -> Tensor:
        x, p = self._padded(self._check(input))
        return conv2d(x, self.weight, self.bias, self.stride, p, self.dilation, self.groups)


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution (the gradient of Conv2d, run forward): upsampling in decoders and GANs.

    ``H_out = (H - 1)*sh - 2*ph + dh*(kh-1) + output_padding + 1``. ``forward(input, output_size=None)``:
    ``output_size`` picks ``output_padding`` so the output has that (H, W), as in PyTorch.
    """

    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, output_padding, device=device, dtype=dtype)

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        x = self._check(input)
        outpad = self.output_padding
        if output_size is not None:
            want = tuple(output_size)[-2:]
            outpad = []
            for i in range(2):
                base = ((x.shape[x.ndim - 2 + i] - 1) * self.stride[i] - 2 * self.padding[i]
                        + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
                extra = want[i] - base
                if not 0 <= extra < self.stride[i]:
                    raise ValueError(
                        f"ConvTranspose2d: requested output size {tuple(want)} is not reachable from input {x.shape}; "
                        f"the sizes along dimension {i} lie in [{base}, {base + self.stride[i] - 1}]"
                    )
                outpad.append(extra)
            outpad = tuple(outpad)
        return conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, outpad, self.groups,
                                self.dilation)
