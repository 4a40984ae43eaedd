"""Fused vs composed: linear, batch norm, layer norm and the embedding backward (fwd + bwd, CPU).

Run: ``PYTHONPATH=src python benchmarks/bench_layers.py``. Prints the median time per step of the
fused op (what ``nabla.functional`` uses) and of the same function composed from nabla primitives,
plus the row scatter-add behind the embedding backward three ways. The numbers behind the choices
documented in ``src/nabla/ops/`` (``linalg.py``, ``norm.py``, ``embedding.py``).
"""

from __future__ import annotations

import statistics
import time

import numpy as np

import nabla
import nabla.nn.functional as F


def bench(fn, repeat: int = 30) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6  # microseconds


def composed_batch_norm(x, w, b, eps=1e-5):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    mean = x.mean(axes, keepdim=True)
    xc = x - mean
    var = (xc * xc).mean(axes, keepdim=True)
    return xc * (var + eps).rsqrt() * w.reshape(shape) + b.reshape(shape)


def composed_layer_norm(x, w, b, eps=1e-5):
    mean = x.mean(-1, keepdim=True)
    xc = x - mean
    var = (xc * xc).mean(-1, keepdim=True)
    return xc * (var + eps).rsqrt() * w + b


def fwd_bwd(f, x, w, b):
    def run():
        for t in (x, w, b):
            t.grad = None
        f(x, w, b).sum().backward()
    return run


def main() -> None:
    nabla.manual_seed(0)
    print("op                         shape              fused us   composed us   ratio")
    for n, i, o in [(4, 2, 8), (64, 64, 128), (256, 512, 512)]:
        x = nabla.randn(n, i, requires_grad=True)
        w = nabla.randn(o, i, requires_grad=True)
        b = nabla.randn(o, requires_grad=True)
        fused = bench(fwd_bwd(F.linear, x, w, b), 200)
        comp = bench(fwd_bwd(lambda x, w, b: nabla.matmul(x, w.T) + b, x, w, b), 200)
        print(f"linear                     {str((n, i, o)):18} {fused:9.0f} {comp:12.0f} {comp / fused:8.2f}x")
    for shape in [(64, 128), (256, 512), (32, 64, 16, 16)]:
        x = nabla.randn(*shape, requires_grad=True)
        w = nabla.ones(shape[1], requires_grad=True)
        b = nabla.zeros(shape[1], requires_grad=True)
        fused = bench(fwd_bwd(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), x, w, b))
        comp = bench(fwd_bwd(composed_batch_norm, x, w, b))
        print(f"batch_norm (train)         {str(shape):18} {fused:9.0f} {comp:12.0f} {comp / fused:8.2f}x")
    for shape in [(64, 128), (256, 512), (32, 64, 256)]:
        x = nabla.randn(*shape, requires_grad=True)
        w = nabla.ones(shape[-1], requires_grad=True)
        b = nabla.zeros(shape[-1], requires_grad=True)
        fused = bench(fwd_bwd(lambda x, w, b: F.layer_norm(x, shape[-1], w, b), x, w, b))
        comp = bench(fwd_bwd(composed_layer_norm, x, w, b))
        print(f"layer_norm                 {str(shape):18} {fused:9.0f} {comp:12.0f} {comp / fused:8.2f}x")

    print("\nembedding backward: scatter-add of n rows of width d into a (V, d) table")
    print("n        V      d     add.at us   bincount us   sparse-matmul us")
    import scipy.sparse

    rng = np.random.default_rng(0)
    for n, v, d in [(4096, 1000, 64), (32 * 128, 10000, 128), (65536, 5000, 32)]:
        idx = rng.integers(0, v, n)
        g = rng.standard_normal((n, d)).astype(np.float32)

        def add_at():
            out = np.zeros((v, d), np.float32)
            np.add.at(out, idx, g)
            return out

        def bincount():
            pos = (idx[:, None] * d + np.arange(d)).ravel()
            return np.bincount(pos, weights=g.ravel(), minlength=v * d).reshape(v, d).astype(np.float32)

        def sparse():
            m = scipy.sparse.csr_matrix((np.ones(n, np.float32), (idx, np.arange(n))), shape=(v, n))
            return m @ g

        assert np.allclose(add_at(), bincount(), atol=1e-4) and np.allclose(add_at(), sparse(), atol=1e-4)
        print(f"{n:<8} {v:<6} {d:<5} {bench(add_at, 10):10.0f} {bench(bincount, 10):13.0f} {bench(sparse, 10):17.0f}")


if __name__ == "__main__":
    main()
