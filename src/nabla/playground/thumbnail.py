"""A saved experiment's thumbnail: the decision-boundary map as a small PNG, made on the server.

Made from the run's own numbers (never from an image the client sends), with a minimal PNG writer:
a PNG is a signature and three chunks (IHDR, IDAT = zlib-compressed scanlines, IEND).
"""

from __future__ import annotations

import struct
import zlib

import numpy

__all__ = ["PNG_SIGNATURE", "boundary_png", "png_bytes"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_LOW = numpy.array([245, 147, 34], numpy.float64)  # orange: class 0 / low values (the page's colours)
_MID = numpy.array([232, 234, 235], numpy.float64)
_HIGH = numpy.array([8, 119, 189], numpy.float64)  # blue: class 1 / high values


def png_bytes(rgb: numpy.ndarray) -> bytes:
    """An 8-bit RGB PNG of ``rgb`` (H, W, 3) uint8."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != numpy.uint8:
        raise ValueError(f"png_bytes: expected a (H, W, 3) uint8 array, got {rgb.shape} {rgb.dtype}")
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))  # filter type 0 on every scanline

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def boundary_png(values: numpy.ndarray, scale: int = 2) -> bytes:
    """``values`` (H, W) in [0, 1] coloured orange (0) - grey (0.5) - blue (1), enlarged ``scale`` times."""
    v = numpy.clip(numpy.nan_to_num(numpy.asarray(values, numpy.float64), nan=0.5), 0, 1)[..., None]
    lo = _LOW + (_MID - _LOW) * (v * 2)
    hi = _MID + (_HIGH - _MID) * (v * 2 - 1)
    rgb = numpy.where(v < 0.5, lo, hi).round().astype(numpy.uint8)
    rgb = rgb.repeat(scale, axis=0).repeat(scale, axis=1)
    return png_bytes(rgb)
