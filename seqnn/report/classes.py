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

from ..data.tables import SPLITS

Table = str | os.PathLike | pd.DataFrame


def class_table(predictions: pd.DataFrame, class_names: Sequence[str] | None = None,
                split: str = "test") -> pd.DataFrame:
    """Per-class ``precision``, ``recall``, ``f1`` and ``support`` on ``split``.

    ``predictions`` has ``split``, ``true`` and ``predicted`` columns (a model's
    ``predictions.tsv``). Rows follow ``class_names`` (else sorted true labels); a class
    absent from ``split`` has support 0 and missing recall and F1; a class never predicted
    has precision 0. Raises ``ValueError`` when ``split`` has no rows.
    """
    from sklearn.metrics import precision_recall_fscore_support

    df = predictions[predictions["split"] == split] if "split" in predictions else predictions
    if df.empty:
        raise ValueError(f"no predictions for split {split!r}")
    true, pred = df["true"].astype(str).to_numpy(), df["predicted"].astype(str).to_numpy()
    names = [str(c) for c in class_names] if class_names else sorted(set(true))
    precision, recall, f1, support = precision_recall_fscore_support(
        true, pred, labels=names, zero_division=0.0)
    absent = support == 0
    return pd.DataFrame({
        "class": names, "support": support.astype(int),
        "predicted": [int((pred == n).sum()) for n in names], "precision": precision,
        "recall": np.where(absent, np.nan, recall), "f1": np.where(absent, np.nan, f1)})


def zero_recall(table: pd.DataFrame) -> list[str]:
    """Classes of a :func:`class_table` present in the split but never recalled."""
    return table.loc[(table["support"] > 0) & (table["recall"] == 0), "class"].tolist()


def _frame(table: Table, columns: list[str]) -> pd.DataFrame:
    if isinstance(table, pd.DataFrame):
        return table[columns]
    return pd.read_csv(table, sep="\t", usecols=columns, dtype=str, keep_default_na=False)


def split_lengths(sequences: Table, splits: Table) -> pd.DataFrame:
    """``split`` and sequence ``length`` of every record in both tables (files or frames
    with ``id``/``sequence`` and ``id``/``split``)."""
    merged = _frame(splits, ["id", "split"]).merge(_frame(sequences, ["id", "sequence"]),
                                                   on="id", how="inner")
    return pd.DataFrame({"split": merged["split"], "length": merged["sequence"].str.len()})


def count_cuts(lengths: pd.DataFrame, max_len: int) -> dict[str, dict[str, int]]:
    """``{split: {"n": sequences, "cut": longer than max_len}}`` for train, valid and test,
    from a :func:`split_lengths` table."""
    long = lengths["length"] > int(max_len)
    return {s: {"n": int((lengths["split"] == s).sum()),
                "cut": int((long & (lengths["split"] == s)).sum())} for s in SPLITS}


def cut_counts(sequences: Table, splits: Table, max_len: int) -> dict[str, dict[str, int]]:
    """:func:`count_cuts` of the two tables (files or frames)."""
    return count_cuts(split_lengths(sequences, splits), max_len)


__all__ = ["class_table", "zero_recall", "split_lengths", "count_cuts", "cut_counts"]
