"""The search space: ``--param`` specifications, parsed and turned into Optuna suggestions.

    lr=log:1e-4:1e-1           a float drawn on a log scale between the bounds
    dropout=0:0.5              a float drawn uniformly (``float:0:0.5`` says the same)
    layers=int:1:4             an integer, bounds included (``int:log:16:512`` on a log scale)
    hidden=choice:128,256,512  one of the values (Python literals: ``choice:(256,128),(512,)`` for tuples,
                               ``choice:relu,tanh`` for words)

The names ``lr``, ``batch_size``, ``epochs``, ``optimizer`` and ``schedule`` are training settings (those
of ``nabla train``); every other name is an argument of the model (``nabla train -a NAME=VALUE``).
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from typing import Any

__all__ = ["Param", "parse_param", "TRAIN_SETTINGS", "FORMS"]

TRAIN_SETTINGS = ("lr", "batch_size", "epochs", "optimizer", "schedule")

FORMS = ("NAME=log:LOW:HIGH (float, log scale)", "NAME=LOW:HIGH or NAME=float:LOW:HIGH (float, uniform)",
         "NAME=int:LOW:HIGH or NAME=int:log:LOW:HIGH (integer)", "NAME=choice:A,B,C (one of the values)")


@dataclass(frozen=True)
class Param:
    """One dimension of the search space."""

    name: str
    kind: str  # "float", "int" or "choice"
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: Any) -> Any:
        """Optuna's suggestion for this dimension in ``trial``."""
        if self.kind == "float":
            return trial.suggest_float(self.name, self.low, self.high, log=self.log)
        if self.kind == "int":
            return trial.suggest_int(self.name, self.low, self.high, log=self.log)
        # Optuna stores categorical values as they are only for None/bool/int/float/str: others by index
        if all(c is None or isinstance(c, (bool, int, float, str)) for c in self.choices):
            return trial.suggest_categorical(self.name, list(self.choices))
        i = trial.suggest_categorical(self.name, list(range(len(self.choices))))
        return self.choices[i]

    @property
    def is_setting(self) -> bool:
        return self.name in TRAIN_SETTINGS


def _bad(text: str, why: str) -> ValueError:
    return ValueError(f"--param {text!r}: {why}; valid forms: " + "; ".join(FORMS))


def _number(text: str, spec: str, integer: bool) -> float | int:
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise _bad(spec, f"{text!r} is not {'a whole number' if integer else 'a number'}") from None
    if not math.isfinite(value):
        raise _bad(spec, f"{text!r} is not finite")
    return value


def parse_param(text: str) -> Param:
    """A :class:`Param` from ``NAME=SPEC`` (see the module docstring); a ValueError lists the valid forms."""
    name, sep, spec = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise _bad(text, "expected NAME=SPEC with NAME a Python identifier")
    parts = spec.split(":")
    head = parts[0].strip().lower()
    if head == "choice":
        body = spec.split(":", 1)[1] if len(parts) > 1 else ""
        if not body.strip():
            raise _bad(text, "choice needs at least one value")
        try:
            values = ast.literal_eval(f"[{body}]")
        except (ValueError, SyntaxError):  # bare words: relu,tanh
            values = [v.strip() for v in body.split(",")]
        values = [tuple(v) if isinstance(v, list) else v for v in values]
        if any(v == "" for v in values):
            raise _bad(text, "an empty value in the choices")
        if len(set(map(repr, values))) != len(values):
            raise _bad(text, "a value is listed twice")
        return Param(name, "choice", choices=tuple(values))
    log, integer = False, False
    if len(parts) > 2 and head not in ("log", "float", "int"):
        raise _bad(text, f"unknown kind {parts[0]!r} (kinds: log, float, int, choice)")
    if head in ("log", "float", "int"):
        integer = head == "int"
        log = head == "log"
        parts = parts[1:]
        if integer and parts and parts[0].strip().lower() == "log":
            log = True
            parts = parts[1:]
    if len(parts) != 2:
        raise _bad(text, "expected two bounds LOW:HIGH")
    low, high = (_number(p.strip(), text, integer) for p in parts)
    if not low < high:
        raise _bad(text, f"LOW must be below HIGH, got {low} and {high}")
    if log and low <= 0:
        raise _bad(text, f"a log scale needs LOW > 0, got {low}")
    return Param(name, "int" if integer else "float", low, high, log)
