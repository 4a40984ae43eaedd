"""``torch.backends.mps``: Apple GPUs are not a nabla device, so both queries say False."""


def is_available() -> bool:
    return False


def is_built() -> bool:
    return False
