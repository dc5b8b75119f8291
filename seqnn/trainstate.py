"""Helpers of the training loop: device and mixed-precision choice, losses, class weights,
optimizers and schedules, RNG capture, and the resumable training-state file.

The training state (``state.pt`` in the run directory) is written with ``torch.save`` and read
back with ``torch.load(weights_only=True)``: that loader only rebuilds tensors, numbers,
strings, ``None`` and plain containers and refuses any other pickled object, so a tampered
``state.pt`` cannot run code. Everything in it is therefore kept plain (RNG states become
tensors and lists). The finished model directory never uses it: that is safetensors + JSON
(:mod:`seqnn.checkpoint`).
"""

from __future__ import annotations

import importlib
import os
import random
from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .io import atomic_path

STATE_FILE = "state.pt"
STATE_VERSION = 1
CLASSIFICATION_METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "mcc", "roc_auc")
REGRESSION_METRICS = ("spearman", "pearson", "r2", "rmse")
LOWER_IS_BETTER = ("loss", "rmse")
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class TrainingError(RuntimeError):
    """Training cannot go on (non-finite loss, a resume state that does not fit, ...)."""


# ----------------------------------------------------------------------------- device / AMP

def select_device(name: str = "auto") -> torch.device:
    """Turn ``"auto" | "cpu" | "cuda" | "cuda:N" | "mps"`` into a ``torch.device``.

    ``auto`` picks CUDA, then Apple MPS, then CPU. Asking for a device that is not available
    raises ``ValueError`` saying so (no silent fallback to CPU).
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device {name!r} requested but CUDA is not available (no GPU or a CPU-only "
                "torch build); use device 'cpu' or 'auto'"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"device {name!r}: only {torch.cuda.device_count()} GPU(s) visible")
    elif device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(f"device {name!r} requested but Apple MPS is not available")
    elif device.type != "cpu":
        raise ValueError(f"unsupported device {name!r}; use auto, cpu, cuda, cuda:N or mps")
    return device


def limit_heap_growth(threshold: int = 4 << 20) -> bool:
    """On glibc, serve every allocation over ``threshold`` bytes by ``mmap`` (``mallopt
    M_MMAP_THRESHOLD``) so freed batch activations go back to the system; returns whether it
    applied. glibc's default threshold climbs to 32 MiB after the first large free, and batches
    of ever-changing widths then fragment the heap, so peak memory grows with the file (the
    default CNN: 1.2 GB after 10,000 proteins, 2.4 GB after 100,000; 0.6-0.7 GB with this), at
    about 20% more wall time (page faults). Training does not use it: there the backward
    pass makes it halve the speed (benchmarks/README.md, "Training"). Process-wide, so only
    the ``seqnn predict`` and ``embed`` commands call it; a ``MALLOC_MMAP_THRESHOLD_`` set in
    the environment is left alone.
    """
    import os
    import sys

    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        import ctypes

        return bool(ctypes.CDLL("libc.so.6").mallopt(-3, int(threshold)))  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        return False


#: oneDNN primitives kept per process while training (oneDNN's default is 1024)
PRIMITIVE_CACHE_CAPACITY = 8


def limit_primitive_cache(capacity: int = PRIMITIVE_CACHE_CAPACITY) -> bool:
    """Cap oneDNN's primitive cache (``ONEDNN_PRIMITIVE_CACHE_CAPACITY``) before the first
    convolution runs; returns whether it set the variable.

    Per-batch padding gives nearly every batch its own width, so each batch builds new conv
    primitives; oneDNN keeps the last 1024 with their buffers, which on SCL2205 held about
    0.8 GB of a 1.9 GB peak after 4,000 proteins (benchmarks/README.md, "Memory"). Old widths
    are rarely seen again, so a small cache costs no speed. oneDNN reads the variable once,
    when a process makes its first primitive, so this acts only if called before that; a
    value set in the environment is left alone.
    """
    if any(f"{p}_PRIMITIVE_CACHE_CAPACITY" in os.environ for p in ("ONEDNN", "DNNL")):
        return False
    os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] = str(int(capacity))
    return True


def amp_settings(device: torch.device, amp: bool) -> tuple[bool, torch.dtype | None, bool]:
    """Mixed-precision choice: ``(enabled, autocast dtype, use GradScaler)``.

    Only on CUDA: bfloat16 where ``torch.cuda.is_bf16_supported()`` (no scaler needed),
    otherwise float16 with a ``GradScaler``. Elsewhere (or ``amp=False``) full float32.
    """
    if not amp or device.type != "cuda":
        return False, None, False
    if torch.cuda.is_bf16_supported():
        return True, torch.bfloat16, False
    return True, torch.float16, True


def autocast(device: torch.device, amp: bool) -> AbstractContextManager:
    """The autocast context for ``device`` under :func:`amp_settings` (a no-op without AMP)."""
    enabled, dtype, _ = amp_settings(device, amp)
    return torch.autocast(device_type=device.type, dtype=dtype, enabled=enabled)


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


def import_loss(spec: str) -> LossFn:
    """User loss ``"package.module:function"``: ``function(outputs, targets) -> scalar``."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"loss {spec!r}: expected 'package.module:function'")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"loss {spec!r} cannot be imported: {err}") from None
    if not callable(fn):
        raise ValueError(f"loss {spec!r} is not callable")
    return fn


def build_loss(
    spec: str, task: str, class_weights: np.ndarray | None, device: torch.device
) -> LossFn:
    """The supervised loss ``fn(outputs, targets) -> scalar`` for ``task``.

    ``outputs`` is the model's ``(N, n_outputs)``; ``targets`` ``(N,)`` class indices
    (``int64``) or values (``float32``). ``auto`` = BCE-with-logits (binary, one logit;
    class 1 is the positive class), cross-entropy (multiclass), MSE (regression).
    ``class_weights`` ``(C,)`` weight the classification losses; a user loss
    (``package.module:function``) gets the raw outputs and targets and no weights.
    """
    if ":" in spec:
        if class_weights is not None:
            raise ValueError("class_weights only apply to the built-in classification losses")
        return import_loss(spec)
    auto = {"binary": "bce", "multiclass": "cross_entropy", "regression": "mse"}
    name = auto.get(task) if spec == "auto" else spec
    fits = {"bce": "binary", "cross_entropy": "multiclass", "mse": "regression"}
    if name not in fits:
        raise ValueError(
            f"unknown loss {spec!r}; use auto, cross_entropy, bce, mse or module:function"
        )
    if fits[name] != task:
        raise ValueError(f"loss {name!r} does not fit task {task!r} (it is for {fits[name]})")
    if name == "mse":
        if class_weights is not None:
            raise ValueError("class_weights 'balanced' needs a classification task")
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
        from .metrics import primary_metric

        known = REGRESSION_METRICS if task == "regression" else CLASSIFICATION_METRICS
        primary = primary_metric(task)
    name = primary if monitor in (None, "auto") else monitor
    if name != "loss" and name not in known:
        choices = ", ".join(known)
        raise ValueError(f"monitor {name!r} is not available; use loss or one of {choices}")
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
    """Adam, AdamW or SGD (momentum 0.9) over ``params``."""
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; use adam, adamw or sgd")


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
    raise ValueError(f"unknown scheduler {name!r}; use none, plateau or cosine")


# ----------------------------------------------------------------------------- RNG / state

def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global RNG and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def capture_rng() -> dict[str, Any]:
    """All global RNG states as plain tensors / lists (loadable with ``weights_only=True``)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, py_state, gauss_next = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "python": {"version": version, "state": torch.tensor(py_state, dtype=torch.int64),
                   "gauss_next": gauss_next},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Restore the RNG states captured by :func:`capture_rng`."""
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    keys = n["keys"].numpy().astype(np.uint32)
    np.random.set_state((n["kind"], keys, n["pos"], n["has_gauss"], n["cached"]))
    p = state["python"]
    random.setstate((p["version"], tuple(int(v) for v in p["state"].tolist()), p["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_state(out_dir: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write the training state to ``out_dir/state.pt`` atomically (plain objects only)."""
    path = Path(out_dir) / STATE_FILE
    with atomic_path(path) as tmp:
        torch.save({"state_version": STATE_VERSION, **state}, tmp)
    return path


def load_state(out_dir: str | os.PathLike) -> dict[str, Any] | None:
    """Read ``out_dir/state.pt`` with ``weights_only=True``; ``None`` when there is none."""
    path = Path(out_dir) / STATE_FILE
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        msg = f"{path}: unreadable training state ({err}); delete it to start over"
        raise TrainingError(msg) from None
    if not isinstance(state, dict) or state.get("state_version", 0) > STATE_VERSION:
        raise TrainingError(f"{path}: not a training state this seqnn can resume")
    return state


def cpu_state_dict(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of ``module.state_dict()`` (for best-so-far weights)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}


__all__ = [
    "STATE_FILE",
    "TrainingError",
    "select_device",
    "amp_settings",
    "autocast",
    "balanced_class_weights",
    "import_loss",
    "build_loss",
    "resolve_monitor",
    "is_better",
    "build_optimizer",
    "build_scheduler",
    "seed_everything",
    "capture_rng",
    "restore_rng",
    "save_state",
    "load_state",
    "cpu_state_dict",
]
