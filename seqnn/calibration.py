"""Calibration of a classifier's probabilities: reliability, expected calibration error,
Brier score, and temperature scaling (Guo et al. 2017), in numpy/scipy (no torch).

Probabilities are ``(N, K)`` with columns in class order (binary: ``[1 - p, p]``, as in
``predictions.tsv``); ``y`` holds ``(N,)`` integer class indices. Temperature scaling
divides the logits by ``T`` (``T > 1`` softens an over-confident model) and never changes
the predicted class. It is fitted on the validation split by minimising its negative log
likelihood, stored as ``temperature`` in ``model.json`` and applied by ``seqnn predict``.
For a binary task it acts on the one logit ``log p - log (1 - p)``; for multiclass on the
log-probabilities (the logits up to a per-record constant, which softmax ignores).
Logits recovered from stored probabilities are exact up to float32 rounding near 0 and 1
(probabilities are clipped to ``[1e-7, 1 - 1e-7]``).

Multi-label tasks (``(N, K)`` independent sigmoid probabilities, ``(N, K)`` 0/1 targets)
get one temperature per label (:func:`fit_label_temperatures`, each minimising that
label's binary NLL over the same :data:`T_RANGE`), stored in ``model.json`` as a mapping
label -> ``T`` in class order; :func:`label_calibration_summary` scores each label's
probability with a binary reliability curve (mean probability against the share of
positives per bin), ECE and the one-column Brier score, and their means over labels.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import expit, log_softmax, softmax

#: the temperatures a fit may return (log-uniform search bounds)
T_RANGE = (0.05, 20.0)
DEFAULT_BINS = 15
_EPS = 1e-7


def logits_of(probs: np.ndarray) -> np.ndarray:
    """Logits ``(N, K)`` recovered from probabilities ``(N, K)``: binary ``[0, z]`` with
    ``z = log p - log(1 - p)``, multiclass ``log p`` (both up to a per-row constant)."""
    p = np.clip(np.asarray(probs, np.float64), _EPS, 1 - _EPS)
    if p.shape[1] == 2:
        z = np.log(p[:, 1]) - np.log(p[:, 0])
        return np.stack([np.zeros_like(z), z], 1)
    return np.log(p)


def scale(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities ``(N, K)`` after dividing their logits by ``temperature``."""
    if temperature == 1.0 or len(probs) == 0:
        return np.asarray(probs, np.float64)
    return softmax(logits_of(probs) / temperature, axis=1)


def nll(probs: np.ndarray, y: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log likelihood of the true classes after temperature scaling."""
    logp = log_softmax(logits_of(probs) / temperature, axis=1)
    return float(-logp[np.arange(len(y)), y].mean())


def fit_temperature(probs: np.ndarray, y: np.ndarray) -> float:
    """The temperature in :data:`T_RANGE` minimising the NLL of ``probs`` against ``y``
    (1.0 when there are fewer than two records or a single class)."""
    y = np.asarray(y, np.int64)
    if len(y) < 2 or len(np.unique(y)) < 2:
        return 1.0
    lo, hi = (math.log(t) for t in T_RANGE)
    res = minimize_scalar(lambda s: nll(probs, y, math.exp(s)), bounds=(lo, hi),
                          method="bounded", options={"xatol": 1e-4})
    return float(round(math.exp(res.x), 4))


def brier(probs: np.ndarray, y: np.ndarray) -> float | None:
    """Multiclass Brier score: mean over records of ``sum_k (p_k - [y = k])^2`` (binary:
    twice the usual one-column score); ``None`` without records."""
    if len(y) == 0:
        return None
    onehot = np.eye(probs.shape[1])[np.asarray(y, np.int64)]
    return float(((np.asarray(probs, np.float64) - onehot) ** 2).sum(1).mean())


def reliability(probs: np.ndarray, y: np.ndarray, bins: int = DEFAULT_BINS) -> dict:
    """Top-label reliability: ``confidence`` (max probability) binned into ``bins`` equal
    widths over [0, 1]; per non-empty bin the mean ``confidence``, the ``accuracy`` and the
    ``count``, as lists."""
    probs, y = np.asarray(probs, np.float64), np.asarray(y, np.int64)
    conf, hit = probs.max(1), (probs.argmax(1) == y).astype(float)
    return _binned(conf, hit, bins, "confidence", "accuracy")


def _binned(score: np.ndarray, outcome: np.ndarray, bins: int, score_key: str,
            outcome_key: str) -> dict:
    """``score`` in [0, 1] binned into ``bins`` equal widths; per non-empty bin the mean
    score (``score_key``), the mean ``outcome`` (``outcome_key``) and the ``count``."""
    which = np.minimum((score * bins).astype(int), bins - 1)
    out: dict[str, list] = {score_key: [], outcome_key: [], "count": []}
    for b in range(bins):
        sel = which == b
        if sel.any():
            out[score_key].append(float(score[sel].mean()))
            out[outcome_key].append(float(outcome[sel].mean()))
            out["count"].append(int(sel.sum()))
    return out


def ece(probs: np.ndarray, y: np.ndarray, bins: int = DEFAULT_BINS) -> float | None:
    """Expected calibration error (top label, equal-width bins): the count-weighted mean
    of ``|accuracy - confidence|`` over the bins of :func:`reliability`."""
    if len(y) == 0:
        return None
    r = reliability(probs, y, bins)
    gaps = np.abs(np.subtract(r["accuracy"], r["confidence"]))
    return float((gaps * np.asarray(r["count"])).sum() / len(y))


def calibration_summary(probs: np.ndarray, y: np.ndarray, temperature: float) -> dict:
    """ECE, Brier score and NLL before and after ``temperature``, and both reliability
    curves: what the report shows for one model on one split."""
    after = scale(probs, temperature)
    return {
        "temperature": temperature, "n": len(y),
        "ece_before": ece(probs, y), "ece_after": ece(after, y),
        "brier_before": brier(probs, y), "brier_after": brier(after, y),
        "nll_before": nll(probs, y) if len(y) else None,
        "nll_after": nll(probs, y, temperature) if len(y) else None,
        "reliability_before": reliability(probs, y), "reliability_after": reliability(after, y),
    }


def scale_labels(probs: np.ndarray, temperatures) -> np.ndarray:
    """Multi-label probabilities ``(N, K)`` after dividing each label's logit by its own
    temperature (``temperatures``: ``K`` numbers, or one for all labels)."""
    p = np.clip(np.asarray(probs, np.float64), _EPS, 1 - _EPS)
    t = np.broadcast_to(np.asarray(temperatures, np.float64), (p.shape[1],))
    return expit((np.log(p) - np.log1p(-p)) / t[None, :])


def _binary(p: np.ndarray) -> np.ndarray:
    return np.stack([1 - p, p], 1)


def fit_label_temperatures(probs: np.ndarray, y: np.ndarray) -> list[float]:
    """Per label of ``(N, K)`` probabilities and 0/1 targets, the temperature minimising
    its binary NLL (:func:`fit_temperature`; 1.0 for a label without both classes)."""
    p, y = np.asarray(probs, np.float64), np.asarray(y).astype(np.int64).reshape(probs.shape)
    return [fit_temperature(_binary(p[:, j]), y[:, j]) for j in range(p.shape[1])]


def binary_reliability(p: np.ndarray, y: np.ndarray, bins: int = DEFAULT_BINS) -> dict:
    """One label's reliability: its probability ``p`` binned into ``bins`` equal widths
    over [0, 1]; per non-empty bin the mean ``probability``, the ``positive`` share and
    the ``count``, as lists."""
    p, y = np.asarray(p, np.float64), np.asarray(y, np.float64)
    return _binned(p, y, bins, "probability", "positive")


def binary_ece(p: np.ndarray, y: np.ndarray, bins: int = DEFAULT_BINS) -> float | None:
    """One label's ECE: the count-weighted mean of ``|positive share - mean probability|``
    over the bins of :func:`binary_reliability`; ``None`` without records."""
    if len(y) == 0:
        return None
    r = binary_reliability(p, y, bins)
    gaps = np.abs(np.subtract(r["positive"], r["probability"]))
    return float((gaps * np.asarray(r["count"])).sum() / len(y))


def label_calibration_summary(probs: np.ndarray, y: np.ndarray, temperatures,
                              class_names=None) -> dict:
    """Multi-label counterpart of :func:`calibration_summary`: per label (``per_label``,
    keyed by ``class_names``) its temperature, ECE, Brier score (mean ``(p - y)^2``) and
    NLL before and after, and the means over labels as ``ece_before`` ... ``nll_after``."""
    p = np.asarray(probs, np.float64)
    y = np.asarray(y).astype(np.int64).reshape(p.shape)
    temps = [float(t) for t in np.broadcast_to(np.asarray(temperatures, np.float64),
                                               (p.shape[1],))]
    after = scale_labels(p, temps)
    names = [str(c) for c in (class_names or range(p.shape[1]))]
    per: dict[str, dict] = {}
    for j, name in enumerate(names):
        row: dict = {"temperature": temps[j]}
        for when, q in (("before", p[:, j]), ("after", after[:, j])):
            row[f"ece_{when}"] = binary_ece(q, y[:, j])
            row[f"brier_{when}"] = float(((q - y[:, j]) ** 2).mean()) if len(y) else None
            row[f"nll_{when}"] = nll(_binary(q), y[:, j]) if len(y) else None
        per[name] = row
    out: dict = {"temperature": dict(zip(names, temps, strict=True)), "n": len(y),
                 "per_label": per}
    for key in ("ece_before", "ece_after", "brier_before", "brier_after", "nll_before",
                "nll_after"):
        out[key] = float(np.mean([r[key] for r in per.values()])) if len(y) else None
    return out


__all__ = ["DEFAULT_BINS", "T_RANGE", "binary_ece", "binary_reliability", "brier",
           "calibration_summary", "ece", "fit_label_temperatures", "fit_temperature",
           "label_calibration_summary", "logits_of", "nll", "reliability", "scale",
           "scale_labels"]
