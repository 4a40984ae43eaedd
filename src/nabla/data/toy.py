"""Small 2-D classification sets in the style of the TensorFlow Playground.

Each classification set returns ``(train, test)`` ``TensorDataset``s of float32 points ``(N, 2)`` and
int64 labels ``(N,)`` in {0, 1}; the regression sets (``plane``, ``multi_gauss``) return float32
targets ``(N, 1)`` in [-1, 1]. Points lie roughly in ``[-1, 1]^2``; ``noise`` is the standard deviation
of the Gaussian jitter added to them (for ``gauss``, it widens the clusters). The two classes have
``n // 2`` and ``n - n // 2`` points. Everything is drawn with NumPy from ``seed`` alone, so the
same arguments always give the same data, whatever nabla's own generator is doing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy

from .dataset import TensorDataset

__all__ = ["xor", "circle", "gauss", "spiral", "moons", "plane", "multi_gauss"]


def _check(name: str, n: int, noise: float, test_ratio: float) -> None:
    if not isinstance(n, int) or n < 2:
        raise ValueError(f"{name}: n must be an int >= 2, got {n!r}")
    if noise < 0:
        raise ValueError(f"{name}: noise must be >= 0, got {noise}")
    if not 0 <= test_ratio < 1:
        raise ValueError(f"{name}: test_ratio must lie in [0, 1), got {test_ratio}")


def _finish(x: numpy.ndarray, y: numpy.ndarray, test_ratio: float, rng: numpy.random.Generator):
    """Shuffle, then split off the first ``test_ratio`` as the test part; points become float32."""
    perm = rng.permutation(len(y))
    x, y = x[perm].astype(numpy.float32), y[perm]
    n_test = int(round(len(y) * test_ratio))
    return TensorDataset(x[n_test:], y[n_test:]), TensorDataset(x[:n_test], y[:n_test])


def _make(name: str, gen: Callable[[numpy.random.Generator, int, int, float], numpy.ndarray]):
    def build(n: int = 500, noise: float = 0.1, test_ratio: float = 0.2, seed: int = 0):
        _check(name, n, noise, test_ratio)
        rng = numpy.random.default_rng(seed)
        n0 = n // 2
        n1 = n - n0
        x = gen(rng, n0, n1, noise)
        y = numpy.concatenate([numpy.zeros(n0, numpy.int64), numpy.ones(n1, numpy.int64)])
        return _finish(x, y, test_ratio, rng)

    build.__name__ = build.__qualname__ = name
    return build


def _xor(rng, n0, n1, noise):
    # label 1 where x*y > 0 (quadrants I and III), 0 in II and IV; a small gap keeps off the axes
    def pts(m, same_sign):
        a = rng.uniform(0.05, 1.0, size=(m, 2))
        s = rng.choice([-1.0, 1.0], size=m)
        return a * numpy.stack([s, s if same_sign else -s], axis=1)

    x = numpy.concatenate([pts(n0, False), pts(n1, True)])
    return x + rng.normal(0, noise, x.shape)


def _circle(rng, n0, n1, noise):
    # label 1 inside radius 0.5, label 0 in the ring 0.7..1.0
    def pts(m, r_lo, r_hi):
        r = rng.uniform(r_lo, r_hi, m)
        t = rng.uniform(0, 2 * numpy.pi, m)
        return numpy.stack([r * numpy.cos(t), r * numpy.sin(t)], axis=1)

    x = numpy.concatenate([pts(n0, 0.7, 1.0), pts(n1, 0.0, 0.5)])
    return x + rng.normal(0, noise, x.shape)


def _gauss(rng, n0, n1, noise):
    # two Gaussian blobs at (-0.4, -0.4) (label 0) and (0.4, 0.4) (label 1)
    std = 0.1 + noise
    return numpy.concatenate([rng.normal(-0.4, std, (n0, 2)), rng.normal(0.4, std, (n1, 2))])


def _spiral(rng, n0, n1, noise):
    # two interleaved arms, 1.75 turns each
    def arm(m, delta):
        r = numpy.linspace(0.05, 1.0, m)
        t = 1.75 * 2 * numpy.pi * r + delta
        return numpy.stack([r * numpy.sin(t), r * numpy.cos(t)], axis=1)

    x = numpy.concatenate([arm(n0, numpy.pi), arm(n1, 0.0)])
    return x + rng.normal(0, noise, x.shape)


def _moons(rng, n0, n1, noise):
    # scikit-learn's two moons, centred and scaled into [-1, 1]
    t0 = rng.uniform(0, numpy.pi, n0)
    t1 = rng.uniform(0, numpy.pi, n1)
    x = numpy.concatenate([
        numpy.stack([numpy.cos(t0), numpy.sin(t0)], axis=1),
        numpy.stack([1 - numpy.cos(t1), 0.5 - numpy.sin(t1)], axis=1),
    ])
    x = (x - [0.5, 0.25]) / 1.5
    return x + rng.normal(0, noise, x.shape)


xor = _make("xor", _xor)
circle = _make("circle", _circle)
gauss = _make("gauss", _gauss)
spiral = _make("spiral", _spiral)
moons = _make("moons", _moons)


# --------------------------------------------------------------------------------- regression


def _regression(name: str, target: Callable[[numpy.ndarray], numpy.ndarray]):
    def build(n: int = 500, noise: float = 0.1, test_ratio: float = 0.2, seed: int = 0):
        _check(name, n, noise, test_ratio)
        rng = numpy.random.default_rng(seed)
        x = rng.uniform(-1, 1, (n, 2))
        y = target(x + rng.uniform(-1, 1, x.shape) * noise)  # as the Playground: noise moves the label's input
        return _finish(x, y.astype(numpy.float32)[:, None], test_ratio, rng)

    build.__name__ = build.__qualname__ = name
    return build


def _plane_target(x: numpy.ndarray) -> numpy.ndarray:
    # TensorFlow Playground's "regress plane": (x1 + x2) on [-6, 6]^2 scaled by 1/10, here on [-1, 1]^2
    return numpy.clip((x[:, 0] + x[:, 1]) * 0.6, -1, 1)


_GAUSS_CENTRES = numpy.array([[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]]) / [
    6,
    6,
    1,
]


def _multi_gauss_target(x: numpy.ndarray) -> numpy.ndarray:
    # TensorFlow Playground's "regress gaussian": six bumps of alternating sign; the strongest wins
    d = numpy.linalg.norm(x[:, None, :] - _GAUSS_CENTRES[None, :, :2], axis=2) * 6  # distances in its units
    v = _GAUSS_CENTRES[:, 2] * numpy.clip(1 - d / 2, 0, 1)
    return v[numpy.arange(len(x)), numpy.abs(v).argmax(axis=1)]


plane = _regression("plane", _plane_target)
multi_gauss = _regression("multi_gauss", _multi_gauss_target)
