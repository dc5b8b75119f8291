"""Plots of a dataset and of its checks, drawn from the results folder's files: sequence
length and residue composition per class, the regression target, held-out identity to
train, and a model's test metric by identity and length bin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data.alphabet import STANDARD
from ..data.files import read_json
from .figures import (
    FIGSIZE,
    SPLIT_COLOURS,
    WIDE,
    PathLike,
    PlotUnavailable,
    class_colours,
    class_groups,
    hist_by_split,
    pyplot,
    read_sequences_tsv,
    read_tsv,
    save_png,
    wrap_label,
)


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


def share_text(value: float) -> str:
    """A share as a percentage, with one decimal under 10 % (3.6 %, not "4%")."""
    return f"{100 * value:.1f}%" if value < 0.1 else f"{100 * value:.0f}%"


def plot_identity_histogram(source: PathLike | Mapping, threshold: float,
                            path: PathLike) -> None:
    """Highest identity of each valid/test sequence to any training sequence, as grouped
    bars per split with each bar's count above it, the leakage threshold marked and the
    share above it per split in the legend. The count axis is logarithmic when the counts
    span more than a factor 20, so a bin of one sequence still shows."""
    edges, splits = _identity_counts(source)
    if not splits:
        raise PlotUnavailable("no held-out sequences in the identity data")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=FIGSIZE)
    width = np.diff(edges) / (len(splits) + 1)
    counts_all = np.concatenate(list(splits.values()))
    positive = counts_all[counts_all > 0]
    log = positive.size > 0 and positive.max() > 20 * positive.min()
    for k, (split, counts) in enumerate(splits.items()):
        above = counts[edges[:-1] >= threshold - 1e-9].sum() / max(counts.sum(), 1)
        x = edges[:-1] + width * (k + 0.5)
        ax.bar(x, counts, width=width, align="edge", color=SPLIT_COLOURS.get(split),
               label=f"{split}: {share_text(above)} ≥ {threshold:g}")
        for xi, wi, c in zip(x, width, counts, strict=True):
            if c > 0:
                ax.text(xi + wi / 2, c, f"{c:g}", ha="center", va="bottom", fontsize=6)
    ax.axvline(threshold, color="0.2", ls="--", lw=1, label=f"threshold {threshold:g}")
    if log:
        from matplotlib.ticker import FuncFormatter

        ax.set_yscale("log")
        ax.set_ylim(0.7, positive.max() * 3)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    else:
        ax.set_ylim(0, max(float(counts_all.max()), 1.0) * 1.15)
    ax.set(xlabel="identity to nearest training sequence",
           ylabel="sequences" + (" (log scale)" if log else ""), xlim=(0, 1))
    ax.set_title("Held-out vs train identity", fontsize=9)
    ax.legend(fontsize=8, loc="upper right")
    save_png(fig, path)


def bin_plot_data(checks_model_entry: Mapping, key: str) -> pd.DataFrame:
    """The rows the bin plot draws for one panel (``key`` ``by_identity_bin`` or
    ``by_length_bin`` of a model's ``checks.json`` entry): one row per bin with ``bin``,
    ``n``, ``value`` (accuracy for classification, the metric for regression), ``one_class``
    (all test sequences of the bin carry one true class), ``label`` (the annotation: count,
    and "one class: X" where it applies), ``recall`` (per true class) and, for regression,
    ``mae``."""
    bins = as_mapping(checks_model_entry.get(key))
    regression = _is_regression(checks_model_entry, key)
    rows = []
    for name, raw in bins.items():
        b = as_mapping(raw)
        classes = as_mapping(b.get("classes"))
        one = bool(b.get("one_class", not regression and len(classes) == 1))
        value = _num(b.get("metric") if regression else b.get("accuracy"))
        label = f"n={b.get('n', '?')}"
        if one and classes:
            label += f"\none class: {next(iter(classes))}"
        elif value != value:
            label += "\nno value"
        rows.append({"bin": str(name), "n": b.get("n"), "value": value, "one_class": one,
                     "label": label, "recall": dict(as_mapping(b.get("recall"))),
                     "mae": _num(b.get("mae"))})
    return pd.DataFrame(rows, columns=["bin", "n", "value", "one_class", "label", "recall",
                                       "mae"])


def _is_regression(entry: Mapping, key: str) -> bool:
    """Whether the bins of ``entry[key]`` are regression bins (no accuracy in any bin)."""
    bins = as_mapping(entry.get(key)).values()
    return entry.get("task") == "regression" or not any(
        "accuracy" in as_mapping(v) for v in bins)


def as_mapping(value: Any) -> Mapping:
    """``value`` when it is a mapping, else an empty dict."""
    return value if isinstance(value, Mapping) else {}


MARKERS = "os^vDPX<>ph*"


def plot_metric_by_bin(checks_model_entry: Mapping, path: PathLike, metric: str = "metric",
                       class_names: Sequence[str] | None = None) -> None:
    """Test performance per identity-to-train bin (left) and per length bin (right), from one
    model's entry in ``checks.json``. Classification draws accuracy (grey bars) with every
    class's recall (markers side by side in the page's class colours, ``class_names`` fixing
    them), since MCC is undefined in a bin of one true class: such bins are hatched and
    annotated "one class"; regression draws ``metric`` (Spearman) with the mean absolute
    error as markers on a second axis. Each bin's number of sequences is written under its
    name; the legend sits below the panels, one entry per class."""
    panels = [(k, t) for k, t in (("by_identity_bin", "identity to train"),
                                  ("by_length_bin", "length")) if checks_model_entry.get(k)]
    if not panels:
        raise PlotUnavailable("no by_identity_bin or by_length_bin in the checks entry")
    datas = [bin_plot_data(checks_model_entry, k) for k, _ in panels]
    found = list(dict.fromkeys(c for d in datas for r in d["recall"] for c in r))
    order = [str(c) for c in class_names or [] if str(c) in found]
    names = order + sorted(c for c in found if c not in order)
    colours = class_colours([*names, *(class_names or [])])
    plt = pyplot()
    rows = -(-(len(names) + 1) // 4)
    size = WIDE if len(panels) == 2 else FIGSIZE
    fig, axes = plt.subplots(1, len(panels), figsize=(size[0], size[1] + 0.22 * rows),
                             squeeze=False, layout="constrained")
    regression = False
    handles: dict[str, Any] = {}
    for ax, (key, title), data in zip(axes[0], panels, datas, strict=True):
        regression = _is_regression(checks_model_entry, key)
        x = np.arange(len(data))
        values = np.nan_to_num(data["value"].to_numpy(dtype=float))
        bars = ax.bar(x, values, color="0.78", edgecolor="0.55", width=0.8)
        handles[f"test {metric}" if regression else "accuracy"] = bars
        for bar, one in zip(bars, data["one_class"], strict=True):
            if one:
                bar.set(hatch="//", facecolor="0.9", edgecolor="0.4")
        for i, row in data.iterrows():  # n goes under the bin's name, the rest on the bar
            rest = str(row["label"]).split("\n")[1:]
            if rest:
                ax.text(i, max(values[i], 0) + 0.02, "\n".join(wrap_label(t, 16) for t in rest),
                        ha="center", va="bottom", fontsize=8)
        if not regression:
            step = 0.7 / max(len(names), 1)
            for k, cls in enumerate(names):
                ys = [r.get(cls, np.nan) for r in data["recall"]]
                handles[f"recall {cls}"] = ax.plot(
                    x + (k - (len(names) - 1) / 2) * step, ys, ls="none",
                    marker=MARKERS[k % len(MARKERS)], ms=5, color=colours[cls],
                    markeredgecolor="0.2", markeredgewidth=0.4)[0]
        elif data["mae"].notna().any():
            twin = ax.twinx()
            handles["MAE"] = twin.plot(x, data["mae"], ls="none", marker="D", color="#4477aa")[0]
            twin.set_ylabel("MAE", color="#4477aa")
            twin.set_ylim(0, 1.45 * float(data["mae"].max()) or 1.0)
        notes = any("\n" in str(label) for label in data["label"])  # text above a bar
        ax.set_ylim(min(0.0, float(np.nanmin(values))) - 0.02, 1.45 if notes else 1.08)
        ax.set_xticks(x, [f"{b}\nn={'?' if n is None else n}"
                          for b, n in zip(data["bin"], data["n"], strict=True)],
                      rotation=30 if len(data) > 4 else 0)
        ax.axhline(0, color="black", lw=0.5)
        ax.set(xlabel=title, ylabel=f"test {metric}" if regression else "test accuracy / recall")
    fig.legend(list(handles.values()), [wrap_label(k, 40) for k in handles], fontsize=8,
               loc="outside lower center", ncol=min(4, len(handles)), frameon=False)
    what = metric if regression else "accuracy and recall"
    fig.suptitle(f"Test {what} by bin (hatched: one true class only)" if not regression
                 else f"Test {what} by bin", fontsize=10)
    save_png(fig, path)


def _num(value: Any) -> float:
    """``value`` as float, NaN when missing or not a number."""
    return float("nan") if value is None else float(pd.to_numeric(value, errors="coerce"))


def plot_length_hist(sequences_tsv: PathLike, path: PathLike, task: str | None = None) -> None:
    """Sequence length per class: density histograms for up to four classes (one for
    regression or unlabelled data), box plots above that. Lengths above the 99.5th
    percentile are drawn at it."""
    df = read_sequences_tsv(sequences_tsv)
    if df.empty:
        raise PlotUnavailable(f"{sequences_tsv}: no sequences")
    top = max(float(np.quantile(df["length"], 0.995)), float(df["length"].min()) + 1)
    groups = {k: df.loc[m, "length"].clip(upper=top) for k, m in class_groups(df, task).items()}
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(FIGSIZE[0], max(FIGSIZE[1], 1.1 + 0.27 * len(groups))))
    colours = class_colours(groups)
    if len(groups) > 4:
        try:  # matplotlib >= 3.10 spells it orientation=; vert= is deprecated in 3.11
            ax.boxplot(list(groups.values()), orientation="horizontal", showfliers=False)
        except TypeError:
            ax.boxplot(list(groups.values()), vert=False, showfliers=False)
        ax.set_yticks(range(1, len(groups) + 1), [f"{k} ({len(v)})" for k, v in groups.items()],
                      fontsize=8)
        ax.invert_yaxis()  # the first class on top, as in the composition heatmap
    else:
        bins = np.linspace(df["length"].min(), top, 31)
        for name, lengths in groups.items():
            ax.hist(lengths, bins=bins, histtype="step", density=True, lw=1.2,
                    color=colours.get(name) if len(groups) > 1 else None,
                    label=f"{name} (n={len(lengths)}, median {int(lengths.median())})")
        ax.set(ylabel="density")
        ax.legend(fontsize=8)
    ax.set(xlabel="length (residues)")
    ax.set_title("Sequence length" + (" by class" if len(groups) > 1 else ""), fontsize=9)
    save_png(fig, path)


def _composition(seqs: pd.Series) -> np.ndarray:
    """Fraction of each residue of ``STANDARD`` + ``X`` over all ``seqs`` together."""
    counts = np.bincount(np.frombuffer("".join(seqs).encode(), dtype=np.uint8), minlength=256)
    letters = counts[[ord(c) for c in STANDARD + "X"]].astype(float)
    return letters / max(letters.sum(), 1.0)


def plot_composition(sequences_tsv: PathLike, path: PathLike, task: str | None = None) -> None:
    """Residue composition per class: grouped bars for up to five classes, above that a
    heatmap of log2 enrichment of each class over the whole dataset."""
    df = read_sequences_tsv(sequences_tsv)
    if df.empty:
        raise PlotUnavailable(f"{sequences_tsv}: no sequences")
    groups = class_groups(df, task)
    comp = {name: _composition(df.loc[mask, "sequence"]) for name, mask in groups.items()}
    letters = list(STANDARD + "X")
    if not any(freq[-1] for freq in comp.values()):  # no X anywhere: drop its empty column
        letters, comp = letters[:-1], {k: v[:-1] for k, v in comp.items()}
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(WIDE[0], max(WIDE[1], 1.2 + 0.25 * len(comp))))
    colours = class_colours(comp)
    if len(comp) <= 5:
        width = 0.8 / len(comp)
        for k, (name, freq) in enumerate(comp.items()):
            ax.bar(np.arange(len(letters)) + (k - (len(comp) - 1) / 2) * width, freq,
                   width=width, label=name, color=colours[name] if len(comp) > 1 else None)
        ax.set_xticks(range(len(letters)), letters)
        ax.set(ylabel="fraction of residues")
        ax.legend(fontsize=9, ncol=min(len(comp), 5))
    else:
        overall = _composition(df["sequence"])[: len(letters)]
        ratio = np.log2((np.array(list(comp.values())) + 1e-4) / (overall + 1e-4))
        im = ax.imshow(ratio, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
        ax.set_xticks(range(len(letters)), letters)
        ax.set_yticks(range(len(comp)), list(comp), fontsize=9)
        fig.colorbar(im, ax=ax, label="log2 enrichment")
    ax.set_title("Residue composition" + (" by class" if len(comp) > 1 else ""), fontsize=9)
    save_png(fig, path)


def plot_target_hist(sequences_tsv: PathLike, path: PathLike,
                     splits_tsv: PathLike | None = None) -> None:
    """Regression target distribution, one histogram per split when splits are known."""
    df = read_sequences_tsv(sequences_tsv)
    df["label"] = pd.to_numeric(df.get("label"), errors="coerce")
    if splits_tsv is not None and Path(splits_tsv).exists():
        df = df.drop(columns="split", errors="ignore").merge(
            read_tsv(splits_tsv)[["id", "split"]], on="id", how="left")
    df = df.dropna(subset=["label"])
    if df.empty:
        raise PlotUnavailable(f"{sequences_tsv}: no numeric labels")
    hist_by_split(df, "label", np.histogram_bin_edges(df["label"], bins=30), path,
                   "target", "Target distribution")
