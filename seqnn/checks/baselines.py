"""Shortcut baselines: what a model gets from length or composition alone.

Every neural model is reported next to these scikit-learn models, trained on the same
split: ``majority`` (most frequent class / training mean), ``length`` (log length),
``aa_composition`` (21 residue fractions) and ``dipeptide`` (400 dipeptide fractions).
Each non-trivial baseline is a ``StandardScaler`` + ``LogisticRegression`` (C in
:data:`C_GRID`, balanced or no class weights) for classification or ``Ridge``
(:data:`ALPHA_GRID`) for regression, fitted on the training split only (a regression
dataset of one sequence length adds ``onehot_ridge``, :mod:`seqnn.checks.onehot`); the
regularisation strength and the class weighting are picked by the primary metric
(:func:`seqnn.metrics.primary_metric`) on the validation split (ties go to the stronger
regularisation). Feature functions are vectorised with numpy: one ``np.bincount`` over
the joined sequence bytes, no per-residue Python loop.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..data.alphabet import STANDARD, UNKNOWN
from ..data.encoding import aa_composition, dipeptide_composition
from ..data.files import write_text
from ..data.labelfilter import unknown_label_counts
from ..data.tables import read_sequences, read_table
from ..errors import SeqnnInputError
from ..metrics import (
    class_order,
    classification_metrics,
    encode_labels,
    primary_metric,
    regression_metrics,
)
from .onehot import ONEHOT_RIDGE, onehot_candidates, onehot_features, with_onehot

#: column names of :func:`aa_composition` (20 standard residues, then X)
AA_FEATURES = tuple(STANDARD + UNKNOWN)
#: column names of :func:`dipeptide_composition` (``AA``, ``AC``, ... ``YY``)
DIPEPTIDE_FEATURES = tuple(a + b for a in STANDARD for b in STANDARD)
C_GRID = (0.001, 0.01, 0.1, 1.0, 10.0)  # strongest regularisation first
ALPHA_GRID = (1000.0, 100.0, 10.0, 1.0, 0.1)  # strongest regularisation first
BASELINES = ("majority", "length", "aa_composition", "dipeptide")


def length_features(seqs: Sequence[str]) -> np.ndarray:
    """``(N, 1)`` float64 natural log of each sequence length."""
    return np.log(np.fromiter((len(s) for s in seqs), dtype=np.float64)).reshape(-1, 1)


FEATURES = {
    "length": length_features,
    "aa_composition": aa_composition,
    "dipeptide": dipeptide_composition,
    ONEHOT_RIDGE: onehot_features,
}


def _score(task: str, y: np.ndarray, model, x: np.ndarray, class_names: list[str]) -> dict:
    """Metrics of a fitted model on (x, y); an empty split gives ``{"n": 0}``-style dicts."""
    if task == "regression":
        pred = model.predict(x) if len(y) else np.empty(0)
        return regression_metrics(y, pred)
    if len(y) == 0:
        return classification_metrics([], [], None, class_names)
    return classification_metrics(y, model.predict(x), _proba(model, x, len(class_names)),
                                  class_names)


def _proba(model, x: np.ndarray, k: int) -> np.ndarray:
    """``(N, K)`` probabilities with a column for every class, even those absent in train."""
    full = np.zeros((x.shape[0], k))
    full[:, model.classes_] = model.predict_proba(x)
    return full


def _candidates(name: str, task: str, seed: int) -> list[tuple[dict, object]]:
    """(params, unfitted estimator) pairs of one baseline's grid: C and balanced or no class
    weights, so that the shortcut is as strong as the validation split can make it (liblinear
    for binary:
    several times faster than lbfgs on 400 dipeptide features; lbfgs for multinomial)."""
    if name == "majority":
        if task == "regression":
            return [({"strategy": "mean"}, DummyRegressor(strategy="mean"))]
        return [({"strategy": "most_frequent"}, DummyClassifier(strategy="most_frequent"))]
    if name == ONEHOT_RIDGE:
        return onehot_candidates()
    if task == "regression":
        return [({"alpha": a}, make_pipeline(StandardScaler(), Ridge(alpha=a))) for a in ALPHA_GRID]
    solver = "liblinear" if task == "binary" else "lbfgs"
    return [
        ({"C": c, "class_weight": w}, make_pipeline(StandardScaler(), LogisticRegression(
            C=c, class_weight=w, solver=solver, max_iter=5000, random_state=seed)))
        for w in ("balanced", None)
        for c in C_GRID
    ]


def _primary(metrics: dict, task: str) -> float:
    value = metrics.get(primary_metric(task))
    return -np.inf if value is None else float(value)


def run_baselines(
    df: pd.DataFrame,
    splits: pd.DataFrame,
    task: str,
    seed: int = 0,
    class_names: Sequence[str] | None = None,
    baselines: Sequence[str] = BASELINES,
    predictions: bool = False,
) -> dict:
    """Fit every shortcut baseline on train, pick its regularisation on valid, score all.

    ``df`` is a sequences table (``id``, ``sequence``, ``label``) and ``splits`` a split
    table (``id``, ``split``). Rows without a label are ignored. Class order is
    ``class_names`` or the sorted unique labels. Returns a JSON-serialisable dict with
    one entry per baseline name: ``train`` / ``valid`` / ``test`` metrics, the chosen
    ``params`` (with how they were chosen, the number of features and the class order)
    and, when ``predictions`` is true, ``test_predictions`` (ids, predictions,
    probabilities). The top level holds only baseline names (``seqnn.checks`` relies on it).
    """
    primary_metric(task)  # validates the task
    table = df.drop(columns=["split"], errors="ignore").merge(
        splits[["id", "split"]], on="id", how="inner", validate="one_to_one")
    table = table[table["label"].notna()]
    if task == "multilabel":  # one-vs-rest logistic per label (seqnn.checks.multilabel)
        from .multilabel import multilabel_baselines

        return multilabel_baselines(table, FEATURES, baselines, seed, C_GRID, class_names,
                                    predictions)
    if task == "regression":
        names: list[str] = []
        y_all = table["label"].to_numpy(dtype=np.float64)
    else:
        names = list(class_names) if class_names is not None else class_order(table["label"])
        y_all = encode_labels(table["label"].astype(str).to_numpy(), names)
    parts = {s: (table["split"] == s).to_numpy() for s in ("train", "valid", "test")}
    if not parts["train"].any():
        raise ValueError("run_baselines: the training split has no labelled sequence")
    seqs = table["sequence"].tolist()
    out: dict = {}
    for name in with_onehot(baselines, task, seqs):
        x_all = np.zeros((len(seqs), 1)) if name == "majority" else FEATURES[name](seqs)
        xs = {s: x_all[m] for s, m in parts.items()}
        ys = {s: y_all[m] for s, m in parts.items()}
        best = None
        for params, model in _candidates(name, task, seed):
            model.fit(xs["train"], ys["train"])
            valid = _score(task, ys["valid"], model, xs["valid"], names)
            if best is None or _primary(valid, task) > _primary(best[2], task):
                best = (params, model, valid)
        params, model, valid = best
        chosen_on = (f"best valid {primary_metric(task)}" if parts["valid"].any()
                     else "first grid value (no validation split)")
        result = {
            "train": _score(task, ys["train"], model, xs["train"], names),
            "valid": valid,
            "test": _score(task, ys["test"], model, xs["test"], names),
            "params": params | {"chosen_on": chosen_on, "n_features": int(x_all.shape[1]),
                                "class_names": names},
        }
        if predictions and parts["test"].any():
            pred = model.predict(xs["test"])
            result["test_predictions"] = {
                "id": table["id"][parts["test"]].tolist(),
                "pred": pred.tolist() if task == "regression" else [names[i] for i in pred],
            }
            if task != "regression":
                proba = _proba(model, xs["test"], len(names))
                result["test_predictions"]["proba"] = proba.tolist()
        out[name] = result
    return out


def baselines_from_files(sequences: str, splits: str, task: str, seed: int, out: str,
                         class_names: list[str] | None = None) -> dict:
    """Fit the shortcut baselines on a sequences table + split table; write the JSON."""
    df = read_sequences(sequences, task)
    table = read_table(splits, ["id", "split"])
    if class_names and task in ("binary", "multiclass", "multilabel") and "label" in df:
        stray = unknown_label_counts(df["label"], class_names, task)
        if stray:
            raise SeqnnInputError(sequences, f"labels {sorted(stray)} are not among the class "
                                  f"names {list(class_names)} (--classes)")
    train_ids = set(table.loc[table["split"] == "train", "id"])
    if task != "unsupervised" and not df["id"].isin(train_ids).any():
        raise SeqnnInputError(sequences, f"no sequence of the training split of {splits}")
    result = (run_baselines(df, table, task, seed=seed, class_names=class_names)
              if task != "unsupervised" else {})
    write_text(json.dumps(result, indent=2, default=str), out)
    return result
