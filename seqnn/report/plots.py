"""Plots of a trained model, drawn from its folder's files: learning curves, confusion
matrix, ROC and precision-recall, predicted vs true, reconstruction accuracy; and
:func:`evaluate_model_dir`, which draws every plot that applies (``seqnn evaluate``).

Each ``plot_*`` function writes one small PNG atomically; one its input cannot give raises
:class:`~seqnn.report.figures.PlotUnavailable`, and :func:`evaluate_model_dir` skips it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import layout
from ..data.files import read_json
from ..modelmeta import read_model_info
from .calibration_plots import plot_reliability
from .data_plots import plot_metric_by_bin
from .figures import (
    AUTOENCODER_TASKS,
    FIGSIZE,
    SPLIT_COLOURS,
    WIDE,
    PathLike,
    PlotUnavailable,
    hist_by_split,
    integer_ticks,
    pyplot,
    read_predictions,
    read_tsv,
    save_png,
)


def plot_learning_curves(history_csv: PathLike, path: PathLike, best_epoch: int | None = None,
                         metric: str | None = None) -> None:
    """Loss (left) and ``metric`` (default: the first one logged) per epoch, train vs valid,
    with the best epoch marked (given, or the epoch of lowest validation loss).

    An ensemble's history (a ``member`` column) draws one pair of curves per member, each
    member's best epoch unmarked."""
    h = read_tsv(history_csv, ())
    if "epoch" not in h.columns or h.empty:
        raise PlotUnavailable(f"{history_csv}: no 'epoch' rows")
    names = [c[6:] for c in h.columns if c.startswith(("train_", "valid_")) and c[6:] != "loss"]
    if metric not in names:
        metric = next(iter(names), None)
    members = list(h.groupby("member")) if "member" in h.columns else [(None, h)]
    if len(members) > 1:
        best_epoch = None
    elif best_epoch is None and "valid_loss" in h.columns and h["valid_loss"].notna().any():
        best_epoch = int(h.loc[h["valid_loss"].idxmin(), "epoch"])
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=WIDE)
    for ax, name in zip(axes, ["loss", metric], strict=True):
        for split, style in (("train", "-"), ("valid", "--")):
            color = SPLIT_COLOURS[split]
            col = f"{split}_{name}"
            if not name or col not in h.columns:
                continue
            for i, (member, part) in enumerate(members):
                label = split if member is None else f"{split} (members)" if i == 0 else None
                ax.plot(part["epoch"], part[col], style, color=color, label=label,
                        marker="o" if len(part) < 3 else None,
                        alpha=1.0 if member is None else 0.6)
        if best_epoch is not None:
            ax.axvline(best_epoch, color="grey", ls=":", label=f"best epoch {best_epoch}")
        ax.set(xlabel="epoch", ylabel=name or "no metric logged")
        integer_ticks(ax.xaxis)
        ax.legend(fontsize=9)
    fig.suptitle("Learning curves", fontsize=10)
    save_png(fig, path)


def _class_names(df: pd.DataFrame, class_names: Sequence[str] | None) -> list[str]:
    """Class names in model order, or (none given) those found in the predictions."""
    found = set(df["true"].astype(str)) | set(df["predicted"].astype(str))
    return [str(c) for c in class_names] if class_names else sorted(found)


def plot_confusion(predictions_tsv: PathLike, class_names: Sequence[str] | None,
                   path: PathLike, split: str = "test") -> None:
    """Confusion matrix on ``split``: colour is the row-normalised rate, text the count."""
    df = read_predictions(predictions_tsv, split)
    names = _class_names(df, class_names)
    index = {c: i for i, c in enumerate(names)}
    cm = np.zeros((len(names), len(names)), dtype=int)
    for t, p in zip(df["true"].astype(str), df["predicted"].astype(str), strict=True):
        if t in index and p in index:
            cm[index[t], index[p]] += 1
    rate = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    plt = pyplot()
    side = max(3.2, 0.3 * len(names) + 2.0)
    longest = 0.065 * max(len(n) for n in names) if len(names) > 2 else 0.0  # inches of text
    fig, ax = plt.subplots(figsize=(side + 0.8 + longest, side + 0.7 * longest))
    im = ax.imshow(rate, cmap="Blues", vmin=0, vmax=1)
    if len(names) <= 12:
        for (i, j), n in np.ndenumerate(cm):
            ax.text(j, i, str(n), ha="center", va="center", fontsize=8,
                    color="white" if rate[i, j] > 0.6 else "black")
    ticks = range(len(names))
    ax.set_xticks(ticks, names, rotation=45 if len(names) > 2 else 0, ha="right", fontsize=9,
                  rotation_mode="anchor")
    ax.set_yticks(ticks, names, fontsize=9)
    ax.set(xlabel="predicted", ylabel="true")
    ax.set_title(f"Confusion matrix ({split}, n={int(cm.sum())})", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, label="row rate")
    save_png(fig, path)


def _scores(df: pd.DataFrame, names: list[str], multilabel: bool = False
            ) -> tuple[np.ndarray, np.ndarray]:
    """One-vs-rest truth ``(N, K)`` and probabilities ``(N, K)`` from ``p_<class>`` columns
    (``multilabel``: a label is true where it is in the row's ``;``-joined label set)."""
    cols = [f"p_{c}" for c in names]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise PlotUnavailable(f"no probability column(s) {', '.join(missing)}")
    true = df["true"].fillna("").astype(str)
    if multilabel:
        sets = [set(t.split(";")) for t in true]
        truth = np.array([[c in s for c in names] for s in sets], dtype=bool)
        truth = truth.reshape(-1, len(names))
    else:
        truth = np.column_stack([(true == c).to_numpy() for c in names])
    return truth, df[cols].to_numpy(dtype=float)


def plot_roc_pr(predictions_tsv: PathLike, class_names: Sequence[str] | None,
                path: PathLike, split: str = "test", multilabel: bool = False) -> None:
    """ROC (left) and precision-recall (right) on ``split``. Binary: the curve for the second
    class, AUC and average precision in the legend. Multiclass (and ``multilabel``, label by
    label): one-vs-rest micro average, with the macro ROC curve and the macro AUC/AP in the
    legend."""
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve

    df = read_predictions(predictions_tsv, split)
    names = _class_names(df, class_names)
    binary = len(names) == 2 and not multilabel
    if binary and f"p_{names[1]}" in df.columns:  # binary: p_<negative> optional
        df = df.assign(**{f"p_{names[0]}": 1 - df[f"p_{names[1]}"]})
    truth, prob = _scores(df, names, multilabel)
    keep = truth.any(axis=0) & ~truth.all(axis=0)
    if binary:
        keep[0] = False  # binary: one curve, for the positive (second) class
    if not keep.any():
        raise PlotUnavailable(f"split {split!r} has fewer than two classes")
    y, s = truth[:, keep], prob[:, keep]
    plt = pyplot()
    fig, (roc_ax, pr_ax) = plt.subplots(1, 2, figsize=WIDE)
    fpr, tpr, _ = roc_curve(y.ravel(), s.ravel())
    rec_prec = precision_recall_curve(y.ravel(), s.ravel())
    ap = average_precision_score(y, s, average="micro")
    if y.shape[1] == 1:
        roc_ax.plot(fpr, tpr, label=f"AUC = {auc(fpr, tpr):.3f}")
        pr_ax.plot(rec_prec[1], rec_prec[0], drawstyle="steps-post", label=f"AP = {ap:.3f}")
    else:
        grid = np.linspace(0, 1, 201)
        curves = [roc_curve(y[:, k], s[:, k])[:2] for k in range(y.shape[1])]
        macro = np.mean([np.interp(grid, f, t) for f, t in curves], axis=0)
        macro_auc = np.mean([auc(f, t) for f, t in curves])
        roc_ax.plot(fpr, tpr, label=f"micro AUC = {auc(fpr, tpr):.3f}")
        roc_ax.plot(grid, macro, "--", label=f"macro AUC = {macro_auc:.3f}")
        macro_ap = average_precision_score(y, s, average="macro")
        pr_ax.plot(rec_prec[1], rec_prec[0], drawstyle="steps-post",
                   label=f"micro AP = {ap:.3f}\nmacro AP = {macro_ap:.3f}")
    roc_ax.plot([0, 1], [0, 1], ":", color="grey", label="chance")
    pr_ax.axhline(y.mean(), ls=":", color="grey", label=f"chance = {y.mean():.2f}")
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate")
    pr_ax.set(xlabel="recall", ylabel="precision")
    for ax, title, loc in ((roc_ax, "ROC", "lower right"), (pr_ax, "Precision-recall",
                                                            "lower left")):
        ax.set(xlim=(0, 1), ylim=(0, 1.02))
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=9, loc=loc)
    positive = f", positive class {names[1]}" if len(names) == 2 else ", one-vs-rest"
    fig.suptitle(f"{split} split{positive}", fontsize=10)
    save_png(fig, path)


def numeric_predictions(predictions_tsv: PathLike,
                        split: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Regression ``predictions.tsv`` with numeric ``true``/``predicted`` (rows without
    both dropped), and its ``split`` part; raises :class:`PlotUnavailable` when that part
    is empty."""
    df = read_predictions(predictions_tsv, None)
    df = df.assign(true=pd.to_numeric(df["true"], errors="coerce"),
                   predicted=pd.to_numeric(df["predicted"], errors="coerce")).dropna(
                       subset=["true", "predicted"])
    part = df[df["split"] == split] if "split" in df.columns else df
    if part.empty:
        raise PlotUnavailable(f"{predictions_tsv}: no numeric predictions for {split!r}")
    return df, part


def plot_scatter(predictions_tsv: PathLike, path: PathLike, split: str = "test") -> None:
    """Regression: predicted vs true on ``split`` (train in grey behind), with y = x."""
    df, part = numeric_predictions(predictions_tsv, split)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=FIGSIZE)
    if "split" in df.columns and split != "train":
        train = df[df["split"] == "train"]
        ax.scatter(train["true"], train["predicted"], s=6, color="0.8", label="train")
    rho = part["true"].corr(part["predicted"], method="spearman")
    ax.scatter(part["true"], part["predicted"], s=8, label=f"{split} (n={len(part)})")
    lo = float(min(df["true"].min(), df["predicted"].min()))
    hi = float(max(df["true"].max(), df["predicted"].max()))
    ax.plot([lo, hi], [lo, hi], ":", color="grey", label="y = x")
    ax.set(xlabel="true", ylabel="predicted")
    ax.set_title(f"Predicted vs true ({split}), Spearman {rho:.3f}", fontsize=9)
    ax.legend(fontsize=9)
    save_png(fig, path)


def plot_reconstruction(predictions_tsv: PathLike, path: PathLike) -> None:
    """Autoencoder: histogram of per-sequence reconstruction accuracy, one line per split."""
    df = read_predictions(predictions_tsv, None)
    if "reconstruction_accuracy" not in df.columns:
        raise PlotUnavailable(f"{predictions_tsv}: no 'reconstruction_accuracy' column")
    hist_by_split(df, "reconstruction_accuracy", np.linspace(0, 1, 26), path,
                   "reconstruction accuracy per sequence", "Autoencoder reconstruction")


def evaluate_model_dir(model_dir: PathLike, out_dir: PathLike,
                       checks_entry: Mapping | None = None) -> list[str]:
    """Write every plot that applies to the model in ``model_dir`` (by its ``model.json``
    task) into ``out_dir`` and return their paths: learning curves; confusion matrix,
    ROC/PR and reliability before/after the temperature (classification), predicted-vs-true
    (regression) or reconstruction accuracy (autoencoder); metric by bin from
    ``checks_entry`` (default: this model's entry in the dataset's ``checks.json``). Plots
    the files cannot give are skipped."""
    md, out = Path(model_dir), Path(out_dir)
    info = read_model_info(md) or {}
    checks = read_json(md.parent.parent / layout.CHECKS) or {}
    entry = checks_entry or (checks.get("models") or {}).get(md.name)
    task, names = info.get("task"), [str(c) for c in info.get("class_names") or []]
    metric, pred = checks.get("metric"), md / layout.PREDICTIONS
    jobs: list[tuple[str, Any, tuple, dict]] = []
    if (md / layout.HISTORY).exists():
        jobs.append(("learning_curves.png", plot_learning_curves, (md / layout.HISTORY,),
                     {"best_epoch": info.get("best_epoch"), "metric": metric}))
    columns = read_tsv(pred).columns if pred.exists() else []
    if task in AUTOENCODER_TASKS or "reconstruction_accuracy" in columns:
        jobs.append(("reconstruction.png", plot_reconstruction, (pred,), {}))
    elif task == "regression":
        jobs.append(("scatter.png", plot_scatter, (pred,), {}))
    elif task == "multilabel" and "true" in columns:  # no confusion matrix of label sets
        jobs.append(("roc_pr.png", plot_roc_pr, (pred, names), {"multilabel": True}))
        if isinstance(info.get("temperature"), dict):  # one temperature per label
            jobs.append(("reliability.png", plot_reliability,
                         (pred, names, info["temperature"]), {}))
    elif "true" in columns:
        jobs.append(("confusion.png", plot_confusion, (pred, names), {}))
        jobs.append(("roc_pr.png", plot_roc_pr, (pred, names), {}))
        jobs.append(("reliability.png", plot_reliability,
                     (pred, names, info.get("temperature", 1.0)), {}))
    if entry:
        jobs.append(("metric_by_bin.png", plot_metric_by_bin, (entry,),
                     {"metric": metric or "metric", "class_names": names}))
    made = []
    for name, fn, args, kwargs in jobs:
        try:
            fn(*args, out / name, **kwargs)
        except (PlotUnavailable, FileNotFoundError):
            continue
        made.append(str(out / name))
    return made
