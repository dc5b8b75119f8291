"""Train / valid / test splits: random, stratified, given, cluster, and cluster folds.

Splits: :func:`split_random`, :func:`split_stratified` (by class, or by quantile bin of a
regression target), :func:`split_given` (the ``split`` column of the input) and
:func:`split_cluster`, which puts whole MMseqs2 clusters into one split each, so no two
members of a cluster are ever on both sides; :func:`kfold_clusters` does the same for k
folds. Stratified and cluster splits share one greedy assignment: groups (clusters, or
single sequences) are taken largest first, ties shuffled by the seed, and each goes to the
split with the largest deficit in the group's classes, ``sum_k n_k (target_k - current_k)``
(the greedy step minimising the squared error of the per-class counts; the per-class
targets sum to the size targets, so sizes follow; ties go to the larger size deficit).
A multi-label task stratifies per label: a group's "classes" are the counts of each label
among its members plus its size (a protein with two labels counts for both), so a cluster
goes where the labels it carries are most short; rare labels and label combinations are
matched only as far as whole clusters allow (check the per-label counts of the summary).
Similarity and clusters are defined in :mod:`seqnn.split.mmseqs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..data.labelsets import label_names, label_set_counts, multi_hot
from ..data.tables import SPLITS
from .mmseqs import align, linclust


def _check_table(df: pd.DataFrame, label: bool = False) -> None:
    missing = [c for c in ("id", "sequence") + (("label",) if label else ()) if c not in df]
    if missing:
        raise ValueError(f"sequences table lacks column(s) {', '.join(missing)}")
    dup = df["id"][df["id"].duplicated()]
    if len(dup):
        raise ValueError(f"sequence ids must be unique; repeated: {', '.join(map(str, dup[:5]))}")


def cluster_sequences(
    df: pd.DataFrame, identity: float = 0.3, coverage: float = 0.8,
    workdir: str | Path | None = None, threads: int = 1, evalue: float = 10.0,
    method: str = "search", sensitivity: float = 5.7,
) -> pd.Series:
    """Cluster sequences with MMseqs2 and return a Series ``id -> cluster`` (representative id).

    With ``method="search"`` a cluster is a connected component of the graph of pairs
    similar at ``identity`` with ``coverage`` of both sequences and E-value <= ``evalue``
    (:mod:`seqnn.split.mmseqs`); with ``"linclust"`` (large data) the graph's edges are
    those of ``mmseqs linclust``'s clusters plus the similar pairs among their
    representatives found by the k-mer prefiltered search at ``-s sensitivity`` (linclust's
    exact k-mer matching alone misses most pairs below ~50 % identity). Identical sequences
    always share a cluster. The representative is the longest member (ties: first in the table).
    Temporary files live under ``workdir`` and are removed.
    """
    _check_table(df)
    seqs = df["sequence"].tolist()
    n = len(seqs)
    if method == "linclust":  # linclust, then a prefiltered search among representatives
        query = np.arange(n)
        target = linclust(seqs, workdir, threads, identity, coverage, evalue)
        reps = np.unique(target)
        hits = align([seqs[i] for i in reps], [seqs[i] for i in reps], workdir, threads,
                     coverage, evalue, min_identity=identity, sensitivity=sensitivity)
        query = np.concatenate([query, reps[hits["query"].to_numpy()]])
        target = np.concatenate([target, reps[hits["target"].to_numpy()]])
    elif method == "search":
        hits = align(seqs, seqs, workdir, threads, coverage, evalue, min_identity=identity)
        query, target = hits["query"].to_numpy(), hits["target"].to_numpy()
    else:
        raise ValueError(f"cluster method must be search or linclust, got {method!r}")
    same = pd.factorize(df["sequence"])[0]  # identical sequences: link each to its first copy
    first = pd.Series(np.arange(n)).groupby(same).transform("min").to_numpy()
    rows = np.concatenate([query, np.arange(n)])
    cols = np.concatenate([target, first])
    graph = coo_matrix((np.ones(rows.size), (rows, cols)), shape=(n, n))
    comp = connected_components(graph, directed=False)[1]
    order = np.lexsort((np.arange(n), -df["sequence"].str.len().to_numpy(), comp))
    rep = pd.Series(order, index=comp[order]).groupby(level=0).first()
    ids = df["id"].to_numpy()
    return pd.Series(ids[rep.loc[comp].to_numpy()], index=pd.Index(ids, name="id"),
                     name="cluster")


def _fractions(fractions: Sequence[float]) -> np.ndarray:
    f = np.asarray(fractions, dtype=np.float64)
    if f.shape != (3,) or (f < 0).any() or abs(f.sum() - 1) > 1e-6 or f[0] == 0:
        raise ValueError(f"fractions must be 3 non-negative numbers (train > 0) summing to 1, "
                         f"got {tuple(fractions)}")
    return f


def _strata(df: pd.DataFrame, task: str | None, bins: int = 5) -> np.ndarray:
    """Integer stratum per row: class, quantile bin of a regression target, or all 0.

    Multi-label: a ``(N, K + 1)`` matrix instead, the 0/1 label columns and a column of ones
    (the size), so that :func:`_assign_groups` sends each cluster where the labels it
    carries are most short of their share (a greedy iterative stratification per label)."""
    if task in (None, "unsupervised") or "label" not in df:
        return np.zeros(len(df), dtype=np.int64)
    label = df["label"]
    if task == "multilabel":
        sets = label.astype(str).tolist()
        hot = multi_hot(sets, label_names(sets))
        return np.hstack([hot, np.ones((len(df), 1), dtype=np.float32)])
    if task == "regression":
        values = pd.to_numeric(label, errors="coerce")
        q = max(1, min(bins, int(values.notna().sum())))
        codes = pd.qcut(values, q=q, labels=False, duplicates="drop")
        return codes.fillna(-1).to_numpy(dtype=np.int64) + 1
    if task not in ("binary", "multiclass"):
        raise ValueError(f"unknown task {task!r}; choose binary, multiclass, multilabel or "
                         "regression")
    return pd.factorize(label.astype(object).where(label.notna(), None))[0] + 1


def _assign_groups(groups: np.ndarray, strata: np.ndarray, weights: np.ndarray,
                   seed: int) -> np.ndarray:
    """Greedy whole-group assignment to parts (module docstring); returns part per row."""
    gcode, guniq = pd.factorize(pd.Series(groups))
    g, p = len(guniq), len(weights)
    if strata.ndim == 2:  # per-row weights per stratum (multi-label), summed per group
        counts = np.zeros((g, strata.shape[1]))
        np.add.at(counts, gcode, strata.astype(np.float64))
        size = np.bincount(gcode, minlength=g).astype(np.float64)
    else:
        scode = pd.factorize(pd.Series(strata))[0]
        k = scode.max() + 1
        counts = np.bincount(gcode * k + scode, minlength=g * k).reshape(g, k).astype(np.float64)
        size = counts.sum(axis=1)
    target_k = weights[:, None] * counts.sum(axis=0)[None, :]
    rng = np.random.default_rng(seed)
    perm = rng.permutation(g)
    order = perm[np.argsort(-size[perm], kind="stable")]
    cur_k = np.zeros((p, counts.shape[1]))
    allowed = weights > 0
    part = np.empty(g, dtype=np.int64)
    for i in order:
        score = (target_k - cur_k) @ counts[i]  # = total deficit when there is one stratum
        score[~allowed] = -np.inf
        best = np.flatnonzero(score >= score.max() - 1e-9)
        if best.size > 1:  # tie: prefer the larger deficit in total size, then chance
            total = (target_k[best] - cur_k[best]).sum(axis=1)
            best = best[total >= total.max() - 1e-9]
        choice = best[0] if best.size == 1 else rng.choice(best)
        part[i] = choice
        cur_k[choice] += counts[i]
    return part[gcode]


def _table(df: pd.DataFrame, split: Sequence[str] | np.ndarray,
           clusters: pd.Series | None) -> pd.DataFrame:
    cluster = df["id"] if clusters is None else df["id"].map(clusters)
    if cluster.isna().any():
        raise ValueError("clusters does not cover every sequence id")
    return pd.DataFrame({"id": df["id"].to_numpy(), "split": np.asarray(split, dtype=object),
                         "cluster": cluster.astype(str).to_numpy()})


def split_random(df: pd.DataFrame, fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0,
                 clusters: pd.Series | None = None) -> pd.DataFrame:
    """Random split table (``id``, ``split``, ``cluster``) with sizes ``round(f * N)``;
    ``cluster`` is the sequence's own id unless a ``clusters`` Series is given."""
    _check_table(df)
    cuts = np.round(np.cumsum(_fractions(fractions)) * len(df)).astype(int)
    split = np.empty(len(df), dtype=object)
    perm = np.random.default_rng(seed).permutation(len(df))
    for name, lo, hi in zip(SPLITS, [0, *cuts[:2]], cuts, strict=True):
        split[perm[lo:hi]] = name
    return _table(df, split, clusters)


def split_stratified(df: pd.DataFrame, task: str, fractions: Sequence[float] = (0.8, 0.1, 0.1),
                     seed: int = 0, clusters: pd.Series | None = None) -> pd.DataFrame:
    """Random split keeping each class's share (regression: each of 10 target quantile
    bins) close to ``fractions`` in every split; returns the split table."""
    _check_table(df, label=True)
    part = _assign_groups(np.arange(len(df)), _strata(df, task, bins=10),
                          _fractions(fractions), seed)
    return _table(df, np.array(SPLITS, dtype=object)[part], clusters)


def split_given(df: pd.DataFrame) -> pd.DataFrame:
    """The split stated in ``df["split"]`` as a split table; raises ``ValueError`` if the
    column is missing, a value is not train/valid/test, or no sequence is in train."""
    _check_table(df)
    if "split" not in df:
        raise ValueError("split method 'given' needs a 'split' column (train/valid/test)")
    split = df["split"]
    bad = df[~split.isin(SPLITS)]
    if len(bad):
        shown = ", ".join(f"{i}={v!r}" for i, v in zip(bad["id"][:5], bad["split"][:5],
                                                        strict=True))
        raise ValueError(f"{len(bad)} row(s) have a split other than train/valid/test: {shown}")
    if not (split == "train").any():
        raise ValueError("the given split has no training sequence")
    return _table(df, split.to_numpy(), None)


def split_cluster(
    df: pd.DataFrame, task: str | None = None, fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0, identity: float = 0.3, coverage: float = 0.8,
    workdir: str | Path | None = None, threads: int = 1, evalue: float = 10.0,
    clusters: pd.Series | None = None,
) -> pd.DataFrame:
    """Homology-aware split: whole clusters (see :func:`cluster_sequences`, or the given
    ``clusters``) go to one split each, greedily matching ``fractions`` and class balance.

    A cluster bigger than a split's share still goes whole to one split; check the
    achieved fractions with :func:`split_summary`. Returns the split table.
    """
    _check_table(df, label=task not in (None, "unsupervised"))
    if clusters is None:
        clusters = cluster_sequences(df, identity, coverage, workdir, threads, evalue)
    part = _assign_groups(df["id"].map(clusters).to_numpy(), _strata(df, task),
                          _fractions(fractions), seed)
    return _table(df, np.array(SPLITS, dtype=object)[part], clusters)


def kfold_clusters(df: pd.DataFrame, k: int = 5, seed: int = 0, clusters: pd.Series | None = None,
                   task: str | None = None) -> pd.DataFrame:
    """Table ``id``, ``fold`` (0..k-1), ``cluster``: whole clusters per fold, folds of near
    equal size (and class balance when ``task`` is given); no clusters = one per sequence."""
    _check_table(df, label=task not in (None, "unsupervised"))
    if k < 2:
        raise ValueError(f"k must be at least 2, got {k}")
    groups = df["id"].to_numpy() if clusters is None else df["id"].map(clusters).to_numpy()
    fold = _assign_groups(groups, _strata(df, task), np.full(k, 1.0 / k), seed)
    table = _table(df, np.zeros(len(df)), clusters).drop(columns="split")
    return table.assign(fold=fold)[["id", "fold", "cluster"]]


def join_splits(df: pd.DataFrame, splits: pd.DataFrame) -> pd.DataFrame:
    """``df`` with the ``split`` column of the split table (every id must have one)."""
    _check_table(df)
    table = df.drop(columns=["split"], errors="ignore").merge(splits[["id", "split"]], on="id",
                                                              how="left", validate="one_to_one")
    if table["split"].isna().any():
        missing = table["id"][table["split"].isna()]
        raise ValueError(f"{len(missing)} sequence(s) have no split, e.g. {missing.iloc[0]}")
    return table


def split_summary(df: pd.DataFrame, splits: pd.DataFrame, task: str | None = None) -> dict:
    """Per split: size, fraction, number of clusters and class counts/fractions (or target
    mean, sd, min, max for regression). JSON-serialisable."""
    table = join_splits(df, splits).merge(splits[["id", "cluster"]], on="id") \
        if "cluster" in splits else join_splits(df, splits)
    out: dict = {"n": len(table), "splits": {}}
    for name in SPLITS:
        part = table[table["split"] == name]
        info: dict = {"n": len(part), "fraction": round(len(part) / max(len(table), 1), 4)}
        if "cluster" in part:
            info["clusters"] = int(part["cluster"].nunique())
        if task == "regression" and len(part):
            y = pd.to_numeric(part["label"], errors="coerce")
            info.update(mean=float(y.mean()), sd=float(y.std(ddof=0)), min=float(y.min()),
                        max=float(y.max()))
        elif task == "multilabel" and len(part):
            counts = label_set_counts(part["label"].astype(str).tolist())["labels"]
            info["labels"] = counts
            info["label_fractions"] = {c: round(v / len(part), 4) for c, v in counts.items()}
        elif task not in (None, "unsupervised") and len(part):
            counts = part["label"].astype(str).value_counts().sort_index()
            info["classes"] = {str(c): int(v) for c, v in counts.items()}
            info["class_fractions"] = {str(c): round(v / len(part), 4) for c, v in counts.items()}
        out["splits"][name] = info
    return out


__all__ = ["SPLITS", "cluster_sequences", "join_splits", "kfold_clusters", "split_cluster",
           "split_given", "split_random", "split_stratified", "split_summary"]
