"""A model's test metric by bin: by nearest-train identity (does it only work on close
homologues?) and by sequence length (does it only work on one length range?).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.labelsets import multi_hot
from ..metrics import IDENTITY_BINS, classification_metrics, multilabel_metrics, regression_metrics


def _metric_of(pred: pd.DataFrame, task: str, class_names: list[str], metric: str) -> float | None:
    """``metric`` of the rows of a prediction table."""
    if task == "regression":
        return regression_metrics(pred["true"], pred["predicted"])[metric]
    if task == "multilabel":  # the predicted sets as 0/1 "probabilities" at threshold 0.5
        truth = multi_hot(pred["true"].fillna("").astype(str).tolist(), class_names)
        made = multi_hot(pred["predicted"].fillna("").astype(str).tolist(), class_names)
        return multilabel_metrics(truth, made, 0.5, class_names)[metric]
    proba = pred[[f"p_{c}" for c in class_names]].to_numpy() if class_names else None
    return classification_metrics(pred["true"].astype(str), pred["predicted"].astype(str),
                                  proba, class_names or None)[metric]


def metric_by_bins(pred: pd.DataFrame, values: pd.Series, bins: list[tuple[float, float, str]],
                   task: str, class_names: list[str], metric: str) -> dict:
    """``{bin: {"n": n, "metric": m, ...}}`` of ``metric`` over the rows whose value falls in
    each ``[low, high)`` bin (``values`` aligned to ``pred``'s rows).

    Classification bins also carry ``accuracy``, ``recall`` per true class, ``classes`` (true
    class counts) and ``one_class`` (all sequences of one true class: ``metric`` is None
    there, since MCC is undefined, not 0, while accuracy and recall still mean something).
    Regression bins also carry ``mae``. A bin of fewer than 2 rows gets ``metric`` None.
    """
    out = {}
    for low, high, name in bins:
        sel = (values >= low) & (values < high)
        part = pred[sel.to_numpy()]
        entry: dict = {"n": int(len(part)), "metric": None}
        if task != "regression" and len(part):
            entry["accuracy"] = float((part["true"] == part["predicted"]).mean())
            entry["classes"] = {str(k): int(v) for k, v in part["true"].value_counts().items()}
            entry["recall"] = {str(k): float((g["predicted"] == k).mean())
                               for k, g in part.groupby("true")}
        elif len(part):
            entry["mae"] = float((part["true"].astype(float)
                                  - part["predicted"].astype(float)).abs().mean())
        one_class = task != "regression" and part["true"].nunique() < 2
        if task != "regression":
            entry["one_class"] = bool(len(part) and one_class)
        if len(part) >= 2 and not one_class:
            entry["metric"] = _metric_of(part, task, class_names, metric)
        out[name] = entry
    return out


def length_bins(lengths: pd.Series) -> list[tuple[float, float, str]]:
    """Quartile bins of sequence length, named by their ranges."""
    edges = np.unique(np.quantile(lengths, [0, 0.25, 0.5, 0.75, 1.0]).round())
    bins = []
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        top = hi + 1 if i == len(edges) - 2 else hi
        bins.append((float(lo), float(top), f"{int(lo)}-{int(top) - 1}"))
    return bins


__all__ = ["IDENTITY_BINS", "length_bins", "metric_by_bins"]
