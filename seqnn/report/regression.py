"""The regression part of a model's block in the report.

A regression model is shown with the same care as a classifier: predicted against true on
the test split, each point coloured by its identity to the nearest training sequence
(bins of :data:`~seqnn.metrics.IDENTITY_BINS`, the Spearman of each bin in the legend,
so a score carried by near-copies of training sequences shows), and a table of the test
Spearman with its 95 % bootstrap interval (from ``checks.json``), then per identity bin the
number of sequences, Spearman and mean absolute error. Without ``nearest_train.tsv`` the
plain scatter of :func:`~seqnn.report.plots.plot_scatter` is drawn instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from .. import layout
from ..metrics import IDENTITY_BINS
from .figures import (
    FIGSIZE,
    PathLike,
    PlotUnavailable,
    pyplot,
    read_tsv,
    save_png,
)
from .html import Plots, as_dict, esc, fmt, html_table
from .plots import numeric_predictions, plot_scatter
from .results import Results


def _spearman(part: pd.DataFrame) -> float | None:
    """Spearman of ``true`` and ``predicted``, or None when undefined."""
    if len(part) < 2 or part["true"].nunique() < 2 or part["predicted"].nunique() < 2:
        return None
    return float(part["true"].corr(part["predicted"], method="spearman"))


def plot_scatter_by_identity(predictions_tsv: PathLike, nearest_tsv: PathLike, path: PathLike,
                             ci: Sequence | None = None, split: str = "test") -> None:
    """Predicted vs true on ``split`` (train in grey behind), points coloured by identity
    bin to the nearest training sequence, each bin's n and Spearman in the legend; the
    title gives the split's Spearman and, when known, its interval ``ci``."""
    df, part = numeric_predictions(predictions_tsv, split)
    nearest = read_tsv(nearest_tsv)
    if not {"id", "identity"} <= set(nearest.columns):
        raise PlotUnavailable(f"{nearest_tsv}: no 'id' and 'identity' columns")
    ident = part["id"].map(nearest.drop_duplicates("id").set_index("id")["identity"])
    ident = pd.to_numeric(ident, errors="coerce").fillna(0.0)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=FIGSIZE)
    if "split" in df.columns and split != "train":
        train = df[df["split"] == "train"]
        ax.scatter(train["true"], train["predicted"], s=6, color="0.85", label="train")
    colours = plt.get_cmap("viridis")
    for i, (low, high, name) in enumerate(IDENTITY_BINS):
        sel = part[((ident >= low) & (ident < high)).to_numpy()]
        if len(sel):
            ax.scatter(sel["true"], sel["predicted"], s=10,
                       color=colours(i / max(len(IDENTITY_BINS) - 1, 1)),
                       label=f"identity {name}: n={len(sel)}, ρ {fmt(_spearman(sel), 2)}")
    lo = float(min(df["true"].min(), df["predicted"].min()))
    hi = float(max(df["true"].max(), df["predicted"].max()))
    ax.plot([lo, hi], [lo, hi], ":", color="grey", label="y = x")
    ax.set(xlabel="true", ylabel="predicted")
    interval = f" [{fmt(ci[0])}, {fmt(ci[-1])}]" if ci and None not in (ci[0], ci[-1]) else ""
    ax.set_title(f"Predicted vs true ({split}), Spearman {fmt(_spearman(part))}{interval}",
                 fontsize=9)
    ax.legend(fontsize=8, loc="best")
    save_png(fig, path)


def regression_figure(d: Results, name: str, m: Mapping, plot: Plots) -> str:
    """The predicted-vs-true image of one model: by identity bin when the dataset has
    ``nearest_train.tsv``, else the plain scatter."""
    pred, nearest = m["dir"] / layout.PREDICTIONS, d.root / layout.NEAREST_TRAIN
    if nearest.exists():
        return plot(plot_scatter_by_identity, pred, nearest, alt=f"{name} predicted vs true",
                    ci=as_dict(m["check"]).get("ci"))
    return plot(plot_scatter, pred, alt=f"{name} predicted vs true")


def regression_table(c: Mapping) -> str:
    """Test Spearman with its bootstrap interval, then per identity bin: n, Spearman, MAE
    (from the model's ``checks.json`` entry); empty when there is nothing to show."""
    ci = c.get("ci") or [None, None]
    rows = []
    if c.get("test_metric") is not None:
        rows.append(["all test", "—", f"{fmt(c['test_metric'])} [{fmt(ci[0])}, {fmt(ci[-1])}]",
                     "—"])
    for name, b in as_dict(c.get("by_identity_bin")).items():
        b = as_dict(b)
        rows.append([f"identity to train {esc(name)}", fmt(b.get("n")), fmt(b.get("metric")),
                     fmt(b.get("mae"))])
    if not rows:
        return ""
    return ("<p>Test Spearman with its 95% bootstrap interval, and by identity to the "
            "nearest training sequence:</p>"
            + html_table(["Test sequences", "n", "Spearman", "Mean absolute error"], rows))


__all__ = ["plot_scatter_by_identity", "regression_figure", "regression_table"]
