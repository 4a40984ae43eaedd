"""nabla.tune: hyperparameter search on Optuna (``nabla tune``; the notes' AutoML).

    from nabla.tune import search
    result = search("mlp", "digits", ["lr=log:1e-4:1e-1", "hidden=choice:64,128,256", "dropout=0:0.5"],
                    trials=20, epochs=10)
    print(result.verdict()); print(result.command); result.write("runs/tune-mlp-digits")

:class:`OptunaPruning` is the callback that reports a ``fit``'s validation metric to an Optuna trial
and stops it when the pruner says so; use it in your own objectives. ``pip install 'nabla[tune]'``.
"""

from .search import PRUNERS, OptunaPruning, TuneResult, search
from .space import FORMS, TRAIN_SETTINGS, Param, parse_param

__all__ = ["search", "TuneResult", "OptunaPruning", "PRUNERS", "Param", "parse_param", "FORMS", "TRAIN_SETTINGS"]
