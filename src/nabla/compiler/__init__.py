"""Graph mode: ``nabla.compile`` traces a function into a flat program of array operations and replays it.

``api.py`` (the user-facing callable, guards, variants), ``trace.py`` (recording), ``program.py`` (the
instructions, dead-code elimination, code generation), ``check.py`` (the first replay checked against eager).
"""

from .api import CompiledFunction, CompileError, compile

__all__ = ["CompileError", "CompiledFunction", "compile"]
