"""The shortcut baselines of a multi-label task: one-vs-rest logistic regression.

The same features as :mod:`seqnn.checks.baselines` (``length``, ``aa_composition``,
``dipeptide``) and ``majority`` (every label predicted with its training frequency), one
``StandardScaler`` + ``LogisticRegression`` per label (:class:`OneVsRestClassifier`; C in
:data:`~seqnn.checks.baselines.C_GRID`, balanced or no class weights) fitted on train. As
for the model, each label's decision threshold is chosen on the validation split
(:func:`seqnn.metrics.choose_thresholds`), and the grid point is the one with the best
validation primary metric (``macro_mcc``). Scores are :func:`seqnn.metrics.multilabel_metrics`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..data.labelsets import label_names, multi_hot
from ..metrics import choose_thresholds, multilabel_metrics, primary_metric


class _Prevalence:
    """The ``majority`` baseline: every protein gets each label's training frequency."""

    def fit(self, x: np.ndarray, y: np.ndarray) -> _Prevalence:
        self.rate = y.mean(axis=0)
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return np.tile(self.rate, (x.shape[0], 1))


def _candidates(name: str, seed: int, c_grid: Sequence[float]) -> list[tuple[dict, object]]:
    if name == "majority":
        return [({"strategy": "label frequency"}, _Prevalence())]
    return [({"C": c, "class_weight": w}, OneVsRestClassifier(make_pipeline(
        StandardScaler(), LogisticRegression(C=c, class_weight=w, solver="liblinear",
                                             max_iter=5000, random_state=seed))))
            for w in ("balanced", None) for c in c_grid]


def _proba(model: object, x: np.ndarray, k: int) -> np.ndarray:
    if not len(x):
        return np.zeros((0, k))
    return np.asarray(model.predict_proba(x), dtype=np.float64).reshape(len(x), k)


def multilabel_baselines(table: pd.DataFrame, features: dict, baselines: Sequence[str],
                         seed: int, c_grid: Sequence[float],
                         class_names: Sequence[str] | None = None,
                         predictions: bool = False) -> dict:
    """One entry per baseline name as :func:`seqnn.checks.baselines.run_baselines` returns
    them (``train`` / ``valid`` / ``test`` metrics with ``per_label``, ``params`` with the
    ``thresholds``); ``table`` holds ``sequence``, ``label`` (canonical label sets) and
    ``split``; ``features`` maps a baseline name to its feature function."""
    sets = table["label"].astype(str).tolist()
    names = list(class_names) if class_names else label_names(sets)
    y_all = multi_hot(sets, names)
    parts = {s: (table["split"] == s).to_numpy() for s in ("train", "valid", "test")}
    if not parts["train"].any():
        raise ValueError("run_baselines: the training split has no labelled sequence")
    seqs, metric, out = table["sequence"].tolist(), primary_metric("multilabel"), {}
    for name in baselines:
        x_all = np.zeros((len(seqs), 1)) if name == "majority" else features[name](seqs)
        xs = {s: x_all[m] for s, m in parts.items()}
        ys = {s: y_all[m] for s, m in parts.items()}
        best = None
        for params, model in _candidates(name, seed, c_grid):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a label constant in train: predicted constant
                model.fit(xs["train"], ys["train"])
            pv = _proba(model, xs["valid"], len(names))
            cuts = choose_thresholds(ys["valid"], pv) if len(pv) else [0.5] * len(names)
            valid = multilabel_metrics(ys["valid"], pv, cuts, names)
            score = valid.get(metric)
            if best is None or (score is not None and score > best[0]):
                best = (-np.inf if score is None else score, params, model, cuts, valid)
        _, params, model, cuts, valid = best
        result = {
            s: multilabel_metrics(ys[s], _proba(model, xs[s], len(names)), cuts, names)
            for s in ("train", "test")
        } | {"valid": valid, "params": params | {
            "chosen_on": f"best valid {metric}", "n_features": int(x_all.shape[1]),
            "class_names": names, "thresholds": dict(zip(names, cuts, strict=True))}}
        if predictions and parts["test"].any():
            proba = _proba(model, xs["test"], len(names))
            hot = proba >= np.asarray(cuts)[None, :]
            result["test_predictions"] = {
                "id": table["id"][parts["test"]].tolist(),
                "pred": [";".join(n for n, on in zip(names, r, strict=True) if on) for r in hot],
                "proba": proba.tolist()}
        out[name] = {k: result[k] for k in ("train", "valid", "test", "params",
                                            *(["test_predictions"] if "test_predictions"
                                              in result else []))}
    return out


__all__ = ["multilabel_baselines"]
