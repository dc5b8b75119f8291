"""Plots for a trained model and its dataset, drawn from the files the workflow writes.

Every function here reads files under ``results/<dataset>/`` (TSV, CSV, JSON), never a
model, so plots and the report can be rebuilt without torch. Each ``plot_*`` function writes
one small PNG atomically with matplotlib's Agg backend. When its input cannot give that plot
(no probability columns, one class only, no bins) it raises :class:`PlotUnavailable`, a
``ValueError`` whose message says why; :func:`evaluate_model_dir` skips such plots.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .alphabet import STANDARD
from .io import atomic_path

PathLike = str | os.PathLike
FIGSIZE = (4.5, 3.2)
WIDE = (7.5, 3.2)
DPI = 100
MAX_GROUPS = 10  # classes drawn per plot (the largest ones)
CLASSIFICATION = ("binary", "multiclass")
AUTOENCODER_TASKS = ("unsupervised", "autoencoder", "reconstruction")


class PlotUnavailable(ValueError):
    """The input files cannot give this plot; the message says why."""


# ----------------------------------------------------------------------------- helpers

def _plt() -> Any:
    """Return ``matplotlib.pyplot`` with the non-interactive Agg backend selected."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: PathLike) -> None:
    """Lay out ``fig``, write it to ``path`` as PNG atomically and close it."""
    plt = _plt()
    try:
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=DPI)
    finally:
        plt.close(fig)


def read_json(path: PathLike) -> dict | None:
    """Read a JSON object from ``path``; None when the file is missing or not valid JSON."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_tsv(path: PathLike, text_columns: Sequence[str] = ("id", "split")) -> pd.DataFrame:
    """Read a TSV (or CSV, sniffed) with ``text_columns`` kept as strings."""
    sep = "," if str(path).endswith(".csv") else "\t"
    return pd.read_csv(path, sep=sep, dtype={c: str for c in text_columns})


def _sequences(path: PathLike) -> pd.DataFrame:
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


def _groups(df: pd.DataFrame, task: str | None) -> dict[str, np.ndarray]:
    """Row masks per class (largest ``MAX_GROUPS``), or one group ``all`` for regression."""
    labels = df["label"] if "label" in df.columns else None
    if labels is None or labels.isna().all() or is_continuous(labels, task):
        return {"all": np.ones(len(df), dtype=bool)}
    labels = labels.fillna("(none)").astype(str)
    top = labels.value_counts().index[:MAX_GROUPS]
    return {str(c): (labels == c).to_numpy() for c in sorted(top)}


def _by_split(df: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Rows grouped by ``split`` in train, valid, test order (one group ``all`` without)."""
    if "split" not in df.columns:
        return [("all", df)]
    order = {s: i for i, s in enumerate(("train", "valid", "test"))}
    return sorted(df.groupby("split"), key=lambda g: (order.get(g[0], 3), str(g[0])))


def _predictions(path: PathLike, split: str | None = "test") -> pd.DataFrame:
    """``predictions.tsv`` restricted to ``split`` (all rows when None); must not be empty."""
    df = read_tsv(path, ("id", "split", "true", "predicted"))
    if split is not None and "split" in df.columns:
        df = df[df["split"] == split]
    if df.empty:
        raise PlotUnavailable(f"{path}: no predictions for split {split!r}")
    return df


# ----------------------------------------------------------------------------- models

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
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=WIDE)
    for ax, name in zip(axes, ["loss", metric], strict=True):
        for split, style, color in (("train", "-", "C0"), ("valid", "--", "C1")):
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
        ax.legend(fontsize=7)
    fig.suptitle("Learning curves", fontsize=10)
    _save(fig, path)


def _class_names(df: pd.DataFrame, class_names: Sequence[str] | None) -> list[str]:
    """Class names in model order, or (none given) those found in the predictions."""
    found = set(df["true"].astype(str)) | set(df["predicted"].astype(str))
    return [str(c) for c in class_names] if class_names else sorted(found)


def plot_confusion(predictions_tsv: PathLike, class_names: Sequence[str] | None,
                   path: PathLike, split: str = "test") -> None:
    """Confusion matrix on ``split``: colour is the row-normalised rate, text the count."""
    df = _predictions(predictions_tsv, split)
    names = _class_names(df, class_names)
    index = {c: i for i, c in enumerate(names)}
    cm = np.zeros((len(names), len(names)), dtype=int)
    for t, p in zip(df["true"].astype(str), df["predicted"].astype(str), strict=True):
        if t in index and p in index:
            cm[index[t], index[p]] += 1
    rate = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    plt = _plt()
    side = max(3.2, 0.3 * len(names) + 2.0)
    fig, ax = plt.subplots(figsize=(side + 0.8, side))
    im = ax.imshow(rate, cmap="Blues", vmin=0, vmax=1)
    if len(names) <= 12:
        for (i, j), n in np.ndenumerate(cm):
            ax.text(j, i, str(n), ha="center", va="center", fontsize=8,
                    color="white" if rate[i, j] > 0.6 else "black")
    ticks = range(len(names))
    ax.set_xticks(ticks, names, rotation=45 if len(names) > 2 else 0, ha="right", fontsize=7)
    ax.set_yticks(ticks, names, fontsize=7)
    ax.set(xlabel="predicted", ylabel="true")
    ax.set_title(f"Confusion matrix ({split}, n={int(cm.sum())})", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, label="row rate")
    _save(fig, path)


def _scores(df: pd.DataFrame, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """One-vs-rest truth ``(N, K)`` and probabilities ``(N, K)`` from ``p_<class>`` columns."""
    cols = [f"p_{c}" for c in names]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise PlotUnavailable(f"no probability column(s) {', '.join(missing)}")
    truth = np.column_stack([(df["true"].astype(str) == c).to_numpy() for c in names])
    return truth, df[cols].to_numpy(dtype=float)


def plot_roc_pr(predictions_tsv: PathLike, class_names: Sequence[str] | None,
                path: PathLike, split: str = "test") -> None:
    """ROC (left) and precision-recall (right) on ``split``. Binary: the curve for the second
    class, AUC and average precision in the legend. Multiclass: one-vs-rest micro average,
    with the macro ROC curve and the macro AUC/AP in the legend."""
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve

    df = _predictions(predictions_tsv, split)
    names = _class_names(df, class_names)
    if len(names) == 2 and f"p_{names[1]}" in df.columns:  # binary: p_<negative> optional
        df = df.assign(**{f"p_{names[0]}": 1 - df[f"p_{names[1]}"]})
    truth, prob = _scores(df, names)
    keep = truth.any(axis=0) & ~truth.all(axis=0)
    if len(names) == 2:
        keep[0] = False  # binary: one curve, for the positive (second) class
    if not keep.any():
        raise PlotUnavailable(f"split {split!r} has fewer than two classes")
    y, s = truth[:, keep], prob[:, keep]
    plt = _plt()
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
        ax.legend(fontsize=7, loc=loc)
    positive = f", positive class {names[1]}" if len(names) == 2 else ", one-vs-rest"
    fig.suptitle(f"{split} split{positive}", fontsize=10)
    _save(fig, path)


def plot_scatter(predictions_tsv: PathLike, path: PathLike, split: str = "test") -> None:
    """Regression: predicted vs true on ``split`` (train in grey behind), with y = x."""
    df = _predictions(predictions_tsv, None)
    df = df.assign(true=pd.to_numeric(df["true"], errors="coerce"),
                   predicted=pd.to_numeric(df["predicted"], errors="coerce")).dropna(
                       subset=["true", "predicted"])
    part = df[df["split"] == split] if "split" in df.columns else df
    if part.empty:
        raise PlotUnavailable(f"{predictions_tsv}: no numeric predictions for {split!r}")
    plt = _plt()
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
    ax.legend(fontsize=7)
    _save(fig, path)


def plot_reconstruction(predictions_tsv: PathLike, path: PathLike) -> None:
    """Autoencoder: histogram of per-sequence reconstruction accuracy, one line per split."""
    df = _predictions(predictions_tsv, None)
    if "reconstruction_accuracy" not in df.columns:
        raise PlotUnavailable(f"{predictions_tsv}: no 'reconstruction_accuracy' column")
    _hist_by_split(df, "reconstruction_accuracy", np.linspace(0, 1, 26), path,
                   "reconstruction accuracy per sequence", "Autoencoder reconstruction")


def _hist_by_split(df: pd.DataFrame, column: str, bins: np.ndarray, path: PathLike,
                   xlabel: str, title: str) -> None:
    """Density histograms of ``df[column]``, one step line per split, mean in the legend."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=FIGSIZE)
    for split, part in _by_split(df):
        values = part[column].dropna()
        ax.hist(values, bins=bins, histtype="step", density=True,
                label=f"{split} (n={len(values)}, mean {values.mean():.3f})")
    ax.set(xlabel=xlabel, ylabel="density")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    _save(fig, path)


# ----------------------------------------------------------------------------- checks

def _identity_counts(source: PathLike | Mapping) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Bin edges and per-split counts, from an audit's ``histogram`` (``edges`` or ``bins``
    and one count list per split) or from
    ``nearest_train.tsv`` (identity in [0, 1] or percent; no hit counts as 0)."""
    if isinstance(source, Mapping) or str(source).endswith(".json"):
        audit = source if isinstance(source, Mapping) else read_json(source) or {}
        hist = audit.get("histogram") or {}
        edges = hist.get("edges", hist.get("bins"))
        if edges is None:
            raise PlotUnavailable("the audit has no identity histogram")
        splits = {s: np.asarray(v, dtype=float) for s, v in hist.items()
                  if s not in ("edges", "bins")}
        return np.asarray(edges, dtype=float), splits
    df = read_tsv(source)
    identity = pd.to_numeric(df["identity"], errors="coerce").fillna(0.0)
    if identity.max() > 1.0:
        identity = identity / 100.0
    edges = np.linspace(0, 1, 11)
    splits = df["split"] if "split" in df.columns else pd.Series("test", index=df.index)
    return edges, {s: np.histogram(identity[splits == s], bins=edges)[0].astype(float)
                   for s in sorted(set(splits) - {"train"})}


def plot_identity_histogram(source: PathLike | Mapping, threshold: float,
                            path: PathLike) -> None:
    """Highest identity of each valid/test sequence to any training sequence, as grouped
    bars per split, with the leakage threshold marked and the share above it per split."""
    edges, splits = _identity_counts(source)
    if not splits:
        raise PlotUnavailable("no held-out sequences in the identity data")
    plt = _plt()
    fig, ax = plt.subplots(figsize=FIGSIZE)
    width = np.diff(edges) / (len(splits) + 1)
    for k, (split, counts) in enumerate(splits.items()):
        above = counts[edges[:-1] >= threshold - 1e-9].sum() / max(counts.sum(), 1)
        ax.bar(edges[:-1] + width * (k + 0.5), counts, width=width, align="edge",
               label=f"{split}: {above:.0%} ≥ {threshold:g}")
    ax.axvline(threshold, color="red", ls="--", lw=1)
    ax.set(xlabel="identity to nearest training sequence", ylabel="sequences", xlim=(0, 1))
    ax.set_title("Held-out vs train identity", fontsize=9)
    ax.legend(fontsize=7)
    _save(fig, path)


def plot_metric_by_bin(checks_model_entry: Mapping, path: PathLike,
                       metric: str = "metric") -> None:
    """Test metric per identity-to-train bin (left) and per length bin (right), from one
    model's entry in ``checks.json``; each bar is labelled with its number of sequences."""
    panels = [(k, t) for k, t in (("by_identity_bin", "identity to train"),
                                  ("by_length_bin", "length")) if checks_model_entry.get(k)]
    if not panels:
        raise PlotUnavailable("no by_identity_bin or by_length_bin in the checks entry")
    plt = _plt()
    fig, axes = plt.subplots(1, len(panels), figsize=WIDE if len(panels) == 2 else FIGSIZE,
                             squeeze=False)
    for ax, (key, title) in zip(axes[0], panels, strict=True):
        bins = checks_model_entry[key]
        names = list(bins)
        values = [_num(bins[b].get("metric")) for b in names]
        ax.bar(range(len(names)), np.nan_to_num(values), color="tab:blue")
        for i, b in enumerate(names):
            note = "" if values[i] == values[i] else "\nno value"
            ax.text(i, max(np.nan_to_num(values[i]), 0), f"n={bins[b].get('n', '?')}{note}",
                    ha="center", va="bottom", fontsize=7)
        overall = _num(checks_model_entry.get("test_metric"))
        if overall == overall:
            ax.axhline(overall, color="tab:red", ls="--", lw=1, label=f"all test {overall:.3f}")
            ax.legend(fontsize=7, loc="upper right")
        ax.set_ylim(top=1.3 * np.nanmax([*values, overall, 0.1]))
        ax.set_xticks(range(len(names)), names, fontsize=7, rotation=30 if len(names) > 4 else 0)
        ax.axhline(0, color="black", lw=0.5)
        ax.set(xlabel=title, ylabel=f"test {metric}")
    fig.suptitle(f"Test {metric} by bin", fontsize=10)
    _save(fig, path)


def _num(value: Any) -> float:
    """``value`` as float, NaN when missing or not a number."""
    return float("nan") if value is None else float(pd.to_numeric(value, errors="coerce"))


# ----------------------------------------------------------------------------- dataset

def plot_length_hist(sequences_tsv: PathLike, path: PathLike, task: str | None = None) -> None:
    """Sequence length per class: density histograms for up to four classes (one for
    regression or unlabelled data), box plots above that. Lengths above the 99.5th
    percentile are drawn at it."""
    df = _sequences(sequences_tsv)
    if df.empty:
        raise PlotUnavailable(f"{sequences_tsv}: no sequences")
    top = max(float(np.quantile(df["length"], 0.995)), float(df["length"].min()) + 1)
    groups = {k: df.loc[m, "length"].clip(upper=top) for k, m in _groups(df, task).items()}
    plt = _plt()
    fig, ax = plt.subplots(figsize=FIGSIZE)
    if len(groups) > 4:
        try:  # matplotlib >= 3.10 spells it orientation=; vert= is deprecated in 3.11
            ax.boxplot(list(groups.values()), orientation="horizontal", showfliers=False)
        except TypeError:
            ax.boxplot(list(groups.values()), vert=False, showfliers=False)
        ax.set_yticks(range(1, len(groups) + 1), [f"{k} ({len(v)})" for k, v in groups.items()],
                      fontsize=6)
    else:
        bins = np.linspace(df["length"].min(), top, 31)
        for name, lengths in groups.items():
            ax.hist(lengths, bins=bins, histtype="step", density=True, lw=1.2,
                    label=f"{name} (n={len(lengths)}, median {int(lengths.median())})")
        ax.set(ylabel="density")
        ax.legend(fontsize=6)
    ax.set(xlabel="length (residues)")
    ax.set_title("Sequence length" + (" by class" if len(groups) > 1 else ""), fontsize=9)
    _save(fig, path)


def _composition(seqs: pd.Series) -> np.ndarray:
    """Fraction of each residue of ``STANDARD`` + ``X`` over all ``seqs`` together."""
    counts = np.bincount(np.frombuffer("".join(seqs).encode(), dtype=np.uint8), minlength=256)
    letters = counts[[ord(c) for c in STANDARD + "X"]].astype(float)
    return letters / max(letters.sum(), 1.0)


def plot_composition(sequences_tsv: PathLike, path: PathLike, task: str | None = None) -> None:
    """Residue composition per class: grouped bars for up to five classes, above that a
    heatmap of log2 enrichment of each class over the whole dataset."""
    df = _sequences(sequences_tsv)
    if df.empty:
        raise PlotUnavailable(f"{sequences_tsv}: no sequences")
    groups = _groups(df, task)
    comp = {name: _composition(df.loc[mask, "sequence"]) for name, mask in groups.items()}
    letters = list(STANDARD + "X")
    if not any(freq[-1] for freq in comp.values()):  # no X anywhere: drop its empty column
        letters, comp = letters[:-1], {k: v[:-1] for k, v in comp.items()}
    plt = _plt()
    fig, ax = plt.subplots(figsize=WIDE)
    if len(comp) <= 5:
        width = 0.8 / len(comp)
        for k, (name, freq) in enumerate(comp.items()):
            ax.bar(np.arange(len(letters)) + (k - (len(comp) - 1) / 2) * width, freq,
                   width=width, label=name)
        ax.set_xticks(range(len(letters)), letters)
        ax.set(ylabel="fraction of residues")
        ax.legend(fontsize=7, ncol=min(len(comp), 5))
    else:
        overall = _composition(df["sequence"])[: len(letters)]
        ratio = np.log2((np.array(list(comp.values())) + 1e-4) / (overall + 1e-4))
        im = ax.imshow(ratio, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
        ax.set_xticks(range(len(letters)), letters)
        ax.set_yticks(range(len(comp)), list(comp), fontsize=7)
        fig.colorbar(im, ax=ax, label="log2 enrichment")
    ax.set_title("Residue composition" + (" by class" if len(comp) > 1 else ""), fontsize=9)
    _save(fig, path)


def plot_target_hist(sequences_tsv: PathLike, path: PathLike,
                     splits_tsv: PathLike | None = None) -> None:
    """Regression target distribution, one histogram per split when splits are known."""
    df = _sequences(sequences_tsv)
    df["label"] = pd.to_numeric(df.get("label"), errors="coerce")
    if splits_tsv is not None and Path(splits_tsv).exists():
        df = df.drop(columns="split", errors="ignore").merge(
            read_tsv(splits_tsv)[["id", "split"]], on="id", how="left")
    df = df.dropna(subset=["label"])
    if df.empty:
        raise PlotUnavailable(f"{sequences_tsv}: no numeric labels")
    _hist_by_split(df, "label", np.histogram_bin_edges(df["label"], bins=30), path,
                   "target", "Target distribution")


# ----------------------------------------------------------------------------- one model

def evaluate_model_dir(model_dir: PathLike, out_dir: PathLike,
                       checks_entry: Mapping | None = None) -> list[str]:
    """Write every plot that applies to the model in ``model_dir`` (by its ``model.json``
    task) into ``out_dir`` and return their paths: learning curves; confusion matrix and
    ROC/PR (classification), predicted-vs-true (regression) or reconstruction accuracy
    (autoencoder); metric by bin from ``checks_entry`` (default: this model's entry in the
    dataset's ``checks.json``). Plots the files cannot give are skipped."""
    md, out = Path(model_dir), Path(out_dir)
    info = read_json(md / "model.json") or {}
    checks = read_json(md.parent.parent / "checks.json") or {}
    entry = checks_entry or (checks.get("models") or {}).get(md.name)
    task, names = info.get("task"), [str(c) for c in info.get("class_names") or []]
    metric, pred = checks.get("metric"), md / "predictions.tsv"
    jobs: list[tuple[str, Any, tuple, dict]] = []
    if (md / "history.csv").exists():
        jobs.append(("learning_curves.png", plot_learning_curves, (md / "history.csv",),
                     {"best_epoch": info.get("best_epoch"), "metric": metric}))
    columns = read_tsv(pred).columns if pred.exists() else []
    if task in AUTOENCODER_TASKS or "reconstruction_accuracy" in columns:
        jobs.append(("reconstruction.png", plot_reconstruction, (pred,), {}))
    elif task == "regression":
        jobs.append(("scatter.png", plot_scatter, (pred,), {}))
    elif "true" in columns:
        jobs.append(("confusion.png", plot_confusion, (pred, names), {}))
        jobs.append(("roc_pr.png", plot_roc_pr, (pred, names), {}))
    if entry:
        jobs.append(("metric_by_bin.png", plot_metric_by_bin, (entry,),
                     {"metric": metric or "metric"}))
    made = []
    for name, fn, args, kwargs in jobs:
        try:
            fn(*args, out / name, **kwargs)
        except (PlotUnavailable, FileNotFoundError):
            continue
        made.append(str(out / name))
    return made
