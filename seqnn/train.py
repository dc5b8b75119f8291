"""Public face of training: :class:`TrainConfig` and :func:`train_model`, plus the helpers
users reach for beside them. The code lives in :mod:`seqnn.training` (and the settings in
:mod:`seqnn.config`); this module only re-exports it.
"""

from __future__ import annotations

from .config import TrainConfig, class_weight_power
from .errors import TrainingError
from .runtime.device import amp_settings, select_device
from .runtime.forward import embed_dataset, predict_dataset
from .training.evaluation import evaluate_run, evaluate_splits
from .training.loop import n_outputs_for
from .training.run import train_model

__all__ = [
    "TrainConfig",
    "TrainingError",
    "select_device",
    "amp_settings",
    "train_model",
    "predict_dataset",
    "embed_dataset",
    "evaluate_splits",
    "evaluate_run",
    "n_outputs_for",
    "class_weight_power",
]
