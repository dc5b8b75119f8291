"""The prediction table: the one place that lays out a model's outputs as columns.

Training's ``predictions.tsv`` (``id``, ``split``, ``true``, ...) and ``seqnn predict``'s
table (``id``, ``length``, ..., ``flags``) share the columns built here, after their own
leading columns:

* classification: ``predicted`` (class name), then one ``p_<class>`` probability per class
  in ``class_names`` order;
* multilabel: ``predicted`` (the labels whose probability reaches their threshold, joined
  by the separator; empty when none does), then one ``p_<label>`` probability per label;
* regression: ``predicted`` (the value);
* autoencoder (task ``unsupervised``): ``reconstruction_accuracy`` per sequence.

With ``truth``, a ``true`` column (class name or value; empty or NaN without labels) comes
before ``predicted``. Pure pandas/numpy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd


def prediction_columns(task: str, class_names: Sequence[str], truth: bool = False) -> list[str]:
    """The output columns of the table for ``task``, in order (module doc)."""
    if task == "unsupervised":
        return ["reconstruction_accuracy"]
    head = ["true"] if truth else []
    if task == "regression":
        return [*head, "predicted"]
    return [*head, "predicted", *(f"p_{c}" for c in class_names)]


def frame_of(front: Mapping[str, Any]) -> pd.DataFrame:
    """The leading columns as a DataFrame."""
    return pd.DataFrame(dict(front))


def _multilabel_table(frame: pd.DataFrame, names: Sequence[str], outputs: np.ndarray,
                      truth: bool, labels: np.ndarray | None,
                      thresholds: Sequence[float] | None, sep: str) -> pd.DataFrame:
    """The multilabel columns (module doc) after ``frame``'s."""
    prob = np.asarray(outputs, dtype=np.float64).reshape(len(frame), len(names))
    cut = np.asarray(thresholds if thresholds is not None else [0.5] * len(names))

    def joined(rows: np.ndarray) -> list[str]:
        return [sep.join(str(names[j]) for j in np.flatnonzero(r)) for r in rows]

    if truth:
        frame["true"] = joined(np.asarray(labels) > 0) if labels is not None else ""
    frame["predicted"] = joined(prob >= cut[None, :])
    for j, name in enumerate(names):
        frame[f"p_{name}"] = prob[:, j]
    return frame


def prediction_table(
    front: Mapping[str, Any], task: str, class_names: Sequence[str], outputs: np.ndarray,
    predicted: np.ndarray | None, *, truth: bool = False, labels: np.ndarray | None = None,
    thresholds: Sequence[float] | None = None, separator: str = ";",
) -> pd.DataFrame:
    """The leading ``front`` columns followed by the output columns (module doc).

    ``outputs`` are :func:`seqnn.runtime.forward.predict_dataset` outputs (``(N, C)``
    probabilities, ``(N,)`` values or per-sequence reconstruction accuracies);
    ``predicted`` the ``(N,)`` class indices (classification); ``labels`` the true class
    indices or values, written as ``true`` when ``truth`` is set. Multilabel: ``outputs``
    ``(N, K)`` probabilities, ``labels`` ``(N, K)`` 0/1, ``thresholds`` one per label
    (default 0.5) and ``separator`` joining the label sets of ``true`` and ``predicted``.
    """
    if task == "multilabel":
        return _multilabel_table(frame_of(front), class_names, outputs, truth, labels,
                                 thresholds, separator)
    frame = pd.DataFrame(dict(front))
    if task == "unsupervised":
        frame["reconstruction_accuracy"] = outputs
        return frame
    names = np.asarray(class_names, dtype=object)
    if truth and task == "regression":
        frame["true"] = labels if labels is not None else np.nan
    elif truth:
        frame["true"] = names[labels] if labels is not None else ""
    if task == "regression":
        frame["predicted"] = outputs
        return frame
    frame["predicted"] = names[predicted]
    for j, cls in enumerate(class_names):
        frame[f"p_{cls}"] = outputs[:, j]
    return frame


__all__ = ["prediction_columns", "prediction_table"]
