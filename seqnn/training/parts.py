"""The parts a training run is assembled from: losses (built-in or the user's own), class
weights, optimisers, learning-rate schedules and the monitored metric.

Every part comes from a registry by name. A config never names code to import: a loss of the
user's own is the documented opt-in of an entry point that an installed package registers in
the group ``seqnn.losses`` (:func:`registered_loss`); a ``module:function`` string is refused
(:func:`seqnn.config_safety.check_loss_name`). A name outside the registries raises
:class:`~seqnn.errors.ConfigError` (one line, exit 2 in the CLI).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..config_safety import BUILTIN_LOSSES, LOSS_ENTRY_POINTS, check_loss_name
from ..errors import ConfigError
from ..metrics import metrics_of, primary_metric

LOWER_IS_BETTER = ("loss", "rmse")
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


# ----------------------------------------------------------------------------- losses

def balanced_class_weights(labels: np.ndarray, n_classes: int, power: float = 1.0
                           ) -> np.ndarray:
    """scikit-learn's "balanced" weights ``n / (n_classes * count_c)``, ``(C,)`` ``float32``,
    raised to ``power`` (0.5: the square root, a milder correction for strong imbalance).

    A class absent from ``labels`` gets weight 0 (it contributes no samples anyway).
    """
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes)[:n_classes]
    weights = np.zeros(n_classes, dtype=np.float64)
    present = counts > 0
    weights[present] = (len(labels) / (n_classes * counts[present])) ** power
    return weights.astype(np.float32)


def positive_weights(labels: np.ndarray, power: float = 1.0) -> np.ndarray:
    """Multi-label positive weights ``(K,)`` ``float32``: ``(negatives / positives) ** power``
    per label (BCE's ``pos_weight``: a rare label's positives count as much as its
    negatives at power 1); a label with no positive or no negative gets 1."""
    y = np.asarray(labels, dtype=np.float64)
    pos = y.sum(axis=0)
    neg = y.shape[0] - pos
    ok = (pos > 0) & (neg > 0)
    return np.where(ok, (neg / np.where(ok, pos, 1)) ** power, 1.0).astype(np.float32)


def _multilabel_bce(out: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None
                    ) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(out.float(), y.float(), pos_weight=weight)


def _cross_entropy(out: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    return F.cross_entropy(out.float(), y, weight=weight)


def _bce(out: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    logits = out.float().reshape(-1)
    losses = F.binary_cross_entropy_with_logits(logits, y.float(), reduction="none")
    if weight is None:
        return losses.mean()
    w = weight[y]
    return (losses * w).sum() / w.sum()


def _mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(out.float().reshape(y.shape), y.float())


def registered_loss(name: str) -> LossFn:
    """The loss an installed package registers as entry point ``name`` in the group
    ``seqnn.losses`` (``[project.entry-points."seqnn.losses"] focal = "mypkg.losses:focal"``):
    ``function(outputs, targets) -> scalar``. Only such a registered name is loaded: a
    ``module:function`` string is refused, so a config cannot import code from the working
    folder."""
    from importlib.metadata import entry_points

    check_loss_name(name)
    found = [ep for ep in entry_points(group=LOSS_ENTRY_POINTS) if ep.name == name]
    if not found:
        raise ConfigError(f"loss {name!r} is not registered under the entry-point group "
                          f"'{LOSS_ENTRY_POINTS}'")
    try:
        fn = found[0].load()
    except (ImportError, AttributeError) as err:
        raise ConfigError(f"loss {name!r} (entry point {found[0].value}) cannot be loaded: "
                          f"{err}") from None
    if not callable(fn):
        raise ConfigError(f"loss {name!r} (entry point {found[0].value}) is not callable")
    return fn


def build_loss(
    spec: str, task: str, class_weights: np.ndarray | None, device: torch.device
) -> LossFn:
    """The supervised loss ``fn(outputs, targets) -> scalar`` for ``task``.

    ``outputs`` is the model's ``(N, n_outputs)``; ``targets`` ``(N,)`` class indices
    (``int64``) or values (``float32``). ``auto`` = BCE-with-logits (binary, one logit;
    class 1 is the positive class), cross-entropy (multiclass), MSE (regression), and for
    multilabel one BCE-with-logits per label (``targets`` ``(N, K)`` 0/1), averaged.
    ``class_weights`` ``(C,)`` weight the classification losses (multilabel: the per-label
    positive weights of :func:`positive_weights`); a registered loss
    (:func:`registered_loss`) gets the raw outputs and targets and no weights.
    """
    if spec not in BUILTIN_LOSSES:
        if class_weights is not None:
            raise ConfigError("class_weights only apply to the built-in classification losses")
        return registered_loss(spec)
    auto = {"binary": "bce", "multiclass": "cross_entropy", "regression": "mse",
            "multilabel": "bce"}
    name = auto.get(task) if spec == "auto" else spec
    if task == "multilabel" and name == "bce":
        weight = None if class_weights is None else torch.as_tensor(class_weights, device=device)
        return partial(_multilabel_bce, weight=weight)
    fits = {"bce": "binary", "cross_entropy": "multiclass", "mse": "regression"}
    if name not in fits:
        raise ConfigError(f"unknown loss {spec!r}; use auto, cross_entropy, bce or mse")
    if fits[name] != task:
        raise ConfigError(f"loss {name!r} does not fit task {task!r} (it is for {fits[name]})")
    if name == "mse":
        if class_weights is not None:
            raise ConfigError("class_weights 'balanced' needs a classification task")
        return _mse
    weight = None if class_weights is None else torch.as_tensor(class_weights, device=device)
    return partial(_cross_entropy if name == "cross_entropy" else _bce, weight=weight)


# ----------------------------------------------------------------------------- monitor

def resolve_monitor(monitor: str | None, task: str, unsupervised: bool) -> tuple[str, str, str]:
    """``(monitored name, metric logged in history, "min" | "max")`` for a run.

    The default is the task's primary metric (reconstruction accuracy for an autoencoder);
    ``"loss"`` monitors the validation loss while history still logs the primary metric.
    """
    if unsupervised:
        known: tuple[str, ...] = ("reconstruction_accuracy",)
        primary = "reconstruction_accuracy"
    else:
        known = metrics_of(task)
        primary = primary_metric(task)
    name = primary if monitor in (None, "auto") else monitor
    if name != "loss" and name not in known:
        choices = ", ".join(known)
        raise ConfigError(f"monitor {name!r} is not available; use loss or one of {choices}")
    logged = primary if name == "loss" else name
    return name, logged, "min" if name in LOWER_IS_BETTER else "max"


def is_better(value: float, best: float | None, mode: str) -> bool:
    """Whether ``value`` improves on ``best`` (NaN never improves, but beats no best at all)."""
    if best is None:
        return True
    if np.isnan(value):
        return False
    if np.isnan(best):
        return True
    return value < best if mode == "min" else value > best


# ----------------------------------------------------------------------------- optimizer

def build_optimizer(
    name: str, params: Any, lr: float, weight_decay: float
) -> torch.optim.Optimizer:
    """Adam, AdamW or SGD (momentum 0.9) over ``params``. Adam and AdamW use torch's fused
    kernel (one pass over all parameters: 0.22 against 0.94 ms per step for the AMP rnn on
    the CPU) where this torch has one for the parameters' device, else the default."""
    if name in ("adam", "adamw"):
        params = list(params)
        cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
        try:
            return cls(params, lr=lr, weight_decay=weight_decay, fused=True)
        except (RuntimeError, ValueError):  # no fused kernel in this torch for this device
            return cls(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    raise ConfigError(f"unknown optimizer {name!r}; use adam, adamw or sgd")


def build_scheduler(
    name: str, optimizer: torch.optim.Optimizer, epochs: int, patience: int, mode: str
) -> Any:
    """``None``, ``ReduceLROnPlateau`` (halves the rate after ``max(1, patience // 3)`` flat
    epochs of the monitored metric) or ``CosineAnnealingLR`` over ``epochs``; stepped per epoch."""
    if name == "none":
        return None
    if name == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode=mode, factor=0.5, patience=max(1, patience // 3)
        )
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, epochs))
    raise ConfigError(f"unknown scheduler {name!r}; use none, plateau or cosine")


__all__ = ["LOWER_IS_BETTER", "balanced_class_weights", "positive_weights", "build_loss",
           "build_optimizer", "build_scheduler", "is_better", "registered_loss",
           "resolve_monitor"]
