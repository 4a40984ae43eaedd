"""Run an unmodified PyTorch script on nabla: ``import torch`` gives nabla.

    python -m nabla.compat.torch script.py [script arguments]

or, in a process that has not imported PyTorch::

    import nabla.compat.torch
    nabla.compat.torch.install()      # from now on `import torch` (and torch.nn, ...) is nabla
    torch = importlib.import_module("torch")   # nabla, under PyTorch's name

A finder on ``sys.meta_path`` answers every import of ``torch`` or ``torch.<path>`` with the nabla
module at the same path (``torch.nn.functional`` -> ``nabla.nn.functional``, ``torch.optim.lr_scheduler``
-> ``nabla.optim.lr_scheduler``, ``torch.nn.modules.linear`` -> ``nabla.nn.modules.linear``), or at the
path in ``ALIASES`` where the layouts differ (``torch.utils.data.dataloader`` -> ``nabla.data.loader``).
The modules are nabla's own objects, not copies, so ``torch.Tensor is nabla.Tensor``. A name nabla
lacks fails as it would in any script, with ``AttributeError: module 'nabla' has no attribute ...``;
``docs/pytorch-coverage.md`` lists what is there. Other libraries built on PyTorch (torchvision,
torchaudio, ...) are not redirected: a script that imports them needs real PyTorch.

This is for comparing frameworks on your own code, not a promise of bit-equal results: random draws
come from nabla's generator, so seeded runs differ from PyTorch's unless the script sets its numbers
itself (e.g. from NumPy).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import runpy
import sys
from types import ModuleType
from typing import Any

# torch paths whose nabla counterpart lives elsewhere; any other torch.X.Y maps to nabla.X.Y.
ALIASES = {
    "torch.utils.data.dataloader": "nabla.data.loader",
    "torch.utils.data.dataset": "nabla.data.dataset",
    "torch.utils.data.sampler": "nabla.data.loader",
    "torch.utils.data._utils.collate": "nabla.data.loader",
    "torch.nn.parameter": "nabla.nn.parameter",
    "torch.nn.utils.clip_grad": "nabla.nn.utils.clip_grad",
    "torch.nn.utils.rnn": "nabla.nn.utils.rnn",
    "torch.autograd.function": "nabla.autograd",
    "torch.autograd.grad_mode": "nabla.autograd",
}


def nabla_name(fullname: str) -> str | None:
    """The nabla module that stands for PyTorch module ``fullname`` (None: not a torch module)."""
    if fullname != "torch" and not fullname.startswith("torch."):
        return None
    if fullname in ALIASES:
        return ALIASES[fullname]
    return "nabla" + fullname[len("torch"):]


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        try:
            return importlib.import_module(self.target)
        except ModuleNotFoundError as e:
            raise ModuleNotFoundError(
                f"No module named {spec.name!r}: nabla has no {self.target!r} to stand for it (nabla.compat.torch; "
                "see docs/pytorch-coverage.md for what nabla covers)", name=spec.name
            ) from e

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the nabla module is already imported."""


class TorchToNabla(importlib.abc.MetaPathFinder):
    """Finds ``torch`` and ``torch.*`` as nabla modules (see the module docstring)."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        name = nabla_name(fullname)
        if name is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(name), is_package=True)


_finder: TorchToNabla | None = None


def install() -> None:
    """Make ``import torch`` (and every ``torch.*`` submodule) import nabla in this process.

    Raises RuntimeError when PyTorch is already imported: its modules cannot be swapped out safely.
    """
    global _finder
    if _finder is not None:
        return
    loaded = [m for m in sys.modules if m == "torch" or m.startswith("torch.")]
    if loaded:
        raise RuntimeError("nabla.compat.torch.install(): PyTorch is already imported in this process "
                           f"({loaded[0]!r}); install the alias before anything imports torch")
    # Scripts use torch.nn.functional and torch.utils.data as attributes without importing them.
    for name in ("nabla.nn.functional", "nabla.utils.data"):
        importlib.import_module(name)

    _finder = TorchToNabla()
    sys.meta_path.insert(0, _finder)


def uninstall() -> None:
    """Remove the alias and forget the ``torch`` modules it made."""
    global _finder
    if _finder is None:
        return
    sys.meta_path.remove(_finder)
    _finder = None
    for m in [m for m in sys.modules if m == "torch" or m.startswith("torch.")]:
        del sys.modules[m]


def main(argv: list[str] | None = None) -> int:
    """``python -m nabla.compat.torch script.py [args]``: run ``script.py`` with ``torch`` meaning nabla."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip().split("\n\n")[0] + "\n\nusage: python -m nabla.compat.torch script.py [args ...]")
        return 0 if argv else 2
    script = argv[0]
    if not os.path.isfile(script):
        print(f"nabla.compat.torch: no such script: {script!r}", file=sys.stderr)
        return 2
    install()
    sys.argv = [script, *argv[1:]]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
