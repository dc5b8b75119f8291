"""Metrics shared by the baselines, the training loop, the checks and the report.

Pure numpy / scikit-learn / scipy (no torch). Classification metrics take class names
or integer class indices; ``class_names`` fixes the class order (default: sorted unique
names). Probabilities are ``(N, K)`` with columns in ``class_names`` order; for binary
tasks an ``(N,)`` vector is read as the probability of the positive class,
``class_names[1]``. A metric that is undefined on the given data (a class absent for
ROC AUC, a constant vector for a correlation, fewer than two samples) is ``None``,
never a silent 0 or NaN, so the result is JSON-serialisable as it is.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from scipy import stats
from sklearn import metrics as skm

CLASSIFICATION_METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "mcc", "roc_auc")
REGRESSION_METRICS = ("spearman", "pearson", "r2", "rmse")
#: multi-label metrics (:func:`multilabel_metrics`); the first, macro MCC, is the primary one
MULTILABEL_METRICS = ("macro_mcc", "micro_f1", "macro_f1", "roc_auc", "subset_accuracy",
                      "jaccard")
TASKS = ("binary", "multiclass", "multilabel", "regression")


def primary_metric(task: str) -> str:
    """Name of the metric that selects models and baselines: ``mcc``, ``spearman`` or, for
    multi-label, ``macro_mcc`` (the mean of the per-label MCCs): like the other two it is 0
    for a model with no skill (so the permutation control's "at chance" rule holds as it
    is), and every label counts equally however rare. Micro F1 is reported beside it."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    return {"regression": "spearman", "multilabel": "macro_mcc"}.get(task, "mcc")


def metrics_of(task: str) -> tuple[str, ...]:
    """The metric names a task reports (and a run may monitor)."""
    if task == "regression":
        return REGRESSION_METRICS
    return MULTILABEL_METRICS if task == "multilabel" else CLASSIFICATION_METRICS


def class_order(labels: Sequence | np.ndarray) -> list[str]:
    """Sorted unique class names of ``labels`` (missing values ignored): the default order."""
    values = [v for v in labels if v is not None and not (isinstance(v, float) and np.isnan(v))]
    return sorted({str(v) for v in values})


def encode_labels(labels: Sequence | np.ndarray, class_names: Sequence[str]) -> np.ndarray:
    """Map class names (or integer indices, passed through) to ``int64`` indices into
    ``class_names``; raises ``ValueError`` naming the first unknown class."""
    arr = np.asarray(labels)
    if arr.dtype.kind in "iu":
        if arr.size and (arr.min() < 0 or arr.max() >= len(class_names)):
            raise ValueError(f"class index out of range for {len(class_names)} classes")
        return arr.astype(np.int64)
    lookup = {str(name): i for i, name in enumerate(class_names)}
    out = np.empty(arr.shape[0], dtype=np.int64)
    for i, v in enumerate(arr.tolist()):
        if str(v) not in lookup:
            raise ValueError(f"label {v!r} is not one of the classes {list(class_names)}")
        out[i] = lookup[str(v)]
    return out


def _none_if_nan(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def _roc_auc(y: np.ndarray, proba: np.ndarray | None, k: int) -> float | None:
    if proba is None or y.size == 0:
        return None
    present = np.unique(y)
    if k == 2:
        score = proba if proba.ndim == 1 else proba[:, 1]
        return float(skm.roc_auc_score(y, score)) if present.size == 2 else None
    if present.size < k:
        return None  # one-vs-rest is undefined for a class with no positive sample
    return float(skm.roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=range(k)))


def classification_metrics(
    y_true: Sequence | np.ndarray,
    y_pred: Sequence | np.ndarray,
    proba: np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
) -> dict:
    """Accuracy, balanced accuracy, macro F1, MCC, ROC AUC and ``n`` for class labels.

    ``y_true`` and ``y_pred`` are class names or indices; ``proba`` is ``(N, K)`` (or
    ``(N,)`` positive-class probability for binary) in ``class_names`` order. Macro F1
    averages over every class in ``class_names``. ROC AUC is one-vs-rest macro for more
    than two classes and ``None`` when a class is absent from ``y_true`` or no ``proba``.
    """
    if class_names is None:
        class_names = class_order(list(y_true) + list(y_pred))
    k = len(class_names)
    y = encode_labels(y_true, class_names)
    p = encode_labels(y_pred, class_names)
    n = int(y.size)
    if n == 0:
        return {name: None for name in CLASSIFICATION_METRICS} | {"n": 0}
    prob = None if proba is None else np.asarray(proba, dtype=np.float64)
    labels = list(range(k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # y_pred classes absent from y_true: handled below
        out = {
            "accuracy": float(skm.accuracy_score(y, p)),
            "balanced_accuracy": float(skm.balanced_accuracy_score(y, p)),
            "macro_f1": float(skm.f1_score(y, p, labels=labels, average="macro", zero_division=0)),
            "mcc": float(skm.matthews_corrcoef(y, p)),
            "roc_auc": _roc_auc(y, prob, k),
        }
    return out | {"n": n}


def regression_metrics(y_true: Sequence | np.ndarray, y_pred: Sequence | np.ndarray) -> dict:
    """Spearman and Pearson correlation, R², RMSE and ``n``; correlations are ``None`` for
    constant vectors and every metric but ``n`` is ``None`` with fewer than two samples."""
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    n = int(y.size)
    if n < 2:
        return {name: None for name in REGRESSION_METRICS} | {"n": n}
    constant = np.ptp(y) == 0 or np.ptp(p) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spearman = None if constant else _none_if_nan(stats.spearmanr(y, p).statistic)
        pearson = None if constant else _none_if_nan(stats.pearsonr(y, p).statistic)
        r2 = None if np.ptp(y) == 0 else float(skm.r2_score(y, p))
    rmse = float(np.sqrt(np.mean((y - p) ** 2)))
    return {"spearman": spearman, "pearson": pearson, "r2": r2, "rmse": rmse, "n": n}


def _binary_scores(y: np.ndarray, p: np.ndarray, score: np.ndarray | None) -> dict:
    """Per-label scores of one 0/1 column: F1, MCC, precision, recall, ROC AUC."""
    tp, fp, fn = int((y & p).sum()), int((~y & p).sum()), int((y & ~p).sum())
    tn = int(y.size - tp - fp - fn)
    denom = np.sqrt(float(tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    auc = None
    if score is not None and 0 < y.sum() < y.size:
        auc = float(skm.roc_auc_score(y, score))
    return {
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
        "mcc": (tp * tn - fp * fn) / denom if denom > 0 else 0.0,
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "roc_auc": auc, "support": int(y.sum()), "predicted": int(p.sum()),
    }


def multilabel_metrics(y_true: np.ndarray, proba: np.ndarray,
                       thresholds: Sequence[float] | float = 0.5,
                       class_names: Sequence[str] | None = None) -> dict:
    """Multi-label metrics of ``(N, K)`` 0/1 targets and ``(N, K)`` probabilities, a label
    being predicted where its probability is ``>=`` its threshold (one per label, or one).

    ``micro_f1`` (pooled over all protein-label pairs), ``macro_f1`` and ``macro_mcc``
    (means over the K labels), ``roc_auc`` (mean over labels with both classes present;
    ``None`` if none), ``subset_accuracy`` (the whole set right), ``jaccard`` (mean
    per-protein |true & predicted| / |true | predicted|, 1 when both are empty), ``n``,
    and ``per_label``: for each label name its ``f1``, ``mcc``, ``precision``, ``recall``,
    ``roc_auc``, ``support`` (true positives + false negatives) and ``predicted`` count.
    """
    y = np.asarray(y_true).astype(bool)
    prob = np.asarray(proba, dtype=np.float64).reshape(y.shape)
    names = [str(c) for c in (class_names or range(y.shape[1]))]
    n = int(y.shape[0])
    if n == 0:
        return {m: None for m in MULTILABEL_METRICS} | {"n": 0, "per_label": {}}
    pred = prob >= np.broadcast_to(np.asarray(thresholds, dtype=np.float64), (y.shape[1],))
    per = {name: _binary_scores(y[:, j], pred[:, j], prob[:, j]) for j, name in enumerate(names)}
    tp, fp, fn = (y & pred).sum(), (~y & pred).sum(), (y & ~pred).sum()
    union = (y | pred).sum(axis=1)
    aucs = [v["roc_auc"] for v in per.values() if v["roc_auc"] is not None]
    return {
        "micro_f1": float(2 * tp / (2 * tp + fp + fn)) if tp + fp + fn else 0.0,
        "macro_f1": float(np.mean([v["f1"] for v in per.values()])),
        "macro_mcc": float(np.mean([v["mcc"] for v in per.values()])),
        "roc_auc": float(np.mean(aucs)) if aucs else None,
        "subset_accuracy": float((y == pred).all(axis=1).mean()),
        "jaccard": float(np.where(union > 0, (y & pred).sum(axis=1) / np.maximum(union, 1),
                                  1.0).mean()),
        "n": n, "per_label": per,
    }


def choose_thresholds(y_true: np.ndarray, proba: np.ndarray, default: float = 0.5,
                      grid: int = 99) -> list[float]:
    """Per-label decision thresholds that maximise each label's MCC (the primary metric's
    part) on ``(N, K)`` 0/1 targets and probabilities, meant for the validation split:
    candidates ``0.01 .. 0.99`` in ``grid`` steps, ties to the one nearest ``default``; a
    label with no positive (or no negative) protein keeps ``default``."""
    y = np.asarray(y_true).astype(bool)
    prob = np.asarray(proba, dtype=np.float64).reshape(y.shape)
    cands = np.linspace(0.01, 0.99, grid)
    out = []
    for j in range(y.shape[1]):
        pos = y[:, j]
        if not 0 < pos.sum() < pos.size:
            out.append(float(default))
            continue
        pred = prob[:, j][None, :] >= cands[:, None]  # (grid, N)
        tp = (pred & pos).sum(1).astype(np.float64)
        fp = pred.sum(1) - tp
        fn = pos.sum() - tp
        tn = pos.size - tp - fp - fn
        denom = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        mcc = np.where(denom > 0, (tp * tn - fp * fn) / np.where(denom > 0, denom, 1), 0.0)
        best = np.flatnonzero(mcc >= mcc.max() - 1e-12)
        out.append(round(float(cands[best[np.argmin(np.abs(cands[best] - default))]]), 4))
    return out


def multilabel_bootstrap_ci(y_true: np.ndarray, y_pred: np.ndarray, metric: str = "macro_mcc",
                            n: int = 1000, seed: int = 0, level: float = 0.95
                            ) -> tuple[float | None, float | None]:
    """Percentile bootstrap interval of ``micro_f1``, ``macro_f1``, ``macro_mcc``,
    ``subset_accuracy`` or ``jaccard`` from ``(N, K)`` 0/1 targets and predictions
    (proteins resampled, seeded; vectorised over resamples by per-protein counts)."""
    y, p = np.asarray(y_true).astype(bool), np.asarray(y_pred).astype(bool)
    if y.shape[0] == 0:
        return None, None
    idx = np.random.default_rng(seed).integers(0, y.shape[0], size=(n, y.shape[0]))
    if metric in ("subset_accuracy", "jaccard"):
        union = (y | p).sum(1)
        row = ((y == p).all(1).astype(float) if metric == "subset_accuracy" else
               np.where(union > 0, (y & p).sum(1) / np.maximum(union, 1), 1.0))
        vals = row[idx].mean(1)
    else:
        tp = np.stack([(y & p)[i].sum(0) for i in idx]).astype(np.float64)  # (n, K)
        fp = np.stack([(~y & p)[i].sum(0) for i in idx]).astype(np.float64)
        fn = np.stack([(y & ~p)[i].sum(0) for i in idx]).astype(np.float64)
        tn = y.shape[0] - tp - fp - fn
        with np.errstate(divide="ignore", invalid="ignore"):
            if metric == "micro_f1":
                t, f = tp.sum(1), fp.sum(1) + fn.sum(1)
                vals = np.where(t + f > 0, 2 * t / (2 * t + f), 0.0)
            elif metric == "macro_f1":
                vals = np.where(tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0).mean(1)
            elif metric == "macro_mcc":
                denom = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
                vals = np.where(denom > 0, (tp * tn - fp * fn) / denom, 0.0).mean(1)
            else:
                return None, None
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(vals, [tail, 100 - tail])
    return float(low), float(high)


def _confusion_stack(y: np.ndarray, p: np.ndarray, idx: np.ndarray, k: int) -> np.ndarray:
    """Confusion matrices ``(B, K, K)`` (rows true, columns predicted) of B resamples."""
    b = idx.shape[0]
    flat = (np.arange(b)[:, None] * k + y[idx]) * k + p[idx]
    return np.bincount(flat.ravel(), minlength=b * k * k).reshape(b, k, k).astype(np.float64)


def _from_confusion(cm: np.ndarray, metric: str) -> np.ndarray:
    """Vectorised accuracy / balanced accuracy / macro F1 / MCC from stacked confusions."""
    n = cm.sum(axis=(1, 2))
    correct = np.trace(cm, axis1=1, axis2=2)
    t = cm.sum(axis=2)  # true counts per class
    q = cm.sum(axis=1)  # predicted counts per class
    diag = np.diagonal(cm, axis1=1, axis2=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric == "accuracy":
            return correct / n
        if metric == "balanced_accuracy":
            recall = np.where(t > 0, diag / t, np.nan)
            return np.nanmean(recall, axis=1)
        if metric == "macro_f1":
            f1 = np.where(t + q > 0, 2 * diag / (t + q), 0.0)
            return f1.mean(axis=1)
        # MCC, multiclass form (Gorodkin 2004), 0 when undefined like scikit-learn
        cov_tp = correct * n - (t * q).sum(axis=1)
        denom = np.sqrt((n**2 - (q * q).sum(axis=1)) * (n**2 - (t * t).sum(axis=1)))
        return np.where(denom > 0, cov_tp / denom, 0.0)


def bootstrap_ci(
    y_true: Sequence | np.ndarray,
    y_pred: Sequence | np.ndarray,
    proba: np.ndarray | None = None,
    metric: str = "mcc",
    n: int = 1000,
    seed: int = 0,
    class_names: Sequence[str] | None = None,
    level: float = 0.95,
) -> tuple[float | None, float | None]:
    """Percentile bootstrap confidence interval ``(low, high)`` of one metric.

    Resamples the N items ``n`` times with replacement (seeded). Confusion-matrix metrics
    are computed for all resamples at once; the others call the metric functions above.
    Resamples where the metric is undefined are skipped; ``(None, None)`` if all are.
    """
    rng = np.random.default_rng(seed)
    size = len(y_true)
    if size == 0:
        return None, None
    idx = rng.integers(0, size, size=(n, size))
    if metric in REGRESSION_METRICS:
        y = np.asarray(y_true, dtype=np.float64)
        p = np.asarray(y_pred, dtype=np.float64)
        vals = [regression_metrics(y[i], p[i])[metric] for i in idx]
    else:
        if metric not in CLASSIFICATION_METRICS:
            known = CLASSIFICATION_METRICS + REGRESSION_METRICS
            raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(known)}")
        names = class_names or class_order(list(y_true) + list(y_pred))
        y = encode_labels(y_true, names)
        p = encode_labels(y_pred, names)
        if metric == "roc_auc":
            prob = np.asarray(proba, dtype=np.float64)
            vals = [_roc_auc(y[i], prob[i], len(names)) for i in idx]
        else:
            vals = list(_from_confusion(_confusion_stack(y, p, idx, len(names)), metric))
    arr = np.array([v for v in vals if v is not None and np.isfinite(v)], dtype=np.float64)
    if arr.size == 0:
        return None, None
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(arr, [tail, 100 - tail])
    return float(low), float(high)


#: bins of a held-out sequence's identity to its nearest training sequence, ``[low, high)``
#: and name: the metric-by-identity breakdown of the checks and the report
IDENTITY_BINS = [(0.0, 0.3, "<0.3"), (0.3, 0.5, "0.3-0.5"), (0.5, 0.7, "0.5-0.7"),
                 (0.7, 1.01, ">=0.7")]
