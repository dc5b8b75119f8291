"""One network trained into a model folder: the steps around the epoch loop.

``out_dir`` receives, as training goes, ``state.pt`` (after every epoch; see
:mod:`seqnn.training.state`) and ``history.csv``; at the end the model
(``model.safetensors`` + ``model.json``, :mod:`seqnn.runtime.checkpoint`) and, unless
``evaluate=False``, ``metrics.json`` + ``predictions.tsv`` (:mod:`seqnn.training.evaluation`).
Every file is written atomically.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from ..config import TrainConfig
from ..data.encoding import EncodedDataset
from ..data.tables import absent_classes, check_label_set
from ..errors import SeqnnInputError, TrainingError
from ..layout import HISTORY
from ..runtime.batches import dataset_hash
from ..runtime.checkpoint import save_model
from ..runtime.device import heap_limited, limit_primitive_cache
from .evaluation import evaluate_run, valid_temperature, valid_thresholds
from .loop import Trainer, n_outputs_for
from .state import load_state

log = logging.getLogger("seqnn.train")


def train_single(
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
    notes: list[str] | None = None,
    order_seed: int | None = None,
) -> dict[str, Any]:
    """Train one network (``config.ensemble`` is not looked at) on splits that
    :func:`check_splits` accepted; the contract and the summary of
    :func:`seqnn.training.run.train_model`. ``notes`` (the warnings of :func:`check_splits`)
    go into ``metrics.json``. ``metrics.json`` is written before the model and
    ``model.json`` last, so that a crash never leaves weights without metrics.
    ``order_seed``: the batch order's seed (:class:`~seqnn.training.loop.Trainer`)."""
    out = Path(out_dir)
    trainer = new_trainer(train, valid, model_name, model_params, config, out, resume,
                          restart_on_change, order_seed)
    trainer.fit()
    metrics = finish_model(trainer, train, valid, test, config, out, model_name, meta, notes,
                           evaluate)
    return run_summary(trainer, out, metrics)


def new_trainer(train: EncodedDataset, valid: EncodedDataset, model_name: str,
                model_params: dict[str, Any], config: TrainConfig, out: Path, resume: bool,
                restart_on_change: bool, order_seed: int | None = None) -> Trainer:
    """A :class:`Trainer` writing to ``out`` (created), resumed from its ``state.pt`` as
    :func:`restore_state` says, with torch's threads and primitive cache set up."""
    limit_primitive_cache()
    if config.threads:
        torch.set_num_threads(config.threads)
    out.mkdir(parents=True, exist_ok=True)
    trainer = Trainer(train, valid, model_name, model_params, config, out, order_seed)
    restore_state(trainer, out, resume, restart_on_change)
    return trainer


def restore_state(trainer: Trainer, out: Path, resume: bool, restart_on_change: bool) -> None:
    """With ``resume``, continue from ``out``'s ``state.pt`` when there is one; a state from
    other data or settings raises, or (``restart_on_change``) is logged and ignored."""
    state = load_state(out) if resume else None
    if state is None:
        return
    try:
        trainer.restore(state)
    except TrainingError as exc:
        if not restart_on_change:
            raise
        log.warning("starting afresh: %s", exc)


def run_summary(trainer: Trainer, out: Path, metrics: dict[str, Any] | None) -> dict[str, Any]:
    """What a training function returns: best epoch and metric, epochs run, the files."""
    return {
        "best_epoch": trainer.best_epoch, "best_metric": _finite(trainer.best_value),
        "monitor": trainer.monitor, "epochs_run": trainer.epoch,
        "stopped_early": trainer.stopped_early, "history": str(out / HISTORY),
        "model_dir": str(out), "metrics": metrics,
    }


def finish_model(trainer: Trainer, train: EncodedDataset, valid: EncodedDataset,
                 test: EncodedDataset | None, config: TrainConfig, out: Path, model_name: str,
                 meta: dict[str, Any] | None, notes: list[str] | None,
                 evaluate: bool) -> dict[str, Any] | None:
    """After training: fit the temperature (multilabel: one per label) on valid, choose
    multilabel thresholds on the calibrated valid probabilities,
    evaluate (when asked) and save the model folder; returns the metrics or ``None``.
    Shared by one-process and data-parallel training (there run on rank 0 only); runs with
    the heap's growth limited (:func:`~seqnn.runtime.device.heap_limited`)."""
    with heap_limited():
        return _finish_model(trainer, train, valid, test, config, out, model_name, meta, notes,
                             evaluate)


def _finish_model(trainer: Trainer, train: EncodedDataset, valid: EncodedDataset,
                  test: EncodedDataset | None, config: TrainConfig, out: Path, model_name: str,
                  meta: dict[str, Any] | None, notes: list[str] | None,
                  evaluate: bool) -> dict[str, Any] | None:
    model = trainer.model
    temperature = valid_temperature(model, valid, config, trainer.device)
    labelwise = temperature if isinstance(temperature, list) else None  # multilabel
    thresholds = valid_thresholds(model, valid, config, trainer.device, labelwise)
    metrics = (evaluate_run(model, train, valid, test, config, trainer.device, out, notes,
                            thresholds, labelwise,
                            temperature=None if labelwise is not None else temperature)
               if evaluate else None)
    if thresholds is not None:  # multilabel: chosen on valid, applied by seqnn predict
        meta = {**(meta or {}), "label_separator": train.label_separator,
                "thresholds": dict(zip(train.class_names, thresholds, strict=True))}
    record = _model_record(trainer, train, model_name, meta)
    if labelwise is not None:  # label -> T, in class order, as the thresholds
        record["temperature"] = dict(zip(train.class_names, labelwise, strict=True))
    elif temperature is not None:
        record["temperature"] = temperature
    save_model(out, model, record)
    return metrics


def check_splits(
    train: EncodedDataset, valid: EncodedDataset, test: EncodedDataset | None,
    source: str | os.PathLike = "<training data>",
) -> list[str]:
    """Refuse empty splits, unlabelled supervised data, splits that disagree on classes and
    unusable labels (:func:`seqnn.data.tables.check_label_set`: non-finite regression
    targets anywhere, fewer than two classes in train); errors name ``source``. Returns the
    warnings to log and record: a class absent from a split."""
    for name, ds in (("train", train), ("valid", valid), ("test", test)):
        if ds is None:
            continue
        if len(ds) == 0 and name != "test":
            raise SeqnnInputError(source, f"the {name} split is empty")
        if ds.task != train.task or list(ds.class_names) != list(train.class_names):
            raise SeqnnInputError(source, f"the {name} split's task/classes differ from the "
                                  "train split's")
        if ds.task != "unsupervised" and ds.labels is None and name == "test":
            continue
        check_label_set(ds.task, ds.labels, ds.class_names, source, f"the {name} split",
                        count_classes=name == "train")
    notes = []
    if train.task in ("binary", "multiclass", "multilabel"):
        for name, ds in (("train", train), ("valid", valid), ("test", test)):
            missing = absent_classes(ds.labels, ds.class_names) if ds is not None else []
            if missing and len(ds):
                notes.append(f"class(es) {', '.join(missing)} absent from the {name} split "
                             f"({len(ds)} sequences): its metrics there miss that class")
    return notes


def _model_record(
    trainer: Trainer, train: EncodedDataset, model_name: str, meta: dict[str, Any] | None
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


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)
