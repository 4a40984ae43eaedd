"""Training workflow: the Trainer loop, callbacks, Keras-style compile/fit, streaming metrics."""

from . import callbacks, keras
from .callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgressBar,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from .checkpoint import BackupAndRestore, load_checkpoint, restore_checkpoint, save_checkpoint
from .image_grid import ImageGrid, make_grid, save_image_grid
from .keras import LOSSES, OPTIMIZERS, get_loss, get_optimizer
from .keras_losses import BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy
from .metrics import (
    METRIC_NAMES,
    Accuracy,
    ConfusionMatrix,
    F1Score,
    MeanAbsoluteError,
    MeanSquaredError,
    Metric,
    Precision,
    R2Score,
    Recall,
    TopKAccuracy,
    accuracy,
    confusion_matrix,
    f1_score,
    get_metric,
    mean_absolute_error,
    mean_squared_error,
    precision,
    r2_score,
    recall,
    top_k_accuracy,
)
from .perceptron import PerceptronTrainer
from .plots import plot_history
from .trainer import History, Trainer
