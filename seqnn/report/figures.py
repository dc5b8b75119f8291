"""What every plot of the report shares: matplotlib with the Agg backend, atomic PNG
writing, and reading the workflow's tables (``sequences.tsv``, ``predictions.tsv``).

Plots read files under ``results/<dataset>/`` (TSV, CSV, JSON), never a model, so plots
and the report can be rebuilt without torch. A plot that its input cannot give raises
:class:`PlotUnavailable`, a ``ValueError`` whose message says why.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..data.files import atomic_path
from ..data.tables import read_text_table

PathLike = str | os.PathLike
FIGSIZE = (5.0, 3.5)  # inches: 750 px at DPI
WIDE = (9.0, 3.6)  # inches: 1350 px at DPI, shown at the full report column width
DPI = 150
LEGEND_PT = 9  # legends and tick labels at least this size
RC = {"font.size": 10, "legend.fontsize": LEGEND_PT, "xtick.labelsize": LEGEND_PT,
      "ytick.labelsize": LEGEND_PT, "axes.titlesize": 10, "axes.labelsize": 10}
MAX_GROUPS = 20  # classes drawn per plot (the largest ones): the size of the class palette
#: the class palette shared by every plot of a page: tab10's ten colours, then their light
#: tab20 partners, assigned in the sorted order of the class names (:func:`class_colours`)
CLASS_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
                 "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5")
#: one colour per split on every plot of a page (no verdict colour among them)
SPLIT_COLOURS = {"train": "#333333", "valid": "#4477aa", "test": "#aa3377"}
_KEPT: list | None = None  # figures save_png keeps open while keep_figures() is active
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
    kept = _KEPT is not None
    try:
        if fig.get_layout_engine() is None:  # a constrained figure lays itself out
            fig.tight_layout()
        with atomic_path(path, inside=os.path.dirname(path) or ".") as tmp:
            fig.savefig(tmp, format="png", dpi=DPI)
        if kept:
            _KEPT.append(fig)
    finally:
        if not kept:
            plt.close(fig)


@contextlib.contextmanager
def keep_figures() -> Iterator[list]:
    """While active, :func:`save_png` keeps every figure it writes open, laid out as saved,
    and appends it to the list this yields (tests check the layout: nothing cut at the
    figure's edge); the caller closes them."""
    global _KEPT
    before, _KEPT = _KEPT, []
    try:
        yield _KEPT
    finally:
        _KEPT = before


def class_colours(names: Sequence[Any]) -> dict[str, str]:
    """``{class: colour}`` from :data:`CLASS_PALETTE` in the sorted order of ``names`` (pass
    every class of the model or dataset, so a class gets the same colour in every plot)."""
    ordered = sorted({str(n) for n in names})
    return {n: CLASS_PALETTE[i % len(CLASS_PALETTE)] for i, n in enumerate(ordered)}


def wrap_label(text: Any, width: int = 22) -> str:
    """``text`` broken into lines of at most about ``width`` characters, after spaces and
    after the ``.``, ``/``, ``-`` and ``_`` inside class names ("Endoplasmic.reticulum"),
    never cut short."""
    parts = re.findall(r"[^\s./_-]*[\s./_-]?", str(text))
    lines, line = [], ""
    for part in filter(None, parts):
        if line and len(line) + len(part.rstrip()) > width:
            lines.append(line.rstrip())
            line = ""
        line += part
    return "\n".join([*lines, line.rstrip()])


def integer_ticks(axis: Any) -> None:
    """Ticks at whole numbers only on ``axis`` (an epoch or a residue position)."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def read_tsv(path: PathLike, text_columns: Sequence[str] = ("id", "split")) -> pd.DataFrame:
    """Read a TSV (or CSV, sniffed) with ``text_columns`` and the name columns of
    :data:`seqnn.data.tables.TEXT_COLUMNS` kept verbatim as strings (``NA`` is a name)."""
    sep = "," if str(path).endswith(".csv") else "\t"
    return read_text_table(path, sep, text_columns)


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
                color=SPLIT_COLOURS.get(split),
                label=f"{split} (n={len(values)}, mean {values.mean():.3f})")
    ax.set(xlabel=xlabel, ylabel="density")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=9)
    save_png(fig, path)
