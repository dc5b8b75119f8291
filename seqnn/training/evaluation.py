"""A trained model scored on its splits: metrics per split and the ``metrics.json`` and
``predictions.tsv`` files of a run (the prediction table of :mod:`seqnn.runtime.table`).

``metrics.json`` holds one object per split (``train``, ``valid``, ``test``) with the task's
metrics, ``loss`` and ``n``; for a classifier whose temperature was fitted on the validation
split, each labelled split also holds ``calibration`` (:func:`calibration_metrics`):
``temperature``, ``n``, ``ece_before``, ``ece_after``, ``brier_before``, ``brier_after``,
``nll_before``, ``nll_after`` (before and after temperature scaling; multi-label: the means
over labels, ``temperature`` a mapping label -> T). Top-level ``warnings`` and (multi-label)
``thresholds`` complete it.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from .. import layout, metrics
from ..calibration import (
    calibration_summary,
    fit_label_temperatures,
    fit_temperature,
    label_calibration_summary,
    scale_labels,
)
from ..config import DEFAULT_MAX_LEN, TrainConfig
from ..data.encoding import EncodedDataset
from ..data.files import write_table, write_text
from ..errors import TrainingError
from ..runtime.forward import model_task, predict_dataset
from ..runtime.table import prediction_table


def split_metrics(
    task: str, y_true: np.ndarray | None, outputs: np.ndarray, class_names: list[str],
    loss: float = math.nan, thresholds: list[float] | None = None,
) -> dict[str, Any]:
    """Metrics of one split from :func:`run_model` outputs (``(N, 2)`` counts for autoencoders).

    Classification and regression use :mod:`seqnn.metrics`; an autoencoder reports
    ``reconstruction_accuracy`` (pooled over residues), ``loss`` and ``n``. Multilabel
    applies ``thresholds`` (one per label; default 0.5) and adds ``per_label`` scores.
    """
    if task == "unsupervised":
        acc = float(outputs[:, 0].sum() / max(outputs[:, 1].sum(), 1))
        return {"reconstruction_accuracy": acc, "loss": loss, "n": len(outputs)}
    if y_true is None:
        return {"n": len(outputs)}
    if task == "regression":
        result = dict(metrics.regression_metrics(y_true, outputs))
    elif task == "multilabel":
        result = dict(metrics.multilabel_metrics(y_true, outputs, 0.5 if thresholds is None
                                                 else thresholds, class_names))
    else:
        pred = outputs.argmax(1)
        result = dict(metrics.classification_metrics(y_true, pred, outputs, class_names))
    if not math.isnan(loss):
        result["loss"] = loss
    return result


#: the keys of a split's ``calibration`` object in ``metrics.json``
CALIBRATION_KEYS = ("temperature", "n", "ece_before", "ece_after", "brier_before",
                    "brier_after", "nll_before", "nll_after")


def calibration_metrics(task: str, y_true: np.ndarray | None, outputs: np.ndarray,
                        temperature: float | list[float] | None,
                        class_names: list[str]) -> dict[str, Any] | None:
    """ECE, Brier score and NLL of one split before and after temperature scaling (the
    :data:`CALIBRATION_KEYS` of :func:`seqnn.calibration.calibration_summary`), or ``None``
    without labels, records or a temperature, or for a task that is not classification.
    ``outputs`` are the uncalibrated probabilities ``(N, K)``; multi-label: per-label
    ``temperature`` (one per label), the means over labels, ``temperature`` a mapping."""
    if temperature is None or y_true is None or not len(outputs):
        return None
    if task == "multilabel":
        summary = label_calibration_summary(outputs, np.asarray(y_true), list(temperature),
                                            [str(c) for c in class_names])
    elif task in ("binary", "multiclass"):
        summary = calibration_summary(np.asarray(outputs, np.float64),
                                      np.asarray(y_true, np.int64), float(temperature))
    else:
        return None
    return {key: summary[key] for key in CALIBRATION_KEYS}


def check_finite(model: nn.Module, outputs: Any, ids: list[str], split: str) -> None:
    """Raise :class:`~seqnn.errors.TrainingError` naming the model (``model.name``), the
    split and the first record whose outputs (``(N, ...)``) hold a NaN or an infinity (e.g.
    a finite but huge weight), as ``seqnn predict`` does: never a metric of NaN or an
    empty cell in ``predictions.tsv``."""
    values = np.asarray(outputs, dtype=float).reshape(len(ids), -1)
    bad = np.flatnonzero(~np.isfinite(values).all(axis=1))
    if bad.size:
        raise TrainingError(f"model {getattr(model, 'name', '?')!r}: non-finite output for "
                            f"record {str(ids[int(bad[0])])!r} of the {split} split ({bad.size} of "
                            f"{len(ids)} records); its weights overflow")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    return None if isinstance(value, float) and not math.isfinite(value) else value


def evaluate_splits(
    model: nn.Module, splits: dict[str, EncodedDataset], *, batch_size: int = 256,
    device: str | torch.device = "cpu", max_len: int = DEFAULT_MAX_LEN, truncate: str = "ends",
    out_dir: str | os.PathLike | None = None, notes: list[str] | None = None,
    thresholds: list[float] | None = None, separator: str = ";",
    label_temperatures: list[float] | None = None, temperature: float | None = None,
) -> dict[str, Any]:
    """Metrics per split, e.g. ``{"train": {...}, "valid": {...}, "test": {...}}``.

    With ``out_dir``, also writes ``metrics.json`` (this dict; NaN becomes ``null``) and
    ``predictions.tsv`` (``id``, ``split``, ``true``, ``predicted``, one ``p_<class>``
    probability column per class; regression: ``true``, ``predicted``; autoencoder:
    ``reconstruction_accuracy``), both atomically. ``notes`` (warnings about the data, e.g.
    a class absent from a split) are kept under ``"warnings"`` when there are any.
    Multilabel: ``thresholds`` (one per label) decide the predicted sets and the metrics,
    and are kept under ``"thresholds"``; ``separator`` joins ``predictions.tsv``'s sets;
    ``label_temperatures`` (one per label) calibrate the probabilities first, so that the
    metrics, the sets and ``predictions.tsv``'s ``p_<label>`` columns are the calibrated
    ones ``seqnn predict`` gives (binary and multiclass keep their raw probabilities there).
    With ``temperature`` (binary, multiclass) or ``label_temperatures`` (multi-label), each
    labelled split also gets ``calibration`` (:func:`calibration_metrics`, module doc).
    """
    task = model_task(model)
    results: dict[str, dict[str, Any]] = {}
    frames = []
    for name, ds in splits.items():
        kw = {"batch_size": batch_size, "device": device, "max_len": max_len, "truncate": truncate}
        if task == "multilabel" and label_temperatures is not None:
            kw["temperature"] = list(label_temperatures)
        pred = predict_dataset(model, ds, **kw)
        if task != "unsupervised":  # counts; a GAN's accuracy is NaN by design
            check_finite(model, pred["outputs"], list(ds.ids), name)
        outputs = pred["counts"] if task == "unsupervised" else pred["outputs"]
        results[name] = split_metrics(task, ds.labels, outputs, ds.class_names, pred["loss"],
                                      thresholds)
        if task == "multilabel" and label_temperatures is not None:  # undo the calibration
            raw = scale_labels(outputs, [1.0 / t for t in label_temperatures])
            calib = calibration_metrics(task, ds.labels, raw, label_temperatures,
                                        ds.class_names)
        else:
            calib = calibration_metrics(task, ds.labels, outputs, temperature, ds.class_names)
        if calib is not None:
            results[name]["calibration"] = calib
        frames.append(prediction_table({"id": ds.ids, "split": name}, task, ds.class_names,
                                       pred["outputs"], pred["predicted"], truth=True,
                                       labels=ds.labels, thresholds=thresholds,
                                       separator=separator))
    results = _jsonable(results)
    if notes:
        results["warnings"] = list(notes)
    if task == "multilabel" and thresholds is not None:
        results["thresholds"] = dict(zip(map(str, next(iter(splits.values())).class_names),
                                         thresholds, strict=True))
    if out_dir is not None:
        write_text(json.dumps(results, indent=2) + "\n", Path(out_dir) / layout.METRICS,
                   inside=out_dir)
        write_table(pd.concat(frames, ignore_index=True), Path(out_dir) / layout.PREDICTIONS,
                    inside=out_dir)
    return results


def valid_temperature(model: nn.Module, valid: EncodedDataset, config: TrainConfig,
                      device: torch.device) -> float | list[float] | None:
    """The temperature of a classifier fitted on the validation split
    (:func:`seqnn.calibration.fit_temperature`; multilabel: one per label in class order,
    :func:`seqnn.calibration.fit_label_temperatures`); ``None`` for other tasks or no
    labels."""
    task = model_task(model)
    if (task not in ("binary", "multiclass", "multilabel") or valid.labels is None
            or not len(valid)):
        return None
    pred = predict_dataset(model, valid, batch_size=max(config.batch_size, 64), device=device,
                           max_len=config.max_len, truncate=config.truncate)
    check_finite(model, pred["outputs"], list(valid.ids), "valid")
    if task == "multilabel":
        return fit_label_temperatures(pred["outputs"], np.asarray(valid.labels))
    return fit_temperature(pred["outputs"], np.asarray(valid.labels, np.int64))


def evaluate_run(model: nn.Module, train: EncodedDataset, valid: EncodedDataset,
                 test: EncodedDataset | None, config: TrainConfig, device: torch.device,
                 out: Path, notes: list[str] | None = None,
                 thresholds: list[float] | None = None,
                 label_temperatures: list[float] | None = None,
                 temperature: float | None = None) -> dict[str, Any]:
    """Metrics of a trained model on train, valid and ``test`` (when given), written to
    ``out`` as ``metrics.json`` (with ``notes`` as ``"warnings"``, and ``calibration`` per
    split for the ``temperature`` of :func:`valid_temperature`) and ``predictions.tsv``
    (multilabel: calibrated by ``label_temperatures`` and decided by the per-label
    ``thresholds`` of :func:`valid_thresholds`)."""
    splits = {"train": train, "valid": valid, **({"test": test} if test is not None else {})}
    return evaluate_splits(model, splits, batch_size=max(config.batch_size, 64), device=device,
                           max_len=config.max_len, truncate=config.truncate, out_dir=out,
                           notes=notes, thresholds=thresholds,
                           label_temperatures=label_temperatures, temperature=temperature)


def valid_thresholds(model: nn.Module, valid: EncodedDataset, config: TrainConfig,
                     device: torch.device,
                     temperatures: list[float] | None = None) -> list[float] | None:
    """Multilabel: the per-label decision thresholds chosen on the validation split
    (:func:`seqnn.metrics.choose_thresholds`) on its probabilities calibrated by
    ``temperatures`` (one per label, from :func:`valid_temperature`); ``None`` for any
    other task."""
    if model_task(model) != "multilabel" or valid.labels is None or not len(valid):
        return None
    pred = predict_dataset(model, valid, batch_size=max(config.batch_size, 64), device=device,
                           max_len=config.max_len, truncate=config.truncate,
                           temperature=1.0 if temperatures is None else list(temperatures))
    return metrics.choose_thresholds(valid.labels, pred["outputs"])


__all__ = ["CALIBRATION_KEYS", "calibration_metrics", "check_finite", "evaluate_run",
           "evaluate_splits", "split_metrics", "valid_temperature", "valid_thresholds"]
