"""The top-level ``nabla`` parser. Each command is a module of this package named in ``COMMANDS``; it exposes
``add_parser(subparsers)``, which adds its sub-parser and sets ``func=run``, and ``run(args) -> int``."""

from __future__ import annotations

import argparse
import importlib

COMMANDS = ("train", "evaluate", "predict", "sample", "export", "tune", "models", "datasets", "playground", "lab")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nabla")
    except PackageNotFoundError:  # run from a source tree that was not installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nabla", description="nabla: train and use deep-learning models from the "
                                "command line.", epilog="Run 'nabla COMMAND -h' for a command's options. Exit codes: "
                                "0 success, 1 failure while running, 2 bad usage or input.")
    p.add_argument("--version", action="version", version=f"nabla {_version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__package__}.{name}").add_parser(sub)
    return p
