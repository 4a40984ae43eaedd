"""``nabla.utils``: the paths of PyTorch's ``torch.utils`` for code written against them.

``nabla.utils.data`` is ``nabla.data`` (datasets, loaders, samplers) under PyTorch's name, and
``nabla.utils.tensorboard.SummaryWriter`` writes TensorBoard event files (needs the ``tensorboard``
extra: ``pip install nabla[tensorboard]``). Both load on first use.
"""

__all__ = ["data", "tensorboard"]


def __getattr__(name: str):
    import importlib

    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
