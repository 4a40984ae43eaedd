"""nabla.data: datasets, loaders and small toy sets (``torch.utils.data``'s names)."""

from . import toy
from .dataset import Dataset, Subset, TensorDataset, random_split
from .loader import BatchSampler, DataLoader, RandomSampler, Sampler, SequentialSampler, default_collate
from .workers import WorkerInfo, get_worker_info

__all__ = [
    "BatchSampler", "DataLoader", "Dataset", "RandomSampler", "Sampler", "SequentialSampler", "Subset",
    "TensorDataset", "default_collate", "random_split", "toy", "datasets", "transforms", "get_worker_info",
    "WorkerInfo",
]
from . import datasets, transforms
