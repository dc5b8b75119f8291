"""What every plot of the report shares: matplotlib with the Agg backend, atomic PNG
writing, and reading the workflow's tables (``sequences.tsv``, ``predictions.tsv``).

Plots read files under ``results/<dataset>/`` (TSV, CSV, JSON), never a model, so plots
and the report can be rebuilt without torch. A plot that its input cannot give raises
:class:`PlotUnavailable`, a ``ValueError`` whose message says why.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..data.files import atomic_path

PathLike = str | os.PathLike
FIGSIZE = (5.0, 3.5)  # inches: 750 px at DPI
WIDE = (9.0, 3.6)  # inches: 1350 px at DPI, shown at the full report column width
DPI = 150
LEGEND_PT = 9  # legends and tick labels at least this size
RC = {"font.size": 10, "legend.fontsize": LEGEND_PT, "xtick.labelsize": LEGEND_PT,
      "ytick.labelsize": LEGEND_PT, "axes.titlesize": 10, "axes.labelsize": 10}
MAX_GROUPS = 10  # classes drawn per plot (the largest ones)
CLASSIFICATION = ("binary", "multiclass")
AUTOENCODER_TASKS = ("unsupervised", "autoencoder", "reconstruction")


class PlotUnavailable(ValueError):
    """The input files cannot give this plot; the message says why."""


def pyplot() -> Any:
    """Return ``matplotlib.pyplot`` with the non-interactive Agg backend selected and the
    report's font sizes (:data:`RC`) set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(RC)
    return plt


def save_png(fig: Any, path: PathLike) -> None:
    """Lay out ``fig``, write it to ``path`` as PNG atomically and close it."""
    plt = pyplot()
    try:
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=DPI)
    finally:
        plt.close(fig)


def read_tsv(path: PathLike, text_columns: Sequence[str] = ("id", "split")) -> pd.DataFrame:
    """Read a TSV (or CSV, sniffed) with ``text_columns`` kept as strings."""
    sep = "," if str(path).endswith(".csv") else "\t"
    return pd.read_csv(path, sep=sep, dtype={c: str for c in text_columns})


def read_sequences_tsv(path: PathLike) -> pd.DataFrame:
    """``sequences.tsv`` with labels kept as text (classes) and a ``length`` column."""
    df = read_tsv(path, ("id", "sequence", "label", "source", "split"))
    if "sequence" not in df.columns:
        raise PlotUnavailable(f"{path}: no 'sequence' column")
    df["sequence"] = df["sequence"].fillna("").astype(str)
    df["length"] = df["sequence"].str.len()
    return df


def is_continuous(labels: pd.Series, task: str | None = None) -> bool:
    """True for regression targets: ``task == "regression"``, or (with no task) labels that
    are all numbers with more than ten distinct values."""
    if task is not None:
        return task == "regression"
    values = pd.to_numeric(labels, errors="coerce")
    return bool(values.notna().all() and values.nunique() > 10)


def class_groups(df: pd.DataFrame, task: str | None) -> dict[str, np.ndarray]:
    """Row masks per class (largest ``MAX_GROUPS``), or one group ``all`` for regression."""
    labels = df["label"] if "label" in df.columns else None
    if labels is None or labels.isna().all() or is_continuous(labels, task):
        return {"all": np.ones(len(df), dtype=bool)}
    labels = labels.fillna("(none)").astype(str)
    top = labels.value_counts().index[:MAX_GROUPS]
    return {str(c): (labels == c).to_numpy() for c in sorted(top)}


def by_split(df: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Rows grouped by ``split`` in train, valid, test order (one group ``all`` without)."""
    if "split" not in df.columns:
        return [("all", df)]
    order = {s: i for i, s in enumerate(("train", "valid", "test"))}
    return sorted(df.groupby("split"), key=lambda g: (order.get(g[0], 3), str(g[0])))


def read_predictions(path: PathLike, split: str | None = "test") -> pd.DataFrame:
    """``predictions.tsv`` restricted to ``split`` (all rows when None); must not be empty."""
    df = read_tsv(path, ("id", "split", "true", "predicted"))
    if split is not None and "split" in df.columns:
        df = df[df["split"] == split]
    if df.empty:
        raise PlotUnavailable(f"{path}: no predictions for split {split!r}")
    return df


def hist_by_split(df: pd.DataFrame, column: str, bins: np.ndarray, path: PathLike,
                   xlabel: str, title: str) -> None:
    """Density histograms of ``df[column]``, one step line per split, mean in the legend."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=FIGSIZE)
    for split, part in by_split(df):
        values = part[column].dropna()
        ax.hist(values, bins=bins, histtype="step", density=True,
                label=f"{split} (n={len(values)}, mean {values.mean():.3f})")
    ax.set(xlabel=xlabel, ylabel="density")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=9)
    save_png(fig, path)
