"""What a lab is made of: the ``Lab`` declaration, the ``LabContext`` the runner hands to it, and the
``LabResult`` it returns (``Measurement`` per configuration and metric, a ``Verdict`` computed from them).

A lab module defines ``run(ctx) -> LabResult`` and ``LAB = Lab(name=..., title=..., claim=..., note=...,
setup=..., seeds=3, run=run)``; ``nabla.labs.runner.run_lab`` builds the context, calls ``run`` and writes
``result.json``, the figures and a Markdown page.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class Verdict(str, Enum):
    """What the measurements say about the notes' claim."""

    SUPPORTED = "supported"
    REFUTED = "refuted"
    DEPENDS = "depends"  # true under a condition the result states

    def __str__(self) -> str:
        return self.value


@dataclass
class Measurement:
    """One metric of one configuration, one value per seed (in the order of ``ctx.seeds``).

    ``better`` says which direction is good (``"higher"``, ``"lower"`` or ``None`` when neither is);
    the report shows ``mean ± std`` (sample std over seeds, ``ddof=1``; 0 for one seed) with min and max.
    """

    config: str
    metric: str
    values: list[float]
    unit: str = ""
    better: str | None = None

    def __post_init__(self) -> None:
        if self.better not in ("higher", "lower", None):
            raise ValueError(f"Measurement({self.config!r}, {self.metric!r}): better must be 'higher', 'lower' or "
                             f"None, got {self.better!r}")
        try:
            self.values = [float(v) for v in self.values]
        except (TypeError, ValueError):
            raise TypeError(f"Measurement({self.config!r}, {self.metric!r}): values must be numbers (one per seed), "
                            f"got {self.values!r}") from None
        if not self.values:
            raise ValueError(f"Measurement({self.config!r}, {self.metric!r}): no values (need one per seed)")

    @property
    def mean(self) -> float:
        return math.fsum(self.values) / len(self.values)

    @property
    def std(self) -> float:
        if len(self.values) < 2:
            return 0.0
        m = self.mean
        return math.sqrt(math.fsum((v - m) ** 2 for v in self.values) / (len(self.values) - 1))

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def max(self) -> float:
        return max(self.values)

    def fmt(self, digits: int = 3) -> str:
        """``mean ± std`` with ``digits`` significant digits (and the unit)."""
        unit = f" {self.unit}" if self.unit else ""
        if not math.isfinite(self.mean):  # a diverged run: no spread to speak of
            return f"{self.mean}{unit}"
        return f"{_num(self.mean, digits)} ± {_num(self.std, digits)}{unit}"

    def to_dict(self) -> dict[str, Any]:
        return {"config": self.config, "metric": self.metric, "values": [_json_float(v) for v in self.values],
                "mean": _json_float(self.mean), "std": _json_float(self.std), "min": _json_float(self.min),
                "max": _json_float(self.max), "unit": self.unit, "better": self.better}


@dataclass
class LabResult:
    """What ``run(ctx)`` returns. ``verdict`` must be computed from ``measurements`` in the lab's code;
    ``condition`` is required for ``Verdict.DEPENDS``; ``notes_wrong`` is ``None`` when the notes are right."""

    measurements: list[Measurement]
    verdict: Verdict
    condition: str | None = None
    reading: str = ""
    notes_wrong: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.verdict, Verdict):
            try:
                self.verdict = Verdict(self.verdict)
            except ValueError:
                raise ValueError(f"LabResult: verdict must be one of {[v.value for v in Verdict]}, "
                                 f"got {self.verdict!r}") from None
        if self.verdict is Verdict.DEPENDS and not self.condition:
            raise ValueError("LabResult: a DEPENDS verdict needs the condition (one sentence)")
        if not self.measurements:
            raise ValueError("LabResult: no measurements")
        seen = set()
        for m in self.measurements:
            if (m.config, m.metric) in seen:
                raise ValueError(f"LabResult: measurement ({m.config!r}, {m.metric!r}) given twice")
            seen.add((m.config, m.metric))

    def get(self, config: str, metric: str) -> Measurement:
        """The measurement of ``metric`` for ``config``."""
        for m in self.measurements:
            if m.config == config and m.metric == metric:
                return m
        have = sorted({(m.config, m.metric) for m in self.measurements})
        raise KeyError(f"no measurement ({config!r}, {metric!r}); have {have}")


@dataclass(frozen=True)
class Lab:
    """A lab's declaration: what claim of the notes it tests, and the function that tests it."""

    name: str  # == module name; `nabla lab run NAME`
    title: str
    claim: str  # English, quoted or paraphrased from the note
    note: str  # file(s) in the notes folder, comma-separated
    setup: str  # what is compared, on what data, what changes and what is held fixed
    run: Callable[[LabContext], LabResult]
    seeds: int = 3  # default number of seeds for a full run

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"Lab name must be snake_case (the module name), got {self.name!r}")
        if not isinstance(self.seeds, int) or self.seeds < 3:
            raise ValueError(f"Lab {self.name}: seeds must be an int >= 3 (a claim needs spread), got {self.seeds!r}")
        for attr in ("title", "claim", "note", "setup"):
            if not getattr(self, attr):
                raise ValueError(f"Lab {self.name}: {attr} is empty")

    @property
    def notes(self) -> list[str]:
        return [n.strip() for n in self.note.split(",") if n.strip()]


@dataclass
class LabContext:
    """What the runner hands to ``run``: the configuration (quick or full), the seeds, the output folder,
    where MNIST lies (``None``: use sklearn's digits and say so), a progress bar and a figure saver."""

    quick: bool
    seeds: list[int]
    out: Path
    data_dir: Path | None = None
    show_progress: bool = True
    figures: list[str] = field(default_factory=list)

    def progress(self, iterable: Iterable, desc: str = "", total: int | None = None) -> Iterable:
        """``iterable`` wrapped in a tqdm bar (on stderr; silent when ``show_progress`` is off)."""
        from tqdm.auto import tqdm

        return tqdm(iterable, desc=desc, total=total, disable=not self.show_progress, leave=False, dynamic_ncols=True)

    def savefig(self, fig: Any, name: str) -> Path:
        """Save a matplotlib figure as ``out/<name>.png``, close it, and record it as a figure of the result."""
        import matplotlib.pyplot as plt

        if not _NAME.match(name.replace("-", "_")):
            raise ValueError(f"savefig: figure name must be a plain file stem like 'loss_curves', got {name!r}")
        path = self.out / f"{name}.png"
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        if path.name not in self.figures:
            self.figures.append(path.name)
        return path


def _num(v: float, digits: int) -> str:
    if not math.isfinite(v):
        return str(v)
    if v != 0 and (abs(v) >= 10 ** 5 or abs(v) < 10 ** -3):
        return f"{v:.{max(digits - 1, 0)}e}"
    return f"{v:.{digits}g}"


def _json_float(v: float) -> float | str:
    """JSON has no NaN/inf: write them as strings."""
    return v if math.isfinite(v) else str(v)
