"""The training loop: device, mixed precision on GPU, early stopping, per-epoch resumable
state, seeds, the metric log and a progress bar.

A run directory ``out_dir`` receives, as training goes: ``state.pt`` (after every epoch;
see :mod:`seqnn.trainstate`) and ``history.csv``; at the end the model
(``model.safetensors`` + ``model.json``, :mod:`seqnn.checkpoint`) and, unless
``evaluate=False``, ``metrics.json`` + ``predictions.tsv``. Every file is written atomically.
Prediction helpers live in :mod:`seqnn.inference` and are re-exported here.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from .checkpoint import save_model
from .data import dataset_hash, make_loader
from .encode import TRUNCATE_MODES, EncodedDataset
from .inference import (
    batch_loss,
    batch_outputs,
    embed_dataset,
    evaluate_splits,
    model_task,
    predict_dataset,
    run_model,
    split_metrics,
    to_device,
)
from .io import write_table
from .trainstate import (
    TrainingError,
    amp_settings,
    autocast,
    balanced_class_weights,
    build_loss,
    build_optimizer,
    build_scheduler,
    capture_rng,
    cpu_state_dict,
    is_better,
    limit_primitive_cache,
    load_state,
    resolve_monitor,
    restore_rng,
    save_state,
    seed_everything,
    select_device,
)

log = logging.getLogger(__name__)
HISTORY_FILE = "history.csv"
#: settings that may change between an interrupted run and its resume
RESUMABLE_CHANGES = ("epochs", "patience", "device", "threads", "num_workers", "quiet")


@dataclass(frozen=True)
class TrainConfig:
    """Training settings (validated on construction; see the module doc of each choice).

    ``monitor``: ``None`` = the task's primary metric (reconstruction accuracy for an
    autoencoder), ``"loss"`` or a metric name. ``loss``: ``auto | cross_entropy | bce | mse``
    or ``"package.module:function"``. ``amp`` only acts on CUDA (bf16 where supported, else
    fp16 with a GradScaler). ``grad_clip`` ``None`` or 0 disables clipping. ``ema`` > 0 keeps
    an exponential moving average of the weights with that decay per step (warmed up as
    ``min(ema, (1 + t) / (10 + t))``); validation, early stopping and the saved model then
    use the averaged weights, which smooths the epoch-to-epoch swings of a noisy run.
    ``ensemble`` k > 1 trains k members with seeds ``seed .. seed + k - 1``, each early-stopped
    on its own, and saves them as one model averaging their predictions
    (:mod:`seqnn.ensemble`).
    """

    epochs: int = 100
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"
    scheduler: str = "none"
    grad_clip: float | None = 1.0
    ema: float = 0.0
    ensemble: int = 1
    patience: int = 10
    monitor: str | None = None
    class_weights: str | float = "none"
    loss: str = "auto"
    max_len: int = 1000
    truncate: str = "ends"
    device: str = "auto"
    amp: bool = True
    seed: int = 0
    threads: int | None = None
    num_workers: int = 0
    quiet: bool = False

    def __post_init__(self) -> None:
        choices = {
            "optimizer": ("adam", "adamw", "sgd"), "scheduler": ("none", "plateau", "cosine"),
            "truncate": TRUNCATE_MODES,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                got = getattr(self, name)
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {got!r}")
        class_weight_power(self.class_weights)  # raises on a bad value
        for name in ("epochs", "batch_size", "max_len", "patience", "ensemble"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if not 0.0 <= self.ema < 1.0:
            raise ValueError(f"ema must be in [0, 1), got {self.ema!r}")
        if self.lr <= 0 or self.weight_decay < 0 or self.num_workers < 0:
            raise ValueError("lr must be > 0; weight_decay and num_workers >= 0")
        if self.loss not in ("auto", "cross_entropy", "bce", "mse") and ":" not in self.loss:
            raise ValueError(
                f"loss must be auto, cross_entropy, bce, mse or module:function, got {self.loss!r}"
            )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a plain dict, refusing unknown keys by name."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown training setting(s) {', '.join(unknown)}")
        return cls(**data)


def class_weight_power(value: str | float) -> float:
    """The power of the balanced class weights a ``class_weights`` setting asks for:
    ``"none"`` 0, ``"balanced"`` 1, ``"sqrt"`` 0.5, or a number in (0, 2]."""
    named = {"none": 0.0, "balanced": 1.0, "sqrt": 0.5}
    if isinstance(value, str) and value in named:
        return named[value]
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 2:
        return float(value)
    raise ValueError(f"class_weights must be none, balanced, sqrt or a power in (0, 2], "
                     f"got {value!r}")


def n_outputs_for(ds: EncodedDataset) -> int:
    """Model outputs for a dataset: 1 logit (binary), C (multiclass), 1 (regression / none)."""
    return len(ds.class_names) if ds.task == "multiclass" else 1


def _build_model(name: str, params: dict[str, Any], ds: EncodedDataset, seed: int) -> nn.Module:
    from .models import get_model

    seed_everything(seed)
    model = get_model(name, n_outputs=n_outputs_for(ds), task=ds.task, **params)
    if getattr(model, "unsupervised", False) and ds.task != "unsupervised":
        seed_everything(seed)  # rebuild as unsupervised so model.json says what it is
        model = get_model(name, n_outputs=1, task="unsupervised", **params)
    return model


class _Trainer:
    """One training run; holds everything a ``state.pt`` stores."""

    def __init__(self, train: EncodedDataset, valid: EncodedDataset, model_name: str,
                 model_params: dict[str, Any], config: TrainConfig, out_dir: Path):
        self.cfg, self.out_dir, self.train_ds, self.valid_ds = config, out_dir, train, valid
        self.device = select_device(config.device)
        self.model = _build_model(model_name, model_params, train, config.seed).to(self.device)
        self.task = model_task(self.model)
        self.ema_model = copy.deepcopy(self.model) if config.ema > 0 else None
        self.ema_steps = 0
        unsup = self.task == "unsupervised"
        self.monitor, self.metric, self.mode = resolve_monitor(config.monitor, train.task, unsup)
        weights = None
        if config.class_weights != "none" and not unsup:
            if train.task not in ("binary", "multiclass"):
                raise ValueError(f"class_weights {config.class_weights!r} needs a "
                                 "classification task")
            power = class_weight_power(config.class_weights)
            weights = balanced_class_weights(train.labels, len(train.class_names), power)
        self.loss_fn = None if unsup else build_loss(config.loss, train.task, weights, self.device)
        self.optimizer = build_optimizer(config.optimizer, self.model.parameters(), config.lr,
                                         config.weight_decay)
        self.scheduler = build_scheduler(config.scheduler, self.optimizer, config.epochs,
                                         config.patience, self.mode)
        self.scaler = torch.amp.GradScaler("cuda", enabled=amp_settings(self.device, config.amp)[2])
        pin = self.device.type == "cuda"
        common = {"batch_size": config.batch_size, "max_len": config.max_len,
                  "truncate": config.truncate, "num_workers": config.num_workers, "pin_memory": pin}
        self.loader, self.sampler = make_loader(train, shuffle=True, seed=config.seed, **common)
        self.valid_loader = make_loader(valid, shuffle=False, **common)[0]
        self.fingerprint = json.dumps({
            "model": model_name, "params": self.model.config, "train": dataset_hash(train),
            "valid": dataset_hash(valid),
            **{k: v for k, v in asdict(config).items() if k not in RESUMABLE_CHANGES},
        }, sort_keys=True)
        self.epoch, self.best_epoch, self.bad_epochs = 0, 0, 0
        self.best_value: float | None = None
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.history: list[dict[str, float]] = []
        self.stopped_early = False

    # -- state -------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint, "epoch": self.epoch,
            "model": cpu_state_dict(self.model),
            "optimizer": self.optimizer.state_dict(), "scaler": self.scaler.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "sampler": self.sampler.state_dict(), "rng": capture_rng(),
            "best_epoch": self.best_epoch, "best_value": self.best_value,
            "best_weights": self.best_weights, "bad_epochs": self.bad_epochs,
            "history": self.history, "stopped_early": self.stopped_early,
            "ema": None if self.ema_model is None else cpu_state_dict(self.ema_model),
            "ema_steps": self.ema_steps,
        }

    def restore(self, state: dict[str, Any]) -> None:
        if state["fingerprint"] != self.fingerprint:
            old, new = json.loads(state["fingerprint"]), json.loads(self.fingerprint)
            diff = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
            raise TrainingError(
                f"{self.out_dir / 'state.pt'}: cannot resume, the run differs in "
                f"{', '.join(diff)}; use the same settings or start without resume"
            )
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        if state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])
        self.sampler.load_state_dict(state["sampler"])
        if self.ema_model is not None:
            self.ema_model.load_state_dict(state["ema"])
            self.ema_steps = int(state["ema_steps"])
        for key in ("epoch", "best_epoch", "best_value", "best_weights", "bad_epochs",
                    "history", "stopped_early"):
            setattr(self, key, state[key])
        restore_rng(state["rng"])

    # -- one epoch ---------------------------------------------------------------------
    def train_epoch(self) -> tuple[float, dict[str, Any], int]:
        self.sampler.set_epoch(self.epoch)
        self.model.train()
        parts, total, n = [], 0.0, 0
        for b, cpu_batch in enumerate(_progress(self.loader, self.epoch + 1, self.cfg.quiet)):
            batch = to_device(cpu_batch, self.device)
            with autocast(self.device, self.cfg.amp):
                raw = self.model(batch["x"], batch["mask"])
                loss = batch_loss(self.model, raw, batch, self.loss_fn)
            self._check_loss(loss, b)
            self._step(loss)
            size = len(cpu_batch["index"])
            parts.append((cpu_batch["index"].numpy(), batch_outputs(self.model, raw, batch)))
            total, n = total + loss.item() * size, n + size
        outputs = _gather(parts, len(self.train_ds))
        metrics = split_metrics(self.task, self.train_ds.labels, outputs, self.train_ds.class_names)
        return total / max(n, 1), metrics, n

    def _check_loss(self, loss: Any, b: int) -> None:
        where = f"epoch {self.epoch + 1}, batch {b + 1}"
        if not torch.is_tensor(loss) or loss.ndim != 0:
            raise TrainingError(f"{where}: the loss function must return a scalar tensor")
        if not torch.isfinite(loss):
            raise TrainingError(
                f"non-finite loss ({loss.detach().item()}) at {where}; lower the learning rate, "
                "check the labels and the loss function"
            )

    def _step(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.cfg.grad_clip:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.ema_model is not None:
            self._update_ema()

    @torch.no_grad()
    def _update_ema(self) -> None:
        self.ema_steps += 1
        decay = min(self.cfg.ema, (1 + self.ema_steps) / (10 + self.ema_steps))
        for avg, new in zip(self.ema_model.state_dict().values(),
                            self.model.state_dict().values(), strict=True):
            if avg.is_floating_point():
                avg.lerp_(new, 1.0 - decay)
            else:
                avg.copy_(new)

    @property
    def eval_model(self) -> nn.Module:
        """The weights validated and kept: the moving average when ``ema`` is on."""
        return self.model if self.ema_model is None else self.ema_model

    def run_epoch(self) -> None:
        start = time.perf_counter()
        lr = self.optimizer.param_groups[0]["lr"]
        train_loss, train_metrics, n = self.train_epoch()
        train_seconds = time.perf_counter() - start
        out, valid_loss = run_model(self.eval_model, self.valid_loader, self.device,
                                    self.cfg.amp, self.loss_fn)
        valid = self.valid_ds
        valid_metrics = split_metrics(self.task, valid.labels, out, valid.class_names, valid_loss)
        value = valid_loss if self.monitor == "loss" else valid_metrics[self.monitor]
        self._after_epoch(_num(value))
        self.history.append({
            "epoch": self.epoch, "train_loss": train_loss,
            f"train_{self.metric}": _num(train_metrics.get(self.metric)),
            "valid_loss": valid_loss, f"valid_{self.metric}": _num(valid_metrics.get(self.metric)),
            "lr": lr, "seconds": time.perf_counter() - start,
            "samples_per_sec": n / train_seconds if train_seconds > 0 else math.nan,
        })
        if not self.cfg.quiet:
            log.info("epoch %d: train_loss %.4g valid_loss %.4g valid_%s %.4g", self.epoch,
                     train_loss, valid_loss, self.metric, self.history[-1][f"valid_{self.metric}"])

    def _after_epoch(self, value: float) -> None:
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(value)
        elif self.scheduler is not None:
            self.scheduler.step()
        self.epoch += 1
        if is_better(value, self.best_value, self.mode):
            self.best_value, self.best_epoch, self.bad_epochs = value, self.epoch, 0
            self.best_weights = cpu_state_dict(self.eval_model)
        else:
            self.bad_epochs += 1
        self.stopped_early = self.bad_epochs >= self.cfg.patience

    def save(self) -> None:
        save_state(self.out_dir, self.state())
        write_table(pd.DataFrame(self.history), self.out_dir / HISTORY_FILE)

    def fit(self) -> None:
        while not self.stopped_early and self.epoch < self.cfg.epochs:
            self.run_epoch()
            self.save()
        if self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)


def _gather(parts: list[tuple[np.ndarray, np.ndarray]], n: int) -> np.ndarray:
    out = np.zeros((n, *parts[0][1].shape[1:]), dtype=parts[0][1].dtype)
    for index, values in parts:
        out[index] = values
    return out


def _progress(loader: Any, epoch: int, quiet: bool) -> Any:
    if quiet or not sys.stderr.isatty():
        return loader
    from tqdm.auto import tqdm

    return tqdm(loader, desc=f"epoch {epoch}", leave=False, unit="batch")


def train_model(
    train: EncodedDataset,
    valid: EncodedDataset,
    *,
    model_name: str,
    model_params: dict[str, Any],
    config: TrainConfig,
    out_dir: str | os.PathLike,
    resume: bool = False,
    meta: dict[str, Any] | None = None,
    test: EncodedDataset | None = None,
    evaluate: bool = True,
    restart_on_change: bool = False,
) -> dict[str, Any]:
    """Train registry model ``model_name`` on ``train``, early-stopping on ``valid``.

    Batches are ``x`` ``(N, L)`` tokens and ``mask`` ``(N, L)``, padded per batch (see
    :mod:`seqnn.data`). After every epoch ``out_dir/state.pt`` and ``history.csv`` are written;
    ``resume=True`` continues from ``state.pt`` when it exists (else starts fresh) and, with
    the same settings on CPU, ends bit-identical to an uninterrupted run. The best epoch's
    weights are restored and saved as the model directory in ``out_dir`` (``meta`` adds keys to
    ``model.json``); with ``evaluate``, ``metrics.json`` and ``predictions.tsv`` cover train,
    valid and ``test`` (when given). With ``restart_on_change``, a ``state.pt`` left by a run
    with other settings or data is ignored (training starts fresh, and the new run's state
    replaces it) instead of raising :class:`TrainingError`. Returns a summary:
    ``best_epoch``, ``best_metric``, ``monitor``, ``epochs_run``, ``stopped_early``,
    ``history``, ``model_dir``, ``metrics``.
    """
    _check_inputs(train, valid, test)
    if config.ensemble > 1:
        from .ensemble import train_ensemble

        return train_ensemble(train, valid, config=config, out_dir=out_dir, test=test,
                              evaluate=evaluate, model_name=model_name,
                              model_params=model_params, resume=resume, meta=meta,
                              restart_on_change=restart_on_change)
    limit_primitive_cache()
    if config.threads:
        torch.set_num_threads(config.threads)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    trainer = _Trainer(train, valid, model_name, model_params, config, out)
    state = load_state(out) if resume else None
    if state is not None:
        try:
            trainer.restore(state)
        except TrainingError as exc:
            if not restart_on_change:
                raise
            log.warning("starting afresh: %s", exc)
    trainer.fit()
    model = trainer.model
    save_model(out, model, _model_record(trainer, train, model_name, meta))
    metrics = (evaluate_run(model, train, valid, test, config, trainer.device, out)
               if evaluate else None)
    return {
        "best_epoch": trainer.best_epoch, "best_metric": _finite(trainer.best_value),
        "monitor": trainer.monitor, "epochs_run": trainer.epoch,
        "stopped_early": trainer.stopped_early, "history": str(out / HISTORY_FILE),
        "model_dir": str(out), "metrics": metrics,
    }


def evaluate_run(model: nn.Module, train: EncodedDataset, valid: EncodedDataset,
                 test: EncodedDataset | None, config: TrainConfig, device: torch.device,
                 out: Path) -> dict[str, Any]:
    """Metrics of a trained model on train, valid and ``test`` (when given), written to
    ``out`` as ``metrics.json`` and ``predictions.tsv``."""
    splits = {"train": train, "valid": valid, **({"test": test} if test is not None else {})}
    return evaluate_splits(model, splits, batch_size=max(config.batch_size, 64), device=device,
                           max_len=config.max_len, truncate=config.truncate, out_dir=out)


def _check_inputs(
    train: EncodedDataset, valid: EncodedDataset, test: EncodedDataset | None
) -> None:
    """Refuse empty splits, unlabelled supervised data and splits that disagree on classes."""
    for name, ds in (("train", train), ("valid", valid), ("test", test)):
        if ds is None:
            continue
        if len(ds) == 0 and name != "test":
            raise ValueError(f"the {name} split is empty")
        if ds.task != train.task or list(ds.class_names) != list(train.class_names):
            raise ValueError(f"the {name} split's task/classes differ from the train split's")
        if ds.task != "unsupervised" and ds.labels is None and name != "test":
            raise ValueError(f"the {name} split of a {ds.task} task has no labels")


def _model_record(
    trainer: _Trainer, train: EncodedDataset, model_name: str, meta: dict[str, Any] | None
) -> dict[str, Any]:
    """What ``model.json`` says about a finished run (the caller's ``meta`` added last)."""
    cfg, unsup = trainer.cfg, trainer.task == "unsupervised"
    return {
        "model": model_name, "params": trainer.model.config, "task": trainer.task,
        "class_names": [] if unsup else list(train.class_names),
        "n_outputs": getattr(trainer.model, "n_outputs", None) or n_outputs_for(train),
        "max_len": cfg.max_len, "truncate": cfg.truncate, "data_hash": dataset_hash(train),
        "best_epoch": trainer.best_epoch, "monitor": trainer.monitor,
        "best_metric": _finite(trainer.best_value), "epochs_run": trainer.epoch,
        "train_config": asdict(cfg), **(meta or {}),
    }


def _num(value: Any) -> float:
    """A metric value as float; ``None`` (undefined) becomes NaN."""
    return math.nan if value is None else float(value)


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


__all__ = [
    "TrainConfig",
    "TrainingError",
    "select_device",
    "amp_settings",
    "train_model",
    "predict_dataset",
    "embed_dataset",
    "evaluate_splits",
    "n_outputs_for",
]
