"""The epoch loop of one network: a :class:`Trainer` is handed the datasets, the model's
name and parameters and a :class:`~seqnn.config.TrainConfig`, builds its parts once, then
runs epochs (mixed precision on CUDA, gradient clipping, an optional weight average,
early stopping) and writes ``state.pt`` and ``history.csv`` after every epoch, so that a
run can resume where it stopped.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..config import TrainConfig, class_weight_power
from ..data.encoding import EncodedDataset
from ..data.files import write_table
from ..errors import ConfigError, TrainingError
from ..layout import HISTORY
from ..models import get_model
from ..runtime.batches import dataset_hash, make_loader
from ..runtime.device import amp_settings, autocast, select_device
from ..runtime.forward import batch_loss, batch_outputs, model_task, run_model, to_device
from .evaluation import split_metrics
from .model_size import check_model_size
from .parts import (
    balanced_class_weights,
    build_loss,
    build_optimizer,
    build_scheduler,
    is_better,
    positive_weights,
    resolve_monitor,
)
from .state import capture_rng, cpu_state_dict, restore_rng, save_state, seed_everything

log = logging.getLogger("seqnn.train")
#: settings that may change between an interrupted run and its resume
RESUMABLE_CHANGES = ("epochs", "patience", "device", "threads", "num_workers", "quiet", "nproc")


def n_outputs_for(ds: EncodedDataset) -> int:
    """Model outputs for a dataset: 1 logit (binary), C (multiclass), one logit per label
    (multilabel), 1 (regression / none)."""
    return len(ds.class_names) if ds.task in ("multiclass", "multilabel") else 1


def _build_model(name: str, params: dict[str, Any], ds: EncodedDataset, seed: int) -> nn.Module:
    """The registry model ``name`` for ``ds``'s task, its weights drawn after seeding; a name
    or parameter the registry or the model refuses is a :class:`~seqnn.errors.ConfigError`
    ``"model '<name>': <reason>"``."""
    try:
        seed_everything(seed)
        model = get_model(name, n_outputs=n_outputs_for(ds), task=ds.task, **params)
        if getattr(model, "unsupervised", False) and ds.task != "unsupervised":
            seed_everything(seed)  # rebuild as unsupervised so model.json says what it is
            model = get_model(name, n_outputs=1, task="unsupervised", **params)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"model {name!r}: {exc}") from None
    return model


class Trainer:
    """One training run of one network; holds everything a ``state.pt`` stores."""

    def __init__(self, train: EncodedDataset, valid: EncodedDataset, model_name: str,
                 model_params: dict[str, Any], config: TrainConfig, out_dir: Path,
                 order_seed: int | None = None):
        """``order_seed`` seeds the batch order (default: ``config.seed``, which also seeds
        the weights and dropout); an ensemble's members share their ensemble's."""
        self.cfg, self.out_dir, self.train_ds, self.valid_ds = config, out_dir, train, valid
        # refuse a model too large for memory before anything is allocated (meta device)
        check_model_size(model_name, model_params, train.task, n_outputs_for(train),
                         config.max_len, "")
        self.device = select_device(config.device)
        self.model = _build_model(model_name, model_params, train, config.seed).to(self.device)
        self.task = model_task(self.model)
        self.ema_model = copy.deepcopy(self.model) if config.ema > 0 else None
        self.ema_steps = 0
        unsup = self.task == "unsupervised"
        monitor = config.monitor
        if getattr(self.model, "generative", False) and monitor in (None, "auto"):
            monitor = "loss"  # a generative family's validation loss is its criterion
        self.monitor, self.metric, self.mode = resolve_monitor(monitor, train.task, unsup)
        weights = None
        if config.class_weights != "none" and not unsup:
            if train.task not in ("binary", "multiclass", "multilabel"):
                raise ValueError(f"class_weights {config.class_weights!r} needs a "
                                 "classification task")
            power = class_weight_power(config.class_weights)
            weights = (positive_weights(train.labels, power) if train.task == "multilabel"
                       else balanced_class_weights(train.labels, len(train.class_names), power))
        self.loss_fn = None if unsup else build_loss(config.loss, train.task, weights, self.device)
        self.optimizer = build_optimizer(config.optimizer, self.model.parameters(), config.lr,
                                         config.weight_decay)
        betas = getattr(self.model, "adam_betas", None)  # a family's own (the GAN's)
        if betas is not None and config.optimizer in ("adam", "adamw"):
            for group in self.optimizer.param_groups:
                group["betas"] = tuple(betas)
        self.scheduler = build_scheduler(config.scheduler, self.optimizer, config.epochs,
                                         config.patience, self.mode)
        self.scaler = torch.amp.GradScaler("cuda", enabled=amp_settings(self.device, config.amp)[2])
        pin = self.device.type == "cuda"
        common = {"batch_size": config.batch_size, "max_len": config.max_len,
                  "truncate": config.truncate, "num_workers": config.num_workers, "pin_memory": pin}
        order = config.seed if order_seed is None else order_seed
        self.loader, self.sampler = make_loader(train, shuffle=True, seed=order, **common)
        self.valid_loader = make_loader(valid, shuffle=False, **common)[0]
        self.fingerprint = json.dumps({
            "model": model_name, "params": self.model.config, "train": dataset_hash(train),
            "valid": dataset_hash(valid),
            **{k: v for k, v in asdict(config).items() if k not in RESUMABLE_CHANGES},
            **({} if order_seed is None else {"order_seed": order_seed}),
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
        """Continue from a ``state.pt``; one that does not fit this run (other settings,
        missing keys, wrong types or shapes) raises :class:`TrainingError` in one line."""
        try:
            self._restore(state)
        except TrainingError:
            raise
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError,
                IndexError) as err:
            first = (str(err).strip().splitlines() or [""])[0][:200]
            raise TrainingError(
                f"{self.out_dir / 'state.pt'}: not a training state of this run "
                f"({type(err).__name__}: {first}); delete it to start over") from None

    def _restore(self, state: dict[str, Any]) -> None:
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
        # the bar is updated by hand, never wrapped around the loader: wrapping changes how
        # the loader is iterated, and so torch's random state, so results would depend on
        # whether stderr is a terminal
        bar = progress_bar(len(self.loader), self.epoch + 1, self.cfg.epochs, self.cfg.quiet)
        try:
            for b, cpu_batch in enumerate(self.loader):
                batch = to_device(cpu_batch, self.device)
                with autocast(self.device, self.cfg.amp):
                    raw = self.model(batch["x"], batch["mask"])
                    loss = batch_loss(self.model, raw, batch, self.loss_fn)
                self.check_loss(loss, b)
                self._step(loss)
                size = len(cpu_batch["index"])
                parts.append((cpu_batch["index"].numpy(), batch_outputs(self.model, raw, batch)))
                total, n = total + loss.item() * size, n + size
                if bar is not None:
                    bar.update()
        finally:
            if bar is not None:
                bar.close()
        outputs = gather_outputs(parts, len(self.train_ds))
        metrics = split_metrics(self.task, self.train_ds.labels, outputs, self.train_ds.class_names)
        return total / max(n, 1), metrics, n

    def check_loss(self, loss: Any, b: int) -> None:
        """Refuse a loss that is not a finite scalar (batch ``b`` of this epoch), in one line."""
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
        self.apply_step()

    def apply_step(self) -> None:
        """After the backward pass: clip, step the optimiser, update the weight average."""
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

    def validate(self) -> tuple[np.ndarray, float]:
        """Outputs on the validation split (dataset order) and its mean loss."""
        return run_model(self.eval_model, self.valid_loader, self.device, self.cfg.amp,
                         self.loss_fn)

    def run_epoch(self) -> None:
        start = time.perf_counter()
        lr = self.optimizer.param_groups[0]["lr"]
        trained = self.train_epoch()
        self.end_epoch(trained, start, time.perf_counter() - start, lr)

    def end_epoch(self, trained: tuple[float, dict[str, Any], int], start: float,
                  train_seconds: float, lr: float,
                  validated: tuple[np.ndarray, float] | None = None) -> None:
        """Validate (unless ``validated``, :meth:`validate`'s result, is given), step the
        scheduler and early stopping, record the epoch's history row (``trained``:
        :meth:`train_epoch`'s result; ``start`` the epoch's start time) and log it."""
        train_loss, train_metrics, n = trained
        out, valid_loss = self.validate() if validated is None else validated
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
            log.info(self.epoch_line())

    def epoch_line(self) -> str:
        """One line for the last epoch: epoch/total, losses, the validation metric, the best
        monitored value so far and the epoch's seconds (numbers to 4 significant digits)."""
        h = self.history[-1]
        line = (f"epoch {self.epoch}/{self.cfg.epochs}: train_loss {h['train_loss']:.4g} "
                f"valid_loss {h['valid_loss']:.4g} valid_{self.metric} "
                f"{h[f'valid_{self.metric}']:.4g}")
        best = math.nan if self.best_value is None else self.best_value
        return (f"{line}; best valid_{self.monitor} {best:.4g} (epoch {self.best_epoch}); "
                f"{h['seconds']:.1f} s")

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
        write_table(pd.DataFrame(self.history), self.out_dir / HISTORY, inside=self.out_dir)

    def fit(self) -> None:
        """Run the epochs left, saving after each, then keep the best weights. A finished run
        resumed (no epoch left: a forced rerun, whose outputs Snakemake deleted) writes its
        state and history again, so its model folder is complete and the same as before."""
        if not self.running and self.epoch:
            self.save()
        while self.running:
            self.run_epoch()
            self.save()
        self.keep_best()

    @property
    def running(self) -> bool:
        """Epochs left and not stopped early."""
        return not self.stopped_early and self.epoch < self.cfg.epochs

    def keep_best(self) -> None:
        """Load the best epoch's weights into the model (after the last epoch)."""
        if self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)


def gather_outputs(parts: list[tuple[np.ndarray, np.ndarray]], n: int) -> np.ndarray:
    out = np.zeros((n, *parts[0][1].shape[1:]), dtype=parts[0][1].dtype)
    for index, values in parts:
        out[index] = values
    return out


def progress_bar(n_batches: int, epoch: int, epochs: int, quiet: bool) -> Any:
    """A batch bar for one epoch on a terminal (erased when done), else ``None``."""
    if quiet or not sys.stderr.isatty():
        return None
    from tqdm.auto import tqdm

    return tqdm(total=n_batches, desc=f"epoch {epoch}/{epochs}", leave=False, unit="batch")


def _num(value: Any) -> float:
    """A metric value as float; ``None`` (undefined) becomes NaN."""
    return math.nan if value is None else float(value)


__all__ = ["RESUMABLE_CHANGES", "Trainer", "gather_outputs", "n_outputs_for", "progress_bar"]
