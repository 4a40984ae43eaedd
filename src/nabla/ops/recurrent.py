"""Recurrent ops: one direction of one RNN / LSTM / GRU layer over a whole sequence, as one graph node.

Why a whole sequence per node: composed from primitives, an LSTM step is ~15 graph nodes, so a
50-step layer is ~750 nodes, each paying Python overhead in forward and backward. Here ``forward``
runs the time loop on raw arrays (writing into preallocated buffers) and ``backward`` runs
backpropagation through time in the same way, next to it. Measured on the benchmark LSTM (input 32,
hidden 128, 50 steps, batch 32, one BLAS thread; ``benchmarks/bench_rnn.py``, interleaved with
PyTorch on a shared 2-core Intel AVX-512 machine under load, CPU time): a training step takes
~1.4x PyTorch's time fused (the GRU's ~0.85x), 3-4x composed from primitive ops step by step.

The speed tricks, each a few lines:

* LSTM and GRU: feature-major layout. Inside the op the batch is the last (contiguous) axis (and
  the LSTM's gates are stored as i, f, o, g), so each gate of a step is one contiguous (H, B) block. NumPy runs an
  elementwise op on the (B, H) column slices of a row-major (B, 4H) block 3-5x slower than on
  contiguous memory (2.2-4.2 us against 0.7 us per (32, 128) multiply here), and there are ~10
  such ops per step;
* LSTM: the step's input is the column block ``z_t = [h_{t-1}; x_t; 1]``, so ``[W_hh | W_ih | b]``
  gives every pre-activation (input projection and bias included) in one GEMM per step, and
  ``h_t`` is written straight into ``z_{t+1}``; backward gets ``dW_hh``, ``dW_ih`` and the bias
  gradient from one GEMM ``sum_t dgates_t z_t^T`` after the loop. GRU: the input projections of
  all steps are computed before the loop (one stacked matmul), each step's GEMM is
  ``[W_hh | b_hh] [h; 1]``, the weight gradients one GEMM each after it. RNN: the input projection
  is one GEMM before the loop, the hidden one a GEMM per step, row-major;
* LSTM gates: ``sigmoid(a) = (1 + tanh(a / 2)) / 2`` with the halving folded into the weights, so
  one ``tanh`` covers all four gates (on this CPU NumPy's float32 ``tanh`` costs less than the
  ``exp``, add and reciprocal of ``1 / (1 + exp(-a))``); the GRU's r and z likewise;
* backward: each gate's pre-activation gradient is ``dc`` or ``dh`` times a factor that does not
  depend on the recurrence (e.g. ``g * i * (1 - i)``); the factors are computed for a cache-sized
  block of steps at once, leaving ~7 array calls and one GEMM per step in the loop itself;
* under ``no_grad`` the LSTM and GRU keep nothing for backward and reuse one gate buffer for all steps;
* their large step buffers come from a pool (:class:`_Pool`) instead of fresh memory each step:
  fresh multi-megabyte arrays cost ~4,000 (LSTM) / ~2,400 (GRU) page faults per training step.

Variable lengths work like PyTorch's packed sequences: with ``lengths`` the batch is sorted by
length (longest first) inside the op, so at step ``t`` the sequences still running are a prefix
of the batch (a prefix of the columns in the feature-major ops: while more than half of the batch
runs they compute whole contiguous blocks and restore the rest, else only the running columns); a
finished sequence keeps its state (the final state
is the state at its last valid step) and its outputs past the end are zero. The reverse direction
starts each sequence at its own last valid step.

The op's output packs everything into one array (a node has one output): rows ``0..T-1`` are the
per-step outputs, row ``T`` the final hidden state and, for the LSTM, row ``T+1`` the final cell
state. The layers in ``nn/layers/recurrent.py`` slice them apart (views).

Higher-order gradients: when backward runs with ``create_graph=True`` it rebuilds the same forward
from differentiable nabla ops (``*_composed`` below, also the readable statement of the math) and
differentiates that, so the gradient is itself differentiable.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Any

import numpy

from ..autograd import Function, grad as _grad, is_grad_enabled
from ..backend import array_module as _xp
from ..tensor import Tensor

# ---------------------------------------------------------------------------------- shared parts


class _Plan:
    """How the time loop visits a batch: the order of steps and, with ``lengths``, the sorting.

    ``sizes[t]`` is the number of sequences still running at step ``t`` (a prefix of the sorted
    batch), or ``None`` when every sequence spans all ``T`` steps. ``order`` sorts the batch by
    length (longest first, stable) and ``inv`` undoes it; both ``None`` when already sorted.
    """

    def __init__(self, lengths: Any, T: int, B: int, reverse: bool) -> None:
        self.T, self.B, self.reverse = T, B, reverse
        self.steps = range(T - 1, -1, -1) if reverse else range(T)
        self.sizes = self.order = self.inv = None
        if lengths is None:
            return
        lengths = numpy.asarray(lengths, dtype=numpy.int64)
        order = numpy.argsort(-lengths, kind="stable")
        if numpy.any(order != numpy.arange(B)):
            self.order, self.inv = order, numpy.argsort(order)
        lengths = lengths[order]
        if lengths[-1] < T:
            self.sizes = [int(n) for n in (lengths[None, :] > numpy.arange(T)[:, None]).sum(axis=1)]

    def links(self, t: int) -> tuple[int, int, int]:
        """For step ``t``: (index of the state before it, index of the state after it, running rows)."""
        n = self.B if self.sizes is None else self.sizes[t]
        return (t + 1, t, n) if self.reverse else (t, t + 1, n)

    def sort(self, a: Any, axis: int) -> Any:
        """``a`` with its batch axis put in the loop's order (a copy when reordered)."""
        if self.order is None:
            return a
        xp = _xp(a)
        return xp.take(a, xp.asarray(self.order), axis=axis)

    def unsort(self, a: Any, axis: int) -> Any:
        if self.inv is None:
            return a
        xp = _xp(a)
        return xp.take(a, xp.asarray(self.inv), axis=axis)

    def zero_past_end(self, out: Any, steps: slice | None = None) -> None:
        """Zero the rows (T, B, ...) of sequences that have ended (within ``steps``, default all)."""
        if self.sizes is not None:
            for t in range(self.T)[steps or slice(None)]:
                out[t, self.sizes[t]:] = 0

    def backward_blocks(self, floats_per_step: int) -> Any:
        """The backward pass's steps (reverse loop order) in blocks of a few timesteps, as (slice, steps).

        A block spans about 256 KB of per-step buffers, so the gate-derivative factors computed
        for a whole block stay in the CPU cache until the loop uses them: one array call per block
        instead of one per step, without the memory traffic of computing them for all T at once.
        """
        k = max(1, 65536 // max(floats_per_step, 1))
        order = list(reversed(self.steps))
        for s in range(0, len(order), k):
            chunk = order[s:s + k]
            yield slice(min(chunk), max(chunk) + 1), chunk

    def first(self) -> int:
        """Index of the initial state in the (T + 1) state buffer."""
        return self.T if self.reverse else 0

    def outputs(self, states: Any) -> Any:
        """The per-step outputs inside the (T + 1, B, H) state buffer (the state after each step)."""
        return states[:self.T] if self.reverse else states[1:]

    def previous(self, states: Any) -> Any:
        """The state before each step, as (T, B, H), for the weight-gradient GEMM."""
        return states[1:] if self.reverse else states[:self.T]


def _quiet(xp: Any):
    """``exp`` may overflow to inf on purpose (1 / (1 + inf) = 0 is the right sigmoid); no warning."""
    return numpy.errstate(over="ignore") if xp is numpy else contextlib.nullcontext()


def _sigmoid_grad_times(s: Any, other: Any, out: Any) -> None:
    """``out = other * s * (1 - s)``: a sigmoid's derivative (from its output ``s``) times ``other``."""
    _xp(s).subtract(1, s, out=out)
    out *= s
    out *= other


def _wrap(a: Any) -> Tensor | None:
    return None if a is None else Tensor._wrap(a)


class _Pool:
    """Spare large arrays for the recurrent ops, by (shape, dtype); NumPy only (CuPy pools its own memory).

    Why: a training step of the benchmark LSTM needs ~16 MB of step buffers (gates, states, their
    gradients). glibc serves arrays that large with ``mmap`` and unmaps them when freed, so every
    step faulted in ~4,000 fresh zeroed pages: ~4,100 minor page faults per step against PyTorch's
    ~70, 4-5 ms of a 20 ms step on a loaded 2-core machine. The op takes its buffers from here and
    gives them back when the node that keeps them lets go (after backward, or when the graph is
    dropped), so the next step reuses the same memory. At most ``limit`` bytes are kept spare.
    """

    def __init__(self, limit: int = 256 << 20) -> None:
        self.spare: dict = {}
        self.size, self.limit = 0, limit

    def take(self, xp: Any, shape: tuple, dtype: Any, zeros: bool = False) -> Any:
        """An array of ``shape`` and ``dtype`` (zero-filled with ``zeros``), reused when one is spare."""
        if xp is numpy:
            spare = self.spare.get((shape, numpy.dtype(dtype)))
            if spare:
                try:
                    a = spare.pop()  # (atomic: another thread may have emptied the list since the test)
                except IndexError:
                    pass
                else:
                    self.size -= a.nbytes
                    if zeros:
                        a.fill(0)
                    return a
        return (xp.zeros if zeros else xp.empty)(shape, dtype=dtype)

    def give(self, *arrays: Any) -> None:
        """Hand arrays back for reuse; the caller must hold no view of them any more."""
        for a in arrays:
            if type(a) is numpy.ndarray and a.base is None and self.size + a.nbytes <= self.limit:
                self.spare.setdefault((a.shape, a.dtype), []).append(a)
                self.size += a.nbytes


_POOL = _Pool()


class _Saved:
    """The arrays a node keeps for backward, as attributes; back to :data:`_POOL` once the node drops this."""

    def __init__(self, **arrays: Any) -> None:
        self.__dict__.update(arrays)
        weakref.finalize(self, _POOL.give, *arrays.values())


def _scaled_t(xp: Any, w: Any, scale: Any, rows: int) -> tuple[Any, Any]:
    """``(w * scale).T`` for a GEMM ``x @ w_t`` over ``rows`` rows in all: (the operand, the pooled array
    to give back after use).

    For many rows the operand is a C-contiguous copy: OpenBLAS multiplies (32 x 128) by a transposed
    (128 x 384) view in 57 us, by a contiguous copy in 40 us. For few rows (a cell step, token-by-token
    generation) the transposing copy itself dominates (390 us for 768 x 256 here, against ~1 us lost
    per GEMV), so the operand stays a transposed view. Buffers come from the pool: fresh ones cost
    page faults on every call.
    """
    tmp = _POOL.take(xp, w.shape, w.dtype)
    if scale is None:
        tmp[...] = w
    else:
        xp.multiply(w, scale, out=tmp)
    if rows < 64:
        return tmp.T, tmp
    out = _POOL.take(xp, w.shape[::-1], w.dtype)
    out[...] = tmp.T
    _POOL.give(tmp)
    return out, out


class _Cut(Function):
    """Identity whose graph edge :func:`_backward_by_recompute` cuts while it differentiates."""

    def forward(self, x):
        return x

    def backward(self, g):
        return g


def _backward_by_recompute(node: Function, g: Tensor) -> tuple:
    """The vector-Jacobian product of ``node`` built from differentiable ops (for ``create_graph``).

    The node's forward is recomputed by ``node.composed`` from the saved inputs, each passed
    through a :class:`_Cut` identity, and differentiated with :func:`nabla.autograd.grad`. While it
    runs, the cut nodes have no parents, so that inner backward pass stops at this node's inputs
    (it must not reach, or fire hooks in, the graph below); afterwards they are reconnected, so the
    returned gradients depend on the inputs through the recomputed graph and can be differentiated
    again.
    """
    inputs, parents = node.inputs, node.parents
    cuts = [(_Cut.apply(t) if p is not None else t.detach()) for t, p in zip(inputs, parents)]
    saved = [(c._ctx, c._ctx.parents) for c in cuts if c._ctx is not None]
    for ctx, _ in saved:
        ctx.parents = (None,)
    try:
        out = node.composed(*cuts, **node.params)
        wanted = [c for c, p in zip(cuts, parents) if p is not None]
        grads = iter(_grad(out, wanted, g, create_graph=True, allow_unused=True))
    finally:
        for ctx, ps in saved:
            ctx.parents = ps
    return tuple(next(grads) if p is not None else None for p in parents)


class _RecurrentLayer(Function):
    """Shared backward dispatch: arrays when no graph is recorded, the composed ops otherwise."""

    save_inputs = True

    def backward(self, g):
        if is_grad_enabled():
            return _backward_by_recompute(self, g)
        wanted = [p is not None for p in self.parents]
        grads = self.backward_arrays(g._data, wanted)
        return tuple(_wrap(a) if w else None for a, w in zip(grads, wanted))


def _masks(lengths: Any, T: int, like: Tensor) -> list[Tensor | None]:
    """Per step, a (B, 1) bool mask of the sequences still running (None when all are)."""
    if lengths is None:
        return [None] * T
    lengths = numpy.asarray(lengths)
    xp = like._xp
    return [Tensor._wrap(xp.asarray((lengths > t)[:, None])) for t in range(T)]


def _run_composed(cell, x: Tensor, states: list, lengths: Any, reverse: bool) -> Tensor:
    """Loop ``cell(t, states) -> new states`` over time with nabla ops; pack outputs and final states.

    With ``lengths`` a finished sequence keeps its states and outputs zero (as the fused ops do).
    """
    from .comparison import where
    from .shape import stack

    T = x.shape[0]
    masks = _masks(lengths, T, x)
    outs: list = [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        new = cell(t, states)
        m = masks[t]
        if m is None:
            states, outs[t] = new, new[0]
        else:
            states = [where(m, a, b) for a, b in zip(new, states)]
            outs[t] = where(m, new[0], 0.0)
    return stack(outs + states)


# ------------------------------------------------------------------------------------------ LSTM


def _ifog(dst: Any, src: Any, H: int) -> None:
    """Copy ``src``'s gate rows from PyTorch's order i, f, g, o into ``dst`` in the order i, f, o, g.

    The permutation is its own inverse, so the same call maps i, f, o, g back. Three block copies
    (no fancy-index temporary: that gather cost ~1.8 ms per call for a 1024 x 256 weight here).
    """
    dst[:2 * H], dst[2 * H:3 * H], dst[3 * H:] = src[:2 * H], src[3 * H:], src[2 * H:3 * H]


class LSTMLayer(_RecurrentLayer):
    """One LSTM layer direction: ``(x, h0, c0, w_ih, w_hh[, b_ih, b_hh])`` -> (T + 2, B, H).

    Gates in PyTorch's order ``i, f, g, o`` (rows of ``w_ih`` / ``w_hh``)::

        i, f, o = sigmoid(...), g = tanh(...)     (pre-activations x W_ih^T + h W_hh^T + b)
        c' = f * c + i * g,   h' = o * tanh(c')

    Inside, everything is feature-major (the batch is the last, contiguous axis) and the gates are
    stored in the order ``i, f, o, g``, so every gate of a step is one contiguous (H, B) block: the
    elementwise ops run on contiguous memory (3-5x cheaper per call here than on the (B, H) column
    slices of a (B, 4H) row-major block). The step's input is the column block
    ``z = [h_prev; x_t; 1]`` (K = H + I + 1 rows), so ``W = [W_hh | W_ih | b]`` (4H, K) gives all
    pre-activations, input projection and bias included, in one GEMM per step; ``h'`` is written
    straight into the next step's ``z``. The sigmoid gates use ``sigmoid(a) = (1 + tanh(a / 2)) / 2``
    (their rows of ``W`` are halved), so one ``tanh`` covers the whole (4H, B) block.
    """

    def forward(self, x, h0, c0, w_ih, w_hh, *bias, lengths, reverse):
        xp = _xp(x)
        T, B, n_in = x.shape
        H = w_hh.shape[1]
        plan = _Plan(lengths, T, B, reverse)
        self.plan, self.params = plan, {"lengths": lengths, "reverse": reverse}
        x, h0, c0 = plan.sort(x, 1), plan.sort(h0, 0), plan.sort(c0, 0)
        dt = x.dtype
        K = H + n_in + (1 if bias else 0)
        w = _POOL.take(xp, (4 * H, K), dt)  # [W_hh | W_ih | b] in gate order i, f, o, g
        _ifog(w[:, :H], w_hh, H)
        _ifog(w[:, H:H + n_in], w_ih, H)
        if bias:
            _ifog(w[:, K - 1], bias[0] + bias[1], H)
        w[:3 * H] *= 0.5  # sigmoid(a) = (1 + tanh(a / 2)) / 2
        keep = is_grad_enabled()  # no graph will ask for backward: keep nothing, reuse one buffer per step
        z = _POOL.take(xp, (T + 1, K, B), dt)  # z[s] = [state s; x of the step that reads it; 1]
        plan.previous(z)[:, H:H + n_in] = x.transpose(0, 2, 1)
        z[T - plan.first(), H:H + n_in] = 0  # (the final state's block feeds no step)
        if bias:
            z[:, K - 1] = 1
        z[plan.first(), :H] = h0.T
        cs = _POOL.take(xp, (T + 1, H, B), dt)
        cs[plan.first()] = c0.T
        zeros = plan.sizes is not None  # (no garbage in columns of finished sequences)
        acts = _POOL.take(xp, (T if keep else 1, 4 * H, B), dt, zeros)  # i, f, o, g after their activations
        tanh_c = _POOL.take(xp, (T if keep else 1, H, B), dt, zeros)
        ig = xp.empty((H, B), dtype=dt)
        for t in plan.steps:
            prev, nxt, n = plan.links(t)
            zp, zn, cp, cn = z[prev], z[nxt, :H], cs[prev], cs[nxt]
            a, tc, igt = acts[t if keep else 0], tanh_c[t if keep else 0], ig
            sliced = n < B and 2 * n <= B  # few columns still run: compute only those (strided views)
            if sliced:  # finished sequences keep their state
                zn[:, n:], cn[:, n:] = zp[:H, n:], cp[:, n:]
                zp, zn, cp, cn, a, tc, igt = zp[:, :n], zn[:, :n], cp[:, :n], cn[:, :n], a[:, :n], tc[:, :n], ig[:, :n]
            xp.matmul(w, zp, out=a)
            xp.tanh(a, out=a)
            s = a[:3 * H]
            s *= 0.5
            s += 0.5
            xp.multiply(a[H:2 * H], cp, out=cn)  # c' = f c + i g
            xp.multiply(a[:H], a[3 * H:], out=igt)
            cn += igt
            xp.tanh(cn, out=tc)
            xp.multiply(a[2 * H:3 * H], tc, out=zn)  # h' = o tanh(c')
            if n < B and not sliced:  # most columns run: the contiguous block was cheaper; restore the rest
                zn[:, n:], cn[:, n:] = zp[:H, n:], cp[:, n:]
        out = xp.empty((T + 2, B, H), dtype=dt)
        out[:T] = plan.outputs(z)[:, :H].transpose(0, 2, 1)
        plan.zero_past_end(out)
        last = plan.T - plan.first()
        out[T], out[T + 1] = z[last, :H].T, cs[last].T
        if keep:
            self.saved, self.n_in = _Saved(acts=acts, z=z, cs=cs, tanh_c=tanh_c), n_in
            _POOL.give(w)
        else:
            _POOL.give(acts, z, cs, tanh_c, w)
        return plan.unsort(out, 1)

    def backward_arrays(self, gout, wanted):
        plan, saved = self.plan, self.saved
        acts, cs, tanh_c = saved.acts, saved.cs, saved.tanh_c
        w_ih, w_hh = self.inputs[3]._data, self.inputs[4]._data
        xp = _xp(gout)
        T, B, H, n_in = plan.T, plan.B, cs.shape[1], self.n_in
        dt = gout.dtype
        gout = plan.sort(gout, 1)
        g_out = _POOL.take(xp, (T, H, B), dt)
        g_out[...] = gout[:T].transpose(0, 2, 1)
        if plan.sizes is not None:  # outputs past a sequence's end are constant zeros: no gradient flows
            for t in range(T):
                g_out[t, :, plan.sizes[t]:] = 0
        dh, dc = gout[T].T.copy(), gout[T + 1].T.copy()
        rows = H + (n_in if wanted[0] else 0)  # the step's GEMM also gives dx_t when x needs a gradient
        w = _POOL.take(xp, (4 * H, rows), dt)  # [W_hh | W_ih] in PyTorch's gate order i, f, g, o
        w[:, :H] = w_hh
        if wanted[0]:
            w[:, H:] = w_ih
        w_t = w.T  # (rows, 4H): contiguous when the GEMMs cover many columns (see _scaled_t)
        if T * B >= 64:
            w_t = xp.ascontiguousarray(w_t)
        dz = _POOL.take(xp, (T, rows, B), dt, plan.sizes is not None)  # per step [dh_prev; dx_t]
        # Each gate's pre-activation gradient is dc (i, f, g) or dh (o) times a factor that does not
        # depend on the recurrence; the factors are computed a block of steps at a time into dgates,
        # whose rows are in PyTorch's order i, f, g, o (acts are i, f, o, g): the dc-scaled rows are
        # then one block, and the weight gradients need no reordering.
        dgates = _POOL.take(xp, (T, 4 * H, B), dt)
        c_prev = plan.previous(cs)
        tmp = xp.empty((H, B), dtype=dt)
        for sl, steps in plan.backward_blocks(B * 4 * H):
            a, d = acts[sl], dgates[sl]
            i, f, o, g = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            xp.subtract(1, a[:, :2 * H], out=d[:, :2 * H])  # sigmoid' = s (1 - s)
            d[:, :2 * H] *= a[:, :2 * H]
            d_o = d[:, 3 * H:]
            xp.subtract(1, o, out=d_o)
            d_o *= o
            d[:, :H] *= g  # di = dc * g * i (1 - i)
            d[:, H:2 * H] *= c_prev[sl]  # df = dc * c_prev * f (1 - f)
            d_o *= tanh_c[sl]  # do = dh * tanh(c) * o (1 - o)
            dg = d[:, 2 * H:3 * H]  # dg = dc * i * (1 - g^2)
            xp.multiply(g, g, out=dg)
            xp.subtract(1, dg, out=dg)
            dg *= i
            dc_dh = tanh_c[sl] * tanh_c[sl]  # dc += dh * o * (1 - tanh(c)^2)
            xp.subtract(1, dc_dh, out=dc_dh)
            dc_dh *= o
            if plan.sizes is not None:  # finished sequences: no gate gradient, dc passes through unchanged
                for t in steps:
                    dgates[t, :, plan.sizes[t]:] = 0
                    dc_dh[t - sl.start, :, plan.sizes[t]:] = 0
            for t in steps:
                n = plan.links(t)[2]
                dhn, dcn, tn, d, f, fac, go = dh, dc, tmp, dgates[t], acts[t, H:2 * H], dc_dh[t - sl.start], g_out[t]
                dzt = dz[t]
                sliced = n < B and 2 * n <= B  # few columns still run: compute only those (strided views)
                if sliced:  # finished sequences pass their state's gradient through
                    dzt[:H, n:] = dh[:, n:]
                    dhn, dcn, tn, d, f, fac, go, dzt = (dh[:, :n], dc[:, :n], tmp[:, :n], d[:, :n], f[:, :n],
                                                       fac[:, :n], go[:, :n], dzt[:, :n])
                elif n < B:  # most columns run: whole contiguous blocks (zeros past the end), restore the rest
                    dc_rest = dc[:, n:].copy()
                dhn += go
                xp.multiply(dhn, fac, out=tn)
                dcn += tn
                d_ifg = d[:3 * H].reshape(3, H, -1)
                d_ifg *= dcn
                d[3 * H:] *= dhn
                dcn *= f
                xp.matmul(w_t, d, out=dzt)
                if n < B and not sliced:
                    dzt[:H, n:], dc[:, n:] = dh[:, n:], dc_rest
                dh = dz[t, :H]
        grads = self._grads(dgates, dz, dh, dc, wanted)
        _POOL.give(g_out, dz, dgates, w)
        return grads

    def _grads(self, dgates, dz, dh, dc, wanted):
        """The inputs' gradients from the gate gradients (T, 4H, B) and the per-step [dh_prev; dx] (T, rows, B)."""
        plan, z, inputs = self.plan, self.saved.z, self.inputs
        xp = _xp(dgates)
        T, G, B = dgates.shape
        H, n_in = G // 4, self.n_in
        grads: list = [None] * len(inputs)
        if wanted[0]:  # (copies: nothing returned may be a view of a pooled buffer)
            grads[0] = plan.unsort(dz[:, H:].transpose(0, 2, 1).copy(), 1)
        if wanted[1]:
            grads[1] = plan.unsort(dh.T.copy(), 0)
        if wanted[2]:
            grads[2] = plan.unsort(dc.T.copy(), 0)
        if any(wanted[3:]):
            # dW = sum_t dgates_t z_t^T: one GEMM over (4H, T*B) x (T*B, K)
            zp = plan.previous(z)
            K = zp.shape[1]
            d2, z2 = _POOL.take(xp, (G, T, B), dgates.dtype), _POOL.take(xp, (K, T, B), z.dtype)
            d2[...], z2[...] = dgates.transpose(1, 0, 2), zp.transpose(1, 0, 2)
            dw = d2.reshape(G, T * B) @ z2.reshape(K, T * B).T  # (rows in PyTorch's gate order)
            _POOL.give(d2, z2)
            if wanted[3]:
                grads[3] = dw[:, H:H + n_in]
            if wanted[4]:
                grads[4] = dw[:, :H]
            if len(inputs) > 5:
                if wanted[5]:
                    grads[5] = dw[:, H + n_in]
                if wanted[6]:
                    grads[6] = dw[:, H + n_in].copy()
        return grads


def _input_grads(plan, dgates, x, hs, w_ih, inputs, wanted, dstates, k, dgates_hh):
    """Gradients of ``x``, the initial states, the weights and biases from the per-step gate gradients.

    ``k`` is the position of ``w_ih`` among the inputs (after x and the initial states). ``dgates_hh``
    is the gate gradient seen by ``W_hh`` and ``b_hh`` when it differs from the one seen by ``W_ih``
    (the GRU's candidate gate), else None.
    """
    T, B, G = dgates.shape
    d2 = dgates.reshape(T * B, G)
    dhh = d2 if dgates_hh is None else dgates_hh.reshape(T * B, G)
    grads: list = [None] * len(inputs)
    if wanted[0]:
        grads[0] = plan.unsort((d2 @ w_ih).reshape(T, B, -1), 1)
    for j, ds in enumerate(dstates):
        if wanted[1 + j]:
            grads[1 + j] = plan.unsort(ds, 0)
    if wanted[k]:
        grads[k] = d2.T @ x.reshape(T * B, -1)
    if wanted[k + 1]:
        grads[k + 1] = dhh.T @ plan.previous(hs).reshape(T * B, -1)
    if len(inputs) > k + 2:
        if wanted[k + 2]:
            grads[k + 2] = d2.sum(axis=0)
        if wanted[k + 3]:
            grads[k + 3] = dhh.sum(axis=0)
    return grads


def lstm_composed(x, h0, c0, w_ih, w_hh, *bias, lengths, reverse):
    """:class:`LSTMLayer` written with differentiable nabla ops (same inputs, same packed output)."""
    gx = x @ w_ih.T
    if bias:
        gx = gx + bias[0] + bias[1]

    def cell(t, states):
        h, c = states
        i, f, g, o = (gx[t] + h @ w_hh.T).chunk(4, -1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        return [o.sigmoid() * c.tanh(), c]

    return _run_composed(cell, x, [h0, c0], lengths, reverse)


LSTMLayer.composed = staticmethod(lstm_composed)


# ------------------------------------------------------------------------------------------- GRU


class GRULayer(_RecurrentLayer):
    """One GRU layer direction: ``(x, h0, w_ih, w_hh[, b_ih, b_hh])`` -> (T + 1, B, H).

    Gates in PyTorch's order ``r, z, n``; the hidden bias of ``n`` sits inside the reset product::

        r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr),   z likewise
        n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn)),   h' = (1 - z) * n + z * h

    Feature-major inside, as :class:`LSTMLayer`: each gate of a step is a contiguous (H, B) block.
    The input projections of all steps are one GEMM before the loop, ``gx`` (T, 3H, B); each step's
    GEMM is ``[W_hh | b_hh] [h; 1]``, its result ``gh`` kept for backward (``n`` needs ``h W_hn^T + b_hn``);
    r and z use ``sigmoid(a) = (1 + tanh(a / 2)) / 2`` (their rows halved), so one ``tanh`` covers both.
    """

    def forward(self, x, h0, w_ih, w_hh, *bias, lengths, reverse):
        xp = _xp(x)
        T, B, n_in = x.shape
        H = w_hh.shape[1]
        plan = _Plan(lengths, T, B, reverse)
        self.plan, self.params = plan, {"lengths": lengths, "reverse": reverse}
        x, h0 = xp.ascontiguousarray(plan.sort(x, 1)), plan.sort(h0, 0)
        dt = x.dtype
        keep = is_grad_enabled()  # no graph will ask for backward: keep nothing, reuse one buffer per step
        K = H + (1 if bias else 0)
        w = _POOL.take(xp, (3 * H, K), dt)  # [W_hh | b_hh], the r and z rows halved
        w[:, :H] = w_hh
        if bias:
            w[:, H] = bias[1]
        w[:2 * H] *= 0.5
        # The input projections of every step, feature-major: gx[t] = W_ih x_t^T + b_ih (r, z halved),
        # as one stacked matmul (T GEMMs of (3H, I) x (I, B)): measured 0.51 ms against 0.81 ms for one
        # big GEMM followed by NumPy's transposing copy into this layout.
        wi = _POOL.take(xp, (3 * H, n_in + 1), dt)
        wi[:, :n_in] = w_ih
        wi[:, n_in] = bias[0] if bias else 0
        wi[:2 * H] *= 0.5
        gx = _POOL.take(xp, (T, 3 * H, B), dt)
        xp.matmul(wi[:, :n_in], x.transpose(0, 2, 1), out=gx)
        if bias:
            gx += wi[:, n_in:n_in + 1]
        hz = _POOL.take(xp, (T + 1, K, B), dt)  # hz[s] = [state s; 1]
        if bias:
            hz[:, H] = 1
        hz[plan.first(), :H] = h0.T
        zeros = plan.sizes is not None  # (no garbage in columns of finished sequences)
        acts = _POOL.take(xp, (T if keep else 1, 3 * H, B), dt, zeros)  # r, z, n after their activations
        ghs = _POOL.take(xp, (T if keep else 1, 3 * H, B), dt, zeros)  # [W_hh | b_hh] h: backward needs its n rows
        for t in plan.steps:
            prev, nxt, n = plan.links(t)
            hp, hn, a, gh, g = hz[prev], hz[nxt, :H], acts[t if keep else 0], ghs[t if keep else 0], gx[t]
            sliced = n < B and 2 * n <= B  # few columns still run: compute only those (strided views)
            if sliced:  # finished sequences keep their state
                hn[:, n:] = hp[:H, n:]
                hp, hn, a, gh, g = hp[:, :n], hn[:, :n], a[:, :n], gh[:, :n], g[:, :n]
            if n < B and not sliced:  # (the GEMM only for the running columns; the rest is restored below)
                xp.matmul(w, hp[:, :n], out=gh[:, :n])
            else:
                xp.matmul(w, hp, out=gh)
            rz = a[:2 * H]
            xp.add(g[:2 * H], gh[:2 * H], out=rz)
            xp.tanh(rz, out=rz)
            rz *= 0.5
            rz += 0.5  # r, z = sigmoid(...)
            cand = a[2 * H:]
            xp.multiply(a[:H], gh[2 * H:], out=cand)  # n = tanh(x W_in^T + b_in + r (h W_hn^T + b_hn))
            cand += g[2 * H:]
            xp.tanh(cand, out=cand)
            xp.subtract(hp[:H], cand, out=hn)  # h' = n + z (h - n)
            hn *= a[H:2 * H]
            hn += cand
            if n < B and not sliced:  # most columns run: the contiguous block was cheaper; restore the rest
                hn[:, n:] = hp[:H, n:]
        out = xp.empty((T + 1, B, H), dtype=dt)
        out[:T] = plan.outputs(hz)[:, :H].transpose(0, 2, 1)
        plan.zero_past_end(out)
        out[T] = hz[T - plan.first(), :H].T
        _POOL.give(w, wi, gx)
        if keep:
            self.saved, self.x = _Saved(acts=acts, ghs=ghs, hz=hz), x
        else:
            _POOL.give(acts, ghs, hz)
        return plan.unsort(out, 1)

    def backward_arrays(self, gout, wanted):
        plan, x, saved = self.plan, self.x, self.saved
        acts, ghs, hz = saved.acts, saved.ghs, saved.hz
        w_ih, w_hh = self.inputs[2]._data, self.inputs[3]._data
        xp = _xp(gout)
        T, B, H = plan.T, plan.B, w_hh.shape[1]
        dt = gout.dtype
        gout = plan.sort(gout, 1)
        g_out = _POOL.take(xp, (T, H, B), dt)
        g_out[...] = gout[:T].transpose(0, 2, 1)
        if plan.sizes is not None:  # outputs past a sequence's end are constant zeros: no gradient flows
            for t in range(T):
                g_out[t, :, plan.sizes[t]:] = 0
        dh = gout[T].T.copy()
        w_t = w_hh.T  # (H, 3H): contiguous when the GEMMs cover many columns (see _scaled_t)
        if T * B >= 64:
            w_t = xp.ascontiguousarray(w_t)
        # Each projection's gradient is dh times a factor independent of the recurrence: computed a block
        # of steps at a time, into the gradients of the input (dgx) and hidden (dgh) projections.
        dgx = _POOL.take(xp, (T, 3 * H, B), dt)
        dgh = _POOL.take(xp, (T, 3 * H, B), dt)
        h_prev = plan.previous(hz)
        tmp = xp.empty((H, B), dtype=dt)
        for sl, steps in plan.backward_blocks(B * 6 * H):
            a, dx3, dh3 = acts[sl], dgx[sl], dgh[sl]
            r, z, cand = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
            one_minus_z = 1 - z
            dn = dx3[:, 2 * H:]  # dn = dh (1 - z) (1 - n^2)
            xp.multiply(cand, cand, out=dn)
            xp.subtract(1, dn, out=dn)
            dn *= one_minus_z
            dz = dx3[:, H:2 * H]  # dz = dh (h - n) z (1 - z)
            xp.subtract(h_prev[sl, :H], cand, out=dz)
            dz *= z
            dz *= one_minus_z
            _sigmoid_grad_times(r, ghs[sl, 2 * H:], dx3[:, :H])  # dr = dn hn r (1 - r)
            dx3[:, :H] *= dn
            dh3[:, :2 * H] = dx3[:, :2 * H]
            xp.multiply(dn, r, out=dh3[:, 2 * H:])  # the hidden candidate projection sits inside r * (...)
            if plan.sizes is not None:  # finished sequences: no gradient through their gates
                for t in steps:
                    dgx[t, :, plan.sizes[t]:] = 0
                    dgh[t, :, plan.sizes[t]:] = 0
            for t in steps:
                n = plan.links(t)[2]
                dhn, tn, dx_t, dh_t, z, go = dh, tmp, dgx[t], dgh[t], acts[t, H:2 * H], g_out[t]
                sliced = n < B and 2 * n <= B  # few columns still run: compute only those (strided views)
                if sliced:  # finished sequences pass dh through (their gate gradients are zero)
                    dhn, tn, dx_t, dh_t, z, go = dh[:, :n], tmp[:, :n], dx_t[:, :n], dh_t[:, :n], z[:, :n], go[:, :n]
                elif n < B:  # most columns run: whole contiguous blocks (zeros past the end), restore the rest
                    dh_rest = dh[:, n:].copy()
                dhn += go
                d3 = dx_t.reshape(3, H, -1)
                d3 *= dhn
                d3 = dh_t.reshape(3, H, -1)
                d3 *= dhn
                dhn *= z
                if n < B and not sliced:
                    xp.matmul(w_t, dh_t[:, :n], out=tn[:, :n])
                    dhn += tn
                    dh[:, n:] = dh_rest
                else:
                    xp.matmul(w_t, dh_t, out=tn)
                    dhn += tn
        grads: list = [None] * len(self.inputs)
        # Weight gradients, one GEMM each over all steps: dW_ih = sum_t dgx_t x_t, [dW_hh | db_hh] = sum_t
        # dgh_t [h_prev; 1]^T; the bias of the input projection is the sum of dgx.
        d2 = _POOL.take(xp, (3 * H, T, B), dt)
        d2[...] = dgx.transpose(1, 0, 2)
        d2 = d2.reshape(3 * H, T * B)
        if wanted[0]:
            grads[0] = plan.unsort((d2.T @ w_ih).reshape(T, B, -1), 1)
        if wanted[1]:
            grads[1] = plan.unsort(dh.T.copy(), 0)
        if wanted[2]:
            grads[2] = d2 @ x.reshape(T * B, -1)
        if len(self.inputs) > 4 and wanted[4]:
            grads[4] = d2.sum(axis=1)
        if wanted[3] or (len(self.inputs) > 4 and wanted[5]):
            K = hz.shape[1]
            e2, h2 = _POOL.take(xp, (3 * H, T, B), dt), _POOL.take(xp, (K, T, B), dt)
            e2[...], h2[...] = dgh.transpose(1, 0, 2), h_prev.transpose(1, 0, 2)
            dw = e2.reshape(3 * H, T * B) @ h2.reshape(K, T * B).T
            _POOL.give(e2, h2)
            if wanted[3]:
                grads[3] = dw[:, :H]
            if len(self.inputs) > 4 and wanted[5]:
                grads[5] = dw[:, H].copy()
        _POOL.give(g_out, dgx, dgh, d2.base)
        return grads


def gru_composed(x, h0, w_ih, w_hh, *bias, lengths, reverse):
    """:class:`GRULayer` written with differentiable nabla ops (same inputs, same packed output)."""
    gx = x @ w_ih.T
    if bias:
        gx = gx + bias[0]

    def cell(t, states):
        (h,) = states
        gh = h @ w_hh.T
        if bias:
            gh = gh + bias[1]
        xr, xz, xn = gx[t].chunk(3, -1)
        hr, hz, hn = gh.chunk(3, -1)
        r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
        n = (xn + r * hn).tanh()
        return [n + z * (h - n)]

    return _run_composed(cell, x, [h0], lengths, reverse)


GRULayer.composed = staticmethod(gru_composed)


# ------------------------------------------------------------------------------------ Elman RNN


class RNNLayer(_RecurrentLayer):
    """One Elman RNN layer direction: ``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)``, act tanh or relu.

    ``(x, h0, w_ih, w_hh[, b_ih, b_hh])`` -> (T + 1, B, H).
    """

    def forward(self, x, h0, w_ih, w_hh, *bias, lengths, reverse, nonlinearity):
        xp = _xp(x)
        T, B, _ = x.shape
        H = w_hh.shape[1]
        plan = _Plan(lengths, T, B, reverse)
        self.plan = plan
        self.params = {"lengths": lengths, "reverse": reverse, "nonlinearity": nonlinearity}
        x, h0 = xp.ascontiguousarray(plan.sort(x, 1)), plan.sort(h0, 0)
        gx = (x.reshape(T * B, -1) @ w_ih.T).reshape(T, B, H)
        if bias:
            gx += bias[0] + bias[1]
        w_hh_t, w_hh_owned = _scaled_t(xp, w_hh, None, T * B)
        hs = xp.empty((T + 1, B, H), dtype=x.dtype)
        hs[plan.first()] = h0
        for t in plan.steps:
            prev, nxt, n = plan.links(t)
            h = hs[nxt, :n]
            xp.matmul(hs[prev, :n], w_hh_t, out=h)
            h += gx[t, :n]
            if nonlinearity == "tanh":
                xp.tanh(h, out=h)
            else:
                xp.maximum(h, 0, out=h)
            if n < B:
                hs[nxt, n:] = hs[prev, n:]
        out = xp.empty((T + 1, B, H), dtype=x.dtype)
        out[:T] = plan.outputs(hs)
        plan.zero_past_end(out)
        out[T] = hs[T - plan.first()]
        self.hs, self.x, self.tanh = hs, x, nonlinearity == "tanh"
        _POOL.give(w_hh_owned)
        return plan.unsort(out, 1)

    def backward_arrays(self, gout, wanted):
        plan, hs, x = self.plan, self.hs, self.x
        w_ih, w_hh = self.inputs[2]._data, self.inputs[3]._data
        xp = _xp(gout)
        T = plan.T
        gout = plan.sort(gout, 1)
        dh = gout[T].copy()
        h = plan.outputs(hs)  # the activation's derivative for all steps at once: 1 - h^2, or h > 0
        if self.tanh:
            dpre = h * h
            xp.subtract(1, dpre, out=dpre)
        else:
            dpre = (h > 0).astype(h.dtype)
        plan.zero_past_end(dpre)
        for t in reversed(plan.steps):
            _, _, n = plan.links(t)
            dhn = dh[:n]
            dhn += gout[t, :n]
            d = dpre[t, :n]
            d *= dhn
            xp.matmul(d, w_hh, out=dhn)
        return _input_grads(plan, dpre, x, hs, w_ih, self.inputs, wanted, [dh], 2, None)


def rnn_composed(x, h0, w_ih, w_hh, *bias, lengths, reverse, nonlinearity):
    """:class:`RNNLayer` written with differentiable nabla ops (same inputs, same packed output)."""
    gx = x @ w_ih.T
    if bias:
        gx = gx + bias[0] + bias[1]

    def cell(t, states):
        pre = gx[t] + states[0] @ w_hh.T
        return [pre.tanh() if nonlinearity == "tanh" else pre.relu()]

    return _run_composed(cell, x, [h0], lengths, reverse)


RNNLayer.composed = staticmethod(rnn_composed)
