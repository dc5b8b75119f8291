"""Per-class results and length cuts of a trained model, as tables for the report.

* :func:`class_table`: test precision, recall, F1 and support per class from a model's
  ``predictions.tsv``, so a class that the model never gets right (recall 0) is named
  instead of hiding inside a macro average;
* :func:`cut_counts`: how many sequences per split are longer than the model's ``max_len``
  and so were cut by its truncation rule (``ends`` keeps both termini).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

SPLITS = ("train", "valid", "test")


def class_table(predictions: pd.DataFrame, class_names: Sequence[str] | None = None,
                split: str = "test") -> pd.DataFrame:
    """Per-class ``precision``, ``recall``, ``f1`` and ``support`` on ``split``.

    ``predictions`` has ``split``, ``true`` and ``predicted`` columns (a model's
    ``predictions.tsv``). Rows follow ``class_names`` (else sorted true labels); a class
    absent from ``split`` has support 0 and missing recall; a class never predicted has
    precision 0. Raises ``ValueError`` when ``split`` has no rows.
    """
    df = predictions[predictions["split"] == split] if "split" in predictions else predictions
    if df.empty:
        raise ValueError(f"no predictions for split {split!r}")
    true, pred = df["true"].astype(str).to_numpy(), df["predicted"].astype(str).to_numpy()
    names = [str(c) for c in class_names] if class_names else sorted(set(true))
    rows = []
    for name in names:
        support = int((true == name).sum())
        called = int((pred == name).sum())
        hit = int(((true == name) & (pred == name)).sum())
        recall = hit / support if support else np.nan
        precision = hit / called if called else 0.0
        f1 = (2 * precision * recall / (precision + recall)
              if support and precision + recall > 0 else (np.nan if not support else 0.0))
        rows.append({"class": name, "support": support, "predicted": called,
                     "precision": precision, "recall": recall, "f1": f1})
    return pd.DataFrame(rows, columns=["class", "support", "predicted", "precision", "recall",
                                       "f1"])


def zero_recall(table: pd.DataFrame) -> list[str]:
    """Classes of a :func:`class_table` present in the split but never recalled."""
    return table.loc[(table["support"] > 0) & (table["recall"] == 0), "class"].tolist()


def cut_counts(sequences_tsv: str | os.PathLike, splits_tsv: str | os.PathLike,
               max_len: int) -> dict[str, dict[str, int]]:
    """``{split: {"n": sequences, "cut": longer than max_len}}`` for train, valid and test."""
    seqs = pd.read_csv(sequences_tsv, sep="\t", usecols=["id", "sequence"], dtype=str,
                       keep_default_na=False)
    splits = pd.read_csv(splits_tsv, sep="\t", usecols=["id", "split"], dtype=str,
                         keep_default_na=False)
    merged = splits.merge(seqs, on="id", how="inner")
    long = merged["sequence"].str.len() > int(max_len)
    return {s: {"n": int((merged["split"] == s).sum()),
                "cut": int((long & (merged["split"] == s)).sum())} for s in SPLITS}


__all__ = ["class_table", "zero_recall", "cut_counts"]
