"""The leakage audit of a split: exact duplicates and each held-out sequence's highest
identity to any training sequence (MMseqs2 alignments of :mod:`seqnn.split.mmseqs`).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.tables import SPLITS
from .methods import join_splits
from .mmseqs import align, find_mmseqs, search_method

HIST_EDGES = tuple(round(0.1 * i, 1) for i in range(11))
IDENTITY_BINS = (("<0.3", 0.0, 0.3), ("0.3-0.5", 0.3, 0.5), ("0.5-0.7", 0.5, 0.7),
                 (">=0.7", 0.7, 1.01))


def exact_duplicates(df: pd.DataFrame, splits: pd.DataFrame) -> dict:
    """Groups of identical sequences (no MMseqs2 needed), JSON-serialisable.

    ``within_split``: groups inside one split (``split``, ``ids``); ``across_splits``:
    groups spanning splits (``ids``, ``splits``); ``conflicting_labels``: identical
    sequences whose non-missing labels differ (``ids``, ``labels``); plus their counts
    and ``heldout_with_train_copy``, the valid/test ids with an identical train sequence.
    """
    table = join_splits(df, splits)
    table = table[table["sequence"].duplicated(keep=False)]
    within, across, conflicts, heldout = [], [], [], []
    for _, group in table.groupby("sequence", sort=False):
        ids, where = group["id"].astype(str).tolist(), group["split"].tolist()
        for name in SPLITS:
            members = [i for i, w in zip(ids, where, strict=True) if w == name]
            if len(members) > 1:
                within.append({"split": name, "ids": members})
        if len(set(where)) > 1:
            across.append({"ids": ids, "splits": where})
            if "train" in where:
                heldout += [i for i, w in zip(ids, where, strict=True) if w != "train"]
        if "label" in group:
            labelled = group[group["label"].notna()]
            if labelled["label"].nunique() > 1:
                conflicts.append({"ids": labelled["id"].astype(str).tolist(),
                                  "labels": labelled["label"].tolist()})
    return {"n_within_split": len(within), "n_across_splits": len(across),
            "n_conflicting_labels": len(conflicts), "within_split": within,
            "across_splits": across, "conflicting_labels": conflicts,
            "heldout_with_train_copy": heldout}


def nearest_train_identity(
    df: pd.DataFrame, splits: pd.DataFrame, workdir: str | Path | None = None, threads: int = 1,
    coverage: float = 0.8, evalue: float = 10.0, queries: pd.DataFrame | None = None,
    sensitivity: float | None = None,
) -> pd.DataFrame:
    """Highest identity of every valid and test sequence to any training sequence.

    Returns ``id``, ``split``, ``nearest_train_id`` (missing without a hit), ``identity``
    (``nident / alnlen`` in 0..1, 0 without a hit), ``query_coverage``,
    ``target_coverage`` and ``evalue`` of that best hit (ties: lower E-value). Alignments
    are those of :func:`seqnn.split.methods.cluster_sequences` (same flags, all sequences
    as the target database, so E-values match); an identical training copy always counts as 1.0.
    ``queries`` (``id``, ``split``, ``sequence``) replaces the held-out sequences, e.g.
    by shuffled ones for a chance baseline. ``sensitivity`` forces the k-mer prefiltered
    search at that ``-s`` (large data; see :func:`seqnn.split.mmseqs.search_method`).
    """
    table = join_splits(df, splits)
    held = table[table["split"] != "train"] if queries is None else queries
    seqs = table["sequence"].tolist()
    hits = align(held["sequence"].tolist(), seqs, workdir, threads, coverage, evalue,
                 sensitivity=sensitivity) \
        if len(held) else pd.DataFrame(columns=["query", "target", "identity", "qcov", "tcov",
                                                "evalue"])
    is_train = (table["split"] == "train").to_numpy()
    hits = hits[is_train[hits["target"].to_numpy(dtype=np.int64)]]
    hits = hits.sort_values(["query", "identity", "evalue"], ascending=[True, False, True])
    best = hits.drop_duplicates("query").set_index("query").reindex(np.arange(len(held)))
    ids = table["id"].to_numpy(dtype=object)
    out = pd.DataFrame({
        "id": held["id"].to_numpy(), "split": held["split"].to_numpy(),
        "nearest_train_id": [None if pd.isna(t) else ids[int(t)] for t in best["target"]],
        "identity": best["identity"].fillna(0.0).to_numpy(dtype=float),
        "query_coverage": best["qcov"].to_numpy(dtype=float),
        "target_coverage": best["tcov"].to_numpy(dtype=float),
        "evalue": best["evalue"].to_numpy(dtype=float)})
    if queries is None:  # an identical copy in train counts as 1.0 whatever its E-value
        train_ids = table[is_train].drop_duplicates("sequence").set_index("sequence")["id"]
        copy = held["sequence"].map(train_ids).to_numpy(dtype=object)
        has = pd.notna(copy) & (out["identity"].to_numpy() < 1.0)
        out.loc[has, "nearest_train_id"] = copy[has]
        out.loc[has, ["identity", "query_coverage", "target_coverage"]] = 1.0
        out.loc[has, "evalue"] = np.nan
    return out


def _shuffled(held: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The same sequences with residues shuffled (composition and length kept)."""
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.permutation(list(s))) for s in held["sequence"]]
    return held[["id", "split"]].assign(sequence=seqs)


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%" if x >= 0.01 or x == 0 else f"{100 * x:.1f}%"


def audit(
    df: pd.DataFrame, splits: pd.DataFrame, identity_threshold: float = 0.3,
    workdir: str | Path | None = None, threads: int = 1, use_mmseqs: bool = True,
    coverage: float = 0.8, evalue: float = 10.0, tolerance: float = 0.0,
    background: bool = True, seed: int = 0, nearest: pd.DataFrame | None = None,
    sensitivity: float | None = None,
) -> dict:
    """Leakage audit of a split: a JSON-serialisable report.

    The report holds the exact ``duplicates``, ``identity_threshold``,
    and per held-out split the ``fraction_above_threshold`` (identity >= threshold), a
    10-bin ``histogram``, ``identity_bins`` counts and, with ``background``, the same
    fraction for residue-shuffled copies (the chance level for sequences this short);
    ``leak`` is true when a held-out sequence has an identical train copy or when more
    than ``tolerance`` of a held-out split reaches the threshold; ``warnings`` are
    plain sentences. Pass the :func:`nearest_train_identity` table as ``nearest`` when the
    caller also writes it (it is computed here otherwise). ``search`` records how the
    alignments were found (``exhaustive`` or ``prefilter`` and the flags; ``sensitivity``
    forces the prefilter, as for large data).
    """
    table = join_splits(df, splits)
    dups = exact_duplicates(table, splits)
    report: dict = {"identity_threshold": identity_threshold, "coverage": coverage,
                    "evalue": evalue, "duplicates": dups, "n": {}, "fraction_above_threshold": {},
                    "n_above_threshold": {}, "histogram": {"edges": list(HIST_EDGES)},
                    "identity_bins": {}, "background_fraction_above_threshold": {},
                    "mmseqs": None, "leak": False, "warnings": []}
    warn = report["warnings"]
    for name in SPLITS:
        report["n"][name] = int((table["split"] == name).sum())
    if dups["heldout_with_train_copy"]:
        report["leak"] = True
        ids = dups["heldout_with_train_copy"]
        warn.append(f"LEAKAGE: {len(ids)} valid/test sequence(s) have an identical copy in train "
                    f"(e.g. {', '.join(ids[:5])})")
    n_other = sum("train" not in group["splits"] for group in dups["across_splits"])
    if n_other:
        warn.append(f"NOTE: {n_other} group(s) of identical sequences shared by valid and test")
    if dups["n_within_split"]:
        warn.append(f"NOTE: {dups['n_within_split']} group(s) of identical sequences inside one "
                    "split; they weigh those sequences more")
    if dups["n_conflicting_labels"]:
        first = dups["conflicting_labels"][0]
        shown = ", ".join(f"{i}={v}" for i, v in zip(first["ids"], first["labels"], strict=True))
        warn.append(f"CONFLICT: {dups['n_conflicting_labels']} group(s) of identical sequences "
                    f"carry different labels (e.g. {shown}); no model can be right on all")
    if not use_mmseqs:
        warn.append("NOTE: identity audit skipped (use_mmseqs=False): only exact duplicates "
                    "were checked")
        return report
    binary = find_mmseqs()
    version = subprocess.run([binary, "version"], capture_output=True, text=True).stdout.strip()
    report["mmseqs"] = {"binary": binary, "version": version}
    held = table[table["split"] != "train"]
    cells = float(held["sequence"].str.len().sum()) * float(table["sequence"].str.len().sum())
    report["search"] = search_method(cells, sensitivity)
    if nearest is None:
        nearest = nearest_train_identity(table, splits, workdir, threads, coverage, evalue,
                                         sensitivity=sensitivity)
    shuffled = (nearest_train_identity(table, splits, workdir, threads, coverage, evalue,
                                       queries=_shuffled(held, seed), sensitivity=sensitivity)
                if background and len(held) else None)
    for name in SPLITS[1:]:
        ident = nearest.loc[nearest["split"] == name, "identity"].to_numpy()
        n = ident.size
        if n == 0:
            continue
        above = int((ident >= identity_threshold).sum())
        report["n_above_threshold"][name] = above
        report["fraction_above_threshold"][name] = above / n
        report["histogram"][name] = np.histogram(ident, bins=HIST_EDGES)[0].tolist()
        report["identity_bins"][name] = {label: int(((ident >= lo) & (ident < hi)).sum())
                                         for label, lo, hi in IDENTITY_BINS}
        what = (f"{above} of {n} {name} sequences ({_pct(above / n)}) share >= "
                f"{identity_threshold:.0%} identity (over >= {coverage:.0%} of both) with a "
                "training sequence")
        if above > tolerance * n:
            report["leak"] = True
            warn.append(f"LEAKAGE: {what}")
        elif above:
            warn.append(f"NOTE: {what} (within the tolerance of {_pct(tolerance)})")
        if shuffled is not None:
            chance = shuffled.loc[shuffled["split"] == name, "identity"].to_numpy()
            frac = float((chance >= identity_threshold).mean())
            report["background_fraction_above_threshold"][name] = frac
            if frac >= 0.02:
                warn.append(f"NOTE: {_pct(frac)} of residue-shuffled {name} sequences also reach "
                            f">= {identity_threshold:.0%} identity to train: at this threshold "
                            "chance similarity is not negligible for sequences this short")
    return report


__all__ = ["HIST_EDGES", "IDENTITY_BINS", "audit", "exact_duplicates", "nearest_train_identity"]
