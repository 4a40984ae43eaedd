"""nabla.data: datasets, loaders and small toy sets (``torch.utils.data``'s names)."""

from . import toy
from .dataset import Dataset, Subset, TensorDataset, random_split
from .loader import BatchSampler, DataLoader, RandomSampler, Sampler, SequentialSampler, default_collate

__all__ = [
    "BatchSampler", "DataLoader", "Dataset", "RandomSampler", "Sampler", "SequentialSampler", "Subset",
    "TensorDataset", "default_collate", "random_split", "toy", "datasets", "transforms",
]
from . import datasets, transforms
