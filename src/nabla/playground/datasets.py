"""The playground's data: toy sets, multi-class and regression variants, uploaded CSV files, features.

Two-class sets come from :mod:`nabla.data.toy`. Multi-class sets (``k`` Gaussian blobs, ``k`` spiral
arms, ``k`` rings) and the regression surfaces (``plane``, ``bumps``) are drawn here, from the seed
alone, in the same style: points roughly in ``[-1, 1]^2``. Everything is NumPy; the networks see
float32 arrays.

:func:`make_data` gives ``Data(x_train, y_train, x_test, y_test, ...)`` for a config; the generated
export code calls the same function (``nabla.playground.datasets.make_data``) so it trains on the
same points.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

import numpy

from ..data import toy

__all__ = ["CsvError", "CsvSyntaxError", "Data", "EXTENT", "MAX_UPLOAD_BYTES", "MAX_UPLOAD_ROWS", "Upload", "features",
           "make_data", "parse_csv"]

EXTENT = 1.5  # the input plane shown on the page: [-EXTENT, EXTENT]^2
MAX_UPLOAD_BYTES = 256 * 1024
MAX_UPLOAD_ROWS = 5000
MIN_UPLOAD_ROWS = 10
MAX_UPLOAD_CLASSES = 6


@dataclass
class Data:
    """Train and test points (float32 ``(N, 2)``), labels (int64 classes or float32 targets)."""

    x_train: numpy.ndarray
    y_train: numpy.ndarray
    x_test: numpy.ndarray
    y_test: numpy.ndarray
    problem: str
    classes: int  # 1 for regression

    @property
    def outputs(self) -> int:
        return 1 if self.problem == "regression" else self.classes


@dataclass
class Upload:
    """A validated CSV upload: points scaled into [-1, 1]^2, labels, and what kind of problem it is."""

    x: numpy.ndarray
    y: numpy.ndarray
    problem: str
    classes: int

    def to_json(self) -> dict:
        return {"x": self.x.tolist(), "y": self.y.tolist(), "problem": self.problem, "classes": self.classes}

    @classmethod
    def from_json(cls, d: dict) -> Upload:
        y_dtype = numpy.float32 if d["problem"] == "regression" else numpy.int64
        return cls(numpy.asarray(d["x"], numpy.float32), numpy.asarray(d["y"], y_dtype), d["problem"], d["classes"])


class CsvError(ValueError):
    """A bad CSV file; the message says which line and what is wrong."""


class CsvSyntaxError(CsvError):
    """Not CSV at all (a cell longer than any number, broken quoting): the API answers 400, not 422."""


MAX_CELL_CHARS = 64  # a number never needs more; Python's csv module would allow 131,072 and then raise


def features(x: numpy.ndarray, names: tuple[str, ...] | list[str]) -> numpy.ndarray:
    """Input features of points ``x`` (N, 2): the chosen columns of x1, x2, x1², x2², x1·x2, sin x1, sin x2."""
    x1, x2 = x[:, 0], x[:, 1]
    table = {"x1": lambda: x1, "x2": lambda: x2, "x1^2": lambda: x1 * x1, "x2^2": lambda: x2 * x2,
             "x1*x2": lambda: x1 * x2, "sin(x1)": lambda: numpy.sin(x1), "sin(x2)": lambda: numpy.sin(x2)}
    for n in names:
        if n not in table:
            raise ValueError(f"features: unknown feature {n!r}; choose from {tuple(table)}")
    return numpy.stack([table[n]() for n in names], axis=1).astype(numpy.float32)


def make_data(problem: str, dataset: str, n_points: int = 500, noise: float = 0.1, test_ratio: float = 0.5,
              seed: int = 0, classes: int = 2, upload: Upload | None = None) -> Data:
    """The train/test split for one experiment; the same arguments always give the same points."""
    if dataset == "upload":
        if upload is None:
            raise ValueError("make_data: dataset 'upload' needs the uploaded data (upload=...)")
        return _split(upload.x, upload.y, test_ratio, seed, upload.problem, upload.classes)
    rng = numpy.random.default_rng(seed)
    if problem == "classification":
        builder = getattr(toy, dataset, None)
        if builder is None or dataset not in toy.__all__:
            raise ValueError(f"make_data: unknown classification set {dataset!r}; choose from {tuple(toy.__all__)}")
        train, test = builder(n=n_points, noise=noise, test_ratio=test_ratio, seed=seed)
        return Data(train.tensors[0].numpy(), train.tensors[1].numpy(), test.tensors[0].numpy(),
                    test.tensors[1].numpy(), problem, 2)
    if problem == "multiclass":
        gen = _MULTICLASS.get(dataset)
        if gen is None:
            raise ValueError(f"make_data: unknown multiclass set {dataset!r}; choose from {tuple(_MULTICLASS)}")
        x, y = gen(rng, n_points, classes, noise)
        return _split(x, y, test_ratio, seed, problem, classes)
    if problem == "regression":
        gen = _REGRESSION.get(dataset)
        if gen is None:
            raise ValueError(f"make_data: unknown regression set {dataset!r}; choose from {tuple(_REGRESSION)}")
        x = rng.uniform(-1, 1, (n_points, 2))
        y = gen(x) + rng.normal(0, noise, n_points)
        return _split(x, y, test_ratio, seed, problem, 1)
    raise ValueError(f"make_data: unknown problem {problem!r}; choose classification, multiclass or regression")


def _split(x, y, test_ratio, seed, problem, classes) -> Data:
    rng = numpy.random.default_rng(seed + 1)
    perm = rng.permutation(len(y))
    x = numpy.asarray(x, numpy.float32)[perm]
    y = numpy.asarray(y)[perm].astype(numpy.float32 if problem == "regression" else numpy.int64)
    n_test = min(max(int(round(len(y) * test_ratio)), 1), len(y) - 1)
    return Data(x[n_test:], y[n_test:], x[:n_test], y[:n_test], problem, classes)


def _counts(n: int, k: int) -> list[int]:
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def _blobs(rng, n, k, noise):
    # k Gaussian blobs evenly spaced on a circle of radius 0.6
    xs, ys = [], []
    for c, m in enumerate(_counts(n, k)):
        a = 2 * math.pi * c / k
        xs.append(rng.normal([0.6 * math.cos(a), 0.6 * math.sin(a)], 0.1 + noise, (m, 2)))
        ys.append(numpy.full(m, c))
    return numpy.concatenate(xs), numpy.concatenate(ys)


def _arms(rng, n, k, noise):
    # k interleaved spiral arms, one turn and a quarter each
    xs, ys = [], []
    for c, m in enumerate(_counts(n, k)):
        r = numpy.linspace(0.05, 1.0, m)
        t = 1.25 * 2 * math.pi * r + 2 * math.pi * c / k
        xs.append(numpy.stack([r * numpy.sin(t), r * numpy.cos(t)], axis=1) + rng.normal(0, noise, (m, 2)))
        ys.append(numpy.full(m, c))
    return numpy.concatenate(xs), numpy.concatenate(ys)


def _rings(rng, n, k, noise):
    # k concentric rings between radius 0.1 and 1.0
    xs, ys = [], []
    width = 0.9 / k
    for c, m in enumerate(_counts(n, k)):
        r = rng.uniform(0.1 + c * width, 0.1 + (c + 0.7) * width, m)
        t = rng.uniform(0, 2 * math.pi, m)
        xs.append(numpy.stack([r * numpy.cos(t), r * numpy.sin(t)], axis=1) + rng.normal(0, noise, (m, 2)))
        ys.append(numpy.full(m, c))
    return numpy.concatenate(xs), numpy.concatenate(ys)


def _plane(x):
    return (x[:, 0] + x[:, 1]) / 2


def _bumps(x):
    # a positive bump at (0.5, 0.5) and a negative one at (-0.5, -0.5)
    def g(cx, cy):
        return numpy.exp(-((x[:, 0] - cx) ** 2 + (x[:, 1] - cy) ** 2) / (2 * 0.3 ** 2))
    return g(0.5, 0.5) - g(-0.5, -0.5)


_MULTICLASS = {"gauss": _blobs, "spiral": _arms, "circle": _rings}
_REGRESSION = {"plane": _plane, "bumps": _bumps}


def parse_csv(raw: bytes) -> Upload:
    """Check and read an uploaded CSV of 2-D points: columns ``x1,x2,label`` (a header line is optional).

    Labels that are all small non-negative integers (at most 6 distinct) make a classification set;
    any other numbers make a regression set. Points are scaled into [-1, 1]^2 (one scale for both
    axes, so shapes keep their proportions). Raises :class:`CsvError` with the line and the reason.
    """
    if len(raw) > MAX_UPLOAD_BYTES:
        raise CsvError(f"the file is {len(raw)} bytes; the limit is {MAX_UPLOAD_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvError("the file is not UTF-8 text; save it as CSV (comma-separated values)") from None
    if "\0" in text:
        raise CsvError("the file contains NUL bytes; it is not a CSV text file")
    rows: list[tuple[float, float, float]] = []
    for lineno, row in _csv_rows(text):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != 3:
            raise CsvError(f"line {lineno}: expected 3 columns (x1,x2,label), got {len(row)}")
        try:
            values = tuple(float(c) for c in row)
        except ValueError:
            if not rows and lineno == 1:
                continue  # a header line
            bad = next(c for c in row if not _is_number(c))
            raise CsvError(f"line {lineno}: {bad.strip()[:40]!r} is not a number") from None
        if not all(math.isfinite(v) for v in values):
            raise CsvError(f"line {lineno}: values must be finite numbers (no nan or inf)")
        if abs(values[0]) > 1e6 or abs(values[1]) > 1e6 or abs(values[2]) > 1e6:
            raise CsvError(f"line {lineno}: values must lie within ±1e6")
        rows.append(values)  # type: ignore[arg-type]
        if len(rows) > MAX_UPLOAD_ROWS:
            raise CsvError(f"the file has more than {MAX_UPLOAD_ROWS} rows; the limit is {MAX_UPLOAD_ROWS}")
    if len(rows) < MIN_UPLOAD_ROWS:
        raise CsvError(f"the file has {len(rows)} data rows; at least {MIN_UPLOAD_ROWS} are needed")
    a = numpy.asarray(rows, numpy.float64)
    x, labels = a[:, :2], a[:, 2]
    centre = (x.max(0) + x.min(0)) / 2
    half = float((x.max(0) - x.min(0)).max()) / 2
    x = (x - centre) / (half if half > 0 else 1.0)
    distinct = numpy.unique(labels)
    if numpy.all(labels == numpy.round(labels)) and labels.min() >= 0 and len(distinct) <= MAX_UPLOAD_CLASSES \
            and labels.max() < MAX_UPLOAD_CLASSES:
        classes = int(labels.max()) + 1
        if len(distinct) < 2:
            raise CsvError("all rows have the same label; a classification set needs at least two classes")
        problem = "classification" if classes == 2 else "multiclass"
        return Upload(x.astype(numpy.float32), labels.astype(numpy.int64), problem, classes)
    return Upload(x.astype(numpy.float32), labels.astype(numpy.float32), "regression", 1)


def _csv_rows(text: str):
    """``csv.reader`` with its errors (and over-long cells) turned into :class:`CsvSyntaxError`."""
    reader = csv.reader(io.StringIO(text))
    lineno = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise CsvSyntaxError(f"line {reader.line_num}: a cell of more than {csv.field_size_limit()} "
                                     f"characters; cells hold numbers of at most {MAX_CELL_CHARS} characters") from None
            raise CsvSyntaxError(f"line {reader.line_num}: not a valid CSV line ({exc})") from None
        lineno += 1
        for cell in row:
            if len(cell) > MAX_CELL_CHARS:
                raise CsvSyntaxError(f"line {reader.line_num}: a cell of {len(cell)} characters; cells hold numbers "
                                     f"of at most {MAX_CELL_CHARS} characters")
        yield reader.line_num, row


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False
