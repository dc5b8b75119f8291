"""Completing a split: a validation part carved out of train, and the no-empty-part rule.

A given split without validation records (FLIP's ``SET=train``/``SET=test`` files without a
``VALIDATION`` flag, published train/test files) is completed by the split step rather than
discovered by training: :func:`carve_valid` moves ``valid_fraction`` [0.1] of the training
records to ``valid``, seeded,

* as **whole MMseqs2 clusters** of the training sequences (the cluster definition of
  :func:`~seqnn.split.methods.cluster_sequences`) when the dataset's split sets an
  ``identity``, so that validation is as far from train as the cluster split makes the test,
  balancing classes (or target quantile bins) as the cluster split does;
* otherwise as a **random** sample, stratified by class for classification (each class
  keeps its share) and plain random for regression and unlabelled data.

:func:`check_parts` is the last word of every split method: a split that leaves train,
valid or test empty stops the split step with one line, so training never discovers it.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..data.tables import SPLITS
from ..errors import SeqnnInputError
from .methods import _assign_groups, _strata

#: the share of train carved out as validation when a given split has none
DEFAULT_VALID_FRACTION = 0.1


def carve_valid(df: pd.DataFrame, table: pd.DataFrame, task: str | None, fraction: float,
                seed: int = 0, clusters: pd.Series | None = None) -> tuple[pd.DataFrame, dict]:
    """Move ``fraction`` of the ``train`` rows of the split table ``table`` to ``valid``.

    ``df`` is the sequences table (``id``, ``sequence``, ``label``); ``clusters`` maps each
    training id to its cluster (whole clusters then move; the table's ``cluster`` column of
    the training and carved rows becomes that cluster). Returns the new split table and a
    JSON-serialisable record of what was done (``how``, ``valid_fraction``, ``seed``, sizes).
    """
    if not 0 < fraction < 1:
        raise ValueError(f"valid_fraction must be in (0, 1), got {fraction!r}")
    is_train = (table["split"] == "train").to_numpy()
    ids = table["id"][is_train].reset_index(drop=True)
    train = df.set_index("id").loc[ids].reset_index()
    weights = np.array([1 - fraction, fraction])
    if clusters is not None:
        how = "whole MMseqs2 clusters of the training sequences"
        part = _assign_groups(ids.map(clusters).to_numpy(), _strata(train, task), weights, seed)
    elif task in ("binary", "multiclass", "multilabel"):
        how = ("stratified random (each label keeps its share)" if task == "multilabel"
               else "stratified random (each class keeps its share)")
        part = _assign_groups(np.arange(len(ids)), _strata(train, task), weights, seed)
    else:
        how = "random"
        part = np.zeros(len(ids), dtype=np.int64)
        k = max(1, round(fraction * len(ids))) if len(ids) > 1 else 0
        part[np.random.default_rng(seed).permutation(len(ids))[:k]] = 1
    out = table.copy()
    split = out["split"].to_numpy(dtype=object)
    split[np.flatnonzero(is_train)[part == 1]] = "valid"
    out["split"] = split
    if clusters is not None:
        cluster = out["cluster"].to_numpy(dtype=object)
        cluster[is_train] = ids.map(clusters).astype(str).to_numpy()
        out["cluster"] = cluster
    info = {"from": "train", "how": how, "valid_fraction": fraction, "seed": seed,
            "n_train_before": int(len(ids)), "n_valid": int((part == 1).sum()),
            "n_train": int((part == 0).sum())}
    if clusters is not None:
        info["clusters"] = int(ids.map(clusters).nunique())
    return out, info


def check_parts(table: pd.DataFrame, path: str | os.PathLike, method: str,
                hint: str = "") -> None:
    """Raise :class:`~seqnn.errors.SeqnnInputError` (one line naming ``path``) when the
    split table leaves train, valid or test without a sequence."""
    counts = table["split"].value_counts()
    empty = [s for s in SPLITS if not counts.get(s, 0)]
    if not empty:
        return
    sizes = ", ".join(f"{s} {int(counts.get(s, 0))}" for s in SPLITS)
    advice = hint or {
        "given": "the inputs give no record to it",
        "cluster": "too few clusters for the fractions; lower the identity, raise the "
                   "fraction or use more data",
    }.get(method, "raise its fraction or use more data")
    raise SeqnnInputError(path, f"the {method} split leaves the {' and '.join(empty)} part"
                          f"{'s' if len(empty) > 1 else ''} empty ({sizes}): {advice}")


__all__ = ["DEFAULT_VALID_FRACTION", "carve_valid", "check_parts"]
