"""``torch.utils.data``'s path for :mod:`nabla.data`: ``from nabla.utils.data import DataLoader``."""

from ..data import *  # noqa: F403
from ..data import __all__  # noqa: F401
from ..data.dataset import Dataset, Subset, TensorDataset, random_split  # noqa: F401
from ..data.loader import BatchSampler, DataLoader, RandomSampler, Sampler, SequentialSampler  # noqa: F401
from ..data.workers import WorkerInfo, get_worker_info  # noqa: F401
