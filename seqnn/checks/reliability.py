"""Per-prediction reliability stored with a model (``reliability.json`` in its folder,
written by ``seqnn check``) and checked on test.

* **Expected metric**: the model's test metric in each nearest-train identity bin
  (:data:`~seqnn.checks.bins.IDENTITY_BINS`, the bins of the report); ``seqnn predict
  --nearest`` puts the value of a query's bin in an ``expected_<metric>`` column.
* **Split conformal prediction** (Vovk et al.; Angelopoulos & Bates 2021), calibrated on
  the validation split. Nonconformity: ``1 - p(true class)`` for a classifier (with the
  probabilities after the model's temperature, as ``seqnn predict`` reports them),
  ``|true - predicted|`` for regression. For a wanted coverage ``1 - a`` the threshold is
  the ``ceil((n + 1)(1 - a))``-th smallest of the ``n`` validation scores (infinite when that
  exceeds ``n``); the prediction set is every class with ``1 - p <= threshold``, the
  interval ``predicted +- threshold``. Scores are kept per identity bin: a query uses its
  bin's scores where the bin has at least :data:`MIN_BIN` validation sequences, else all of
  them (``global``); conformal coverage then holds within each such bin (exchangeability
  of a bin's validation and query sequences is the assumption). At most
  :data:`MAX_SCORES` scores are kept per group (evenly spaced order statistics).

``reliability.json``: ``{"metric", "task", "class_names", "temperature", "bins": [[low,
high, name], ...], "expected": {bin: value}, "expected_all" (the test metric over all test
sequences: ``seqnn predict``'s value for a query whose bin had none), "min_bin", "scores":
{"global": [...], bin: [...]}}``; the check also records the achieved test coverage per bin at
:data:`NOMINAL` levels in ``checks.json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .. import layout
from ..calibration import scale
from ..data.files import write_text
from .bins import IDENTITY_BINS

MIN_BIN = 30
MAX_SCORES = 2000
NOMINAL = (0.8, 0.9, 0.95)


def nonconformity(pred: pd.DataFrame, task: str, class_names: Sequence[str],
                  temperature: float = 1.0) -> np.ndarray:
    """Nonconformity score of each labelled row of a prediction table (module doc)."""
    if task == "regression":
        return (pred["true"].astype(float) - pred["predicted"].astype(float)).abs().to_numpy()
    probs = probabilities(pred, class_names, temperature)
    index = {c: i for i, c in enumerate(class_names)}
    y = pred["true"].astype(str).map(index).to_numpy()
    return 1.0 - probs[np.arange(len(y)), y]


def probabilities(pred: pd.DataFrame, class_names: Sequence[str],
                  temperature: float = 1.0) -> np.ndarray:
    """``(N, K)`` class probabilities of a prediction table after ``temperature``."""
    if len(class_names) == 2 and f"p_{class_names[0]}" not in pred.columns:
        p = pred[f"p_{class_names[1]}"].to_numpy(dtype=float)
        return scale(np.stack([1 - p, p], 1), temperature)
    return scale(pred[[f"p_{c}" for c in class_names]].to_numpy(dtype=float), temperature)


def threshold(scores: Sequence[float], coverage: float) -> float:
    """The split-conformal threshold of ``scores`` for ``coverage`` (module doc)."""
    s = np.sort(np.asarray(scores, float))
    k = math.ceil((len(s) + 1) * coverage)
    return float(s[k - 1]) if 1 <= k <= len(s) else math.inf


def bin_of(identity: np.ndarray, bins: Sequence[Sequence]) -> list[str]:
    """The name of the identity bin of each value (``[low, high)``; identity 1 falls in the
    last bin)."""
    out = []
    for v in np.asarray(identity, float):
        name = next((str(b[2]) for b in bins if b[0] <= v < b[1]), str(bins[-1][2]))
        out.append(name)
    return out


def _kept(scores: np.ndarray) -> list[float]:
    s = np.sort(scores)
    if len(s) > MAX_SCORES:
        s = s[np.linspace(0, len(s) - 1, MAX_SCORES).round().astype(int)]
    return [round(float(v), 6) for v in s]


def reliability_record(pred: pd.DataFrame, identity: pd.Series, task: str,
                       class_names: Sequence[str], temperature: float, metric: str,
                       by_identity_bin: Mapping | None, overall: float | None = None) -> dict:
    """``reliability.json`` (module doc) from the valid rows of a prediction table and
    the nearest-train ``identity`` of every row (aligned with ``pred``)."""
    bins = [list(b) for b in IDENTITY_BINS]
    valid = (pred["split"] == "valid").to_numpy()
    scores = nonconformity(pred[valid], task, class_names, temperature)
    where = np.array(bin_of(identity[valid].to_numpy(), bins))
    groups = {"global": _kept(scores)}
    for b in bins:
        sel = where == b[2]
        if sel.sum() >= MIN_BIN:
            groups[str(b[2])] = _kept(scores[sel])
    expected = {str(k): (v or {}).get("metric") for k, v in (by_identity_bin or {}).items()}
    return {"metric": metric, "task": task, "class_names": list(class_names),
            "temperature": temperature, "bins": bins, "expected": expected,
            "expected_all": None if overall is None else float(overall),
            "min_bin": MIN_BIN, "scores": groups}


def test_coverage(record: Mapping, pred: pd.DataFrame, identity: pd.Series,
                  levels: Sequence[float] = NOMINAL) -> dict:
    """Achieved coverage on the test rows, overall and per identity bin, at each nominal
    level: ``{level: {"all" | bin: {"n", "coverage", "mean_size"}}}`` (``mean_size``: classes
    per set, or interval width)."""
    test = (pred["split"] == "test").to_numpy()
    if not test.any():
        return {}
    scores = nonconformity(pred[test], record["task"], record["class_names"],
                           record["temperature"])
    where = np.array(bin_of(identity[test].to_numpy(), record["bins"]))
    if record["task"] != "regression":
        probs = probabilities(pred[test], record["class_names"], record["temperature"])
    out: dict = {}
    for level in levels:
        groups = record["scores"]
        thr = np.array([threshold(groups.get(w, groups["global"]), level) for w in where])
        covered = scores <= thr
        size = ((1 - probs) <= thr[:, None]).sum(1) if record["task"] != "regression" \
            else 2 * thr
        row = {"all": _cell(covered, size)}
        for b in record["bins"]:
            sel = where == b[2]
            if sel.any():
                row[str(b[2])] = _cell(covered[sel], size[sel])
        out[str(level)] = row
    return out


def store_reliability(model_dir: Path, pred: pd.DataFrame, nearest: pd.DataFrame,
                      meta: Mapping, metric: str, by_identity_bin: Mapping | None,
                      overall: float | None = None) -> dict:
    """Write ``reliability.json`` into ``model_dir`` (from its ``predictions.tsv`` rows
    ``pred`` and the audit's ``nearest`` table) and return the test coverage
    (:func:`test_coverage`); ``{}`` when there are no labelled validation rows. The file is
    never written through a symbolic link: a link at its name is replaced, a linked folder
    below the dataset folder refused (:func:`seqnn.data.files.atomic_path`)."""
    task, names = str(meta["task"]), [str(c) for c in meta.get("class_names") or []]
    if task == "multilabel":  # conformal sets are of one class (or value) per record
        return {}
    labelled = pred[pred["true"].notna()].reset_index(drop=True)
    if not (labelled["split"] == "valid").any():
        return {}
    identity = labelled["id"].map(nearest.set_index("id")["identity"]).fillna(0.0)
    record = reliability_record(labelled, identity, task, names,
                                float(meta.get("temperature", 1.0)), metric, by_identity_bin,
                                overall)
    _write(model_dir, record)
    return test_coverage(record, labelled, identity)


#: what ``reliability.json`` says where ``seqnn check`` stored no conformal scores
NO_SCORES = ("seqnn check stored no conformal scores for this model (multi-label, "
             "autoencoder, no audit nearest table or no labelled validation rows)")


def mark_no_reliability(model_dir: str | Path) -> None:
    """Write ``reliability.json`` saying that there are no scores (``{"available": false,
    "why": ...}``), before the checks replace it where they can: so every checked model
    folder has the file (the workflow declares it as an output of the check) and no stale
    record of an earlier check stays behind."""
    _write(Path(model_dir), {"available": False, "why": NO_SCORES})


def _write(model_dir: Path, record: Mapping) -> None:
    """``reliability.json`` of ``model_dir`` (``<dataset>/models/<model>``), never through a
    symbolic link below the dataset folder (:func:`seqnn.data.files.atomic_path`)."""
    model_dir = Path(model_dir)
    root = model_dir.parent.parent if model_dir.parent.name == layout.MODELS_DIR else model_dir
    write_text(json.dumps(record) + "\n", model_dir / layout.RELIABILITY, inside=root)


def _cell(covered: np.ndarray, size: np.ndarray) -> dict:
    finite = np.isfinite(size)
    return {"n": int(len(covered)), "coverage": float(covered.mean()),
            "mean_size": float(size[finite].mean()) if finite.all() else None}


__all__ = ["MAX_SCORES", "MIN_BIN", "NOMINAL", "NO_SCORES", "bin_of", "mark_no_reliability",
           "nonconformity", "probabilities", "reliability_record", "store_reliability",
           "test_coverage", "threshold"]
