"""Plots of a dataset and of its checks, drawn from the results folder's files: sequence
length and residue composition per class, the regression target, held-out identity to
train, and a model's test metric by identity and length bin.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data.alphabet import STANDARD
from ..data.files import read_json
from .figures import (
    FIGSIZE,
    WIDE,
    PathLike,
    PlotUnavailable,
    class_groups,
    hist_by_split,
    pyplot,
    read_sequences_tsv,
    read_tsv,
    save_png,
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


def plot_identity_histogram(source: PathLike | Mapping, threshold: float,
                            path: PathLike) -> None:
    """Highest identity of each valid/test sequence to any training sequence, as grouped
    bars per split, with the leakage threshold marked and the share above it per split."""
    edges, splits = _identity_counts(source)
    if not splits:
        raise PlotUnavailable("no held-out sequences in the identity data")
    plt = pyplot()
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
    save_png(fig, path)


def plot_metric_by_bin(checks_model_entry: Mapping, path: PathLike,
                       metric: str = "metric") -> None:
    """Test metric per identity-to-train bin (left) and per length bin (right), from one
    model's entry in ``checks.json``; each bar is labelled with its number of sequences."""
    panels = [(k, t) for k, t in (("by_identity_bin", "identity to train"),
                                  ("by_length_bin", "length")) if checks_model_entry.get(k)]
    if not panels:
        raise PlotUnavailable("no by_identity_bin or by_length_bin in the checks entry")
    plt = pyplot()
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
