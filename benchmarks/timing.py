"""Timing helpers shared by every benchmark: interleaved, warmed-up, median-based.

The machine these run on is shared and noisy, so a single long loop per framework would let a burst
of noise land on one side only. :func:`compare` instead times short *blocks* of calls and alternates
the contenders block by block (A B C, then C B A, ...), so noise spreads over all of them, and
reports the median (with p10 and p90) of the per-call time over all blocks, never the mean.

Usage::

    stats = compare({"nabla": step_nabla, "torch": step_torch}, Settings(rounds=40))
    stats["nabla"].median  # seconds per call

A benchmark module returns :class:`Row` objects; ``run.py`` turns them into RESULTS.md.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy

perf_counter = time.perf_counter


@dataclass
class Settings:
    """How long to measure. ``run.py`` builds one for a full run and a smaller one for ``--quick``.

    rounds:    blocks timed per contender (the samples behind median / p10 / p90)
    block_s:   target wall time of one block; the number of calls in a block is calibrated to it
    warmup_s:  time spent calling each contender before calibrating (caches, allocator, JIT-free warm-up)
    min_calls: lower bound on calls per block (so a block of a slow step still holds >= 1 call)
    """

    rounds: int = 40
    block_s: float = 0.02
    warmup_s: float = 0.2
    min_calls: int = 1

    def scaled(self, rounds: float | None = None, block: float | None = None) -> Settings:
        """A copy with ``rounds`` and/or ``block_s`` multiplied (for a benchmark that wants more or less)."""
        return Settings(
            rounds=max(3, int(round(self.rounds * (rounds or 1.0)))),
            block_s=self.block_s * (block or 1.0),
            warmup_s=self.warmup_s,
            min_calls=self.min_calls,
        )


@dataclass
class Stats:
    """Per-call times in seconds, one sample per block."""

    samples: numpy.ndarray
    calls_per_block: int

    @property
    def median(self) -> float:
        return float(numpy.median(self.samples))

    @property
    def p10(self) -> float:
        return float(numpy.percentile(self.samples, 10))

    @property
    def p90(self) -> float:
        return float(numpy.percentile(self.samples, 90))

    @property
    def calls(self) -> int:
        """Total timed calls (blocks x calls per block)."""
        return len(self.samples) * self.calls_per_block

    def __str__(self) -> str:
        return f"{fmt_time(self.median)} [p10 {fmt_time(self.p10)}, p90 {fmt_time(self.p90)}]"


@dataclass
class Row:
    """One line of the results table.

    ``contender`` / ``baseline`` are usually nabla / torch; ratio = contender median / baseline median.
    ``target`` is the highest acceptable ratio (None: informational row). ``notes`` end up in RESULTS.md.
    """

    group: str
    name: str
    contender: Stats
    baseline: Stats
    contender_label: str = "nabla"
    baseline_label: str = "torch"
    target: float | None = None
    notes: list[str] = field(default_factory=list)
    sanity: str | None = None  # e.g. "loss diff 3e-7 after 5 steps (ok)"
    sanity_ok: bool = True
    reference: Stats | None = None  # optional third contender, e.g. a pure-NumPy floor
    reference_label: str = ""

    @property
    def ratio(self) -> float:
        return self.contender.median / self.baseline.median

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.ratio <= self.target


def fmt_time(seconds: float) -> str:
    """Human units: 12.3 us, 4.56 ms, 1.23 s."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def _time_block(fn: Callable[[], object], calls: int) -> float:
    t0 = perf_counter()
    for _ in range(calls):
        fn()
    return perf_counter() - t0


def warm_up(fn: Callable[[], object], seconds: float, min_calls: int = 3) -> float:
    """Call ``fn`` for about ``seconds`` (at least ``min_calls`` times); return the mean time per call."""
    n, t0 = 0, perf_counter()
    while n < min_calls or perf_counter() - t0 < seconds:
        fn()
        n += 1
    return (perf_counter() - t0) / n


def compare(fns: dict[str, Callable[[], object]], settings: Settings) -> dict[str, Stats]:
    """Time each zero-argument callable in ``fns``, interleaved block by block; return per-call Stats.

    1. Warm-up: each callable runs for ``settings.warmup_s``, then for one more ``settings.block_s``
       whose mean time per call sets the block size, so every contender gets blocks of about
       ``settings.block_s``.
    2. ``settings.rounds`` rounds; in each, every contender times one block. The order alternates
       (forward, then reversed) so neither side always runs right after the other.

    The garbage collector stays on (as in a real training loop), after one collection up front.
    """
    names = list(fns)
    calls = {}
    for name in names:
        warm_up(fns[name], settings.warmup_s)
        per_call = warm_up(fns[name], settings.block_s)  # calibration, after the slow first calls
        calls[name] = max(settings.min_calls, int(settings.block_s / max(per_call, 1e-9)))
    samples: dict[str, list[float]] = {name: [] for name in names}
    gc.collect()
    for r in range(settings.rounds):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            samples[name].append(_time_block(fns[name], calls[name]) / calls[name])
    return {name: Stats(numpy.asarray(samples[name]), calls[name]) for name in names}


def sgd_phases(lib, forward, params, lr):
    """The phases of a hand-written SGD training step over ``forward()``'s loss, for ``lib`` (nabla or torch).

    ``forward+backward`` drops the gradients afterwards (``q.grad = None``) so nothing accumulates;
    ``update`` is ``with no_grad(): q -= lr * q.grad; q.grad = None``; ``step`` is all three.
    """
    no_grad = lib.no_grad

    def forward_backward():
        loss = forward()
        loss.backward()
        for q in params:
            q.grad = None
        return loss

    def update():
        with no_grad():
            for q in params:
                q -= lr * q.grad
                q.grad = None

    def step():
        loss = forward()
        loss.backward()
        update()
        return loss

    return {"forward": forward, "forward+backward": forward_backward, "update": update, "step": step}
