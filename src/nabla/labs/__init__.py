"""nabla.labs: the study notes' claims about deep learning, measured.

Each lab is one module of this package defining ``run(ctx)`` and ``LAB`` (see ``nabla.labs.base``);
``nabla lab run NAME`` (or ``nabla.labs.runner.run_lab``) runs it over several seeds and writes
``result.json``, figures and a Markdown page; ``nabla lab report`` builds the HTML site.
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import Lab, LabContext, LabResult, Measurement, Verdict

__all__ = ["Lab", "LabContext", "LabResult", "Measurement", "Verdict", "list_labs", "get_lab"]

_NOT_LABS = {"base", "runner", "report", "cli"}


def list_labs() -> list[str]:
    """Names of the lab modules in this package, sorted."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__)
                  if not m.name.startswith("_") and m.name not in _NOT_LABS and not m.ispkg)


def get_lab(name: str) -> Lab:
    """The ``LAB`` declared by module ``nabla.labs.<name>``; ``KeyError`` listing valid names if there is none."""
    names = list_labs()
    if name not in names:
        raise KeyError(f"unknown lab {name!r}; valid names: {', '.join(names) or '(none)'}")
    module = importlib.import_module(f"{__name__}.{name}")
    lab = getattr(module, "LAB", None)
    if not isinstance(lab, Lab):
        raise TypeError(f"nabla.labs.{name} does not define LAB = Lab(...)")
    if lab.name != name:
        raise ValueError(f"nabla.labs.{name}: LAB.name is {lab.name!r}, must equal the module name {name!r}")
    return lab
