"""The leakage audit of a variant library (:mod:`seqnn.split.variants`): mutational distance
instead of identity bins.

Equal lengths: no MMseqs2 at all. Each held-out variant gets its exact Hamming distance
``d`` to the nearest training variant and its number of mutations from the reference; the
identity fields of the audit hold the gapless identity ``1 - d / L`` (what identity means
for substitution-only variants) so the usual histogram still draws.

Near-equal lengths (some variants carry insertions or deletions): the MMseqs2 identity
audit runs as for any dataset (an alignment is needed across lengths), and the Hamming
distance is measured among the variants of the common length L only (missing for the
others); mutations from the reference use the edit distance for the other lengths.

In both cases a held-out variant is a leak only when it has an identical training copy:
near-identity is the nature of the data, not a defect of the split, so the identity
threshold marks nothing as leakage (the fractions are still reported).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..data.tables import SPLITS
from . import leakage
from .methods import join_splits
from .variants import as_matrix, mutation_counts, nearest_hamming_sparse


def variant_nearest(table: pd.DataFrame, consensus: str, ref: str) -> tuple[pd.DataFrame,
                                                                            np.ndarray]:
    """Held-out rows of ``table`` (with ``split``): ``id``, ``split``, ``nearest_train_id``,
    ``identity`` (``1 - hamming / L``; NaN off the consensus length ``L``), ``hamming``
    (nullable int) and ``mutations`` from ``ref``; plus every row's mutation count."""
    length = len(consensus)
    seqs = table["sequence"].astype(str).tolist()
    muts = mutation_counts(seqs, ref)
    is_train = (table["split"] == "train").to_numpy()
    fits = table["sequence"].str.len().to_numpy() == length
    held = np.flatnonzero(~is_train)
    train = np.flatnonzero(is_train & fits)
    query = held[fits[held]]
    dist, idx = nearest_hamming_sparse(as_matrix([seqs[i] for i in query]),
                                       as_matrix([seqs[i] for i in train]), consensus)
    found = idx >= 0
    ids = table["id"].to_numpy(dtype=object)
    near = pd.Series([None] * len(held), index=held, dtype=object)
    near.loc[query[found]] = ids[train[idx[found]]]
    ham = pd.Series(pd.NA, index=held, dtype="Int64")
    ham.loc[query[found]] = dist[found]
    ident = pd.Series(np.nan, index=held, dtype=float)
    ident.loc[query] = np.where(found, 1.0 - dist / max(length, 1), 0.0)
    out = pd.DataFrame({"id": ids[held], "split": table["split"].to_numpy()[held],
                        "nearest_train_id": near.to_numpy(), "identity": ident.to_numpy(),
                        "hamming": ham.to_numpy(), "mutations": muts[held]})
    return out, muts


def _fill_identity(report: dict, nearest: pd.DataFrame) -> None:
    """The audit's identity fields from the gapless identity of ``nearest`` (no leak flag)."""
    thr = report["identity_threshold"]
    for name in SPLITS[1:]:
        ident = nearest.loc[nearest["split"] == name, "identity"].fillna(0.0).to_numpy()
        if ident.size == 0:
            continue
        above = int((ident >= thr).sum())
        report["n_above_threshold"][name] = above
        report["fraction_above_threshold"][name] = above / ident.size
        report["histogram"][name] = np.histogram(ident, bins=leakage.HIST_EDGES)[0].tolist()
        report["identity_bins"][name] = {label: int(((ident >= lo) & (ident < hi)).sum())
                                         for label, lo, hi in leakage.IDENTITY_BINS}


def _counts(values: pd.Series) -> dict:
    return {str(int(k)): int(v) for k, v in sorted(values.dropna().value_counts().items())}


def _span(values: pd.Series) -> str:
    v = values.dropna()
    return "—" if v.empty else f"{int(v.min())}..{int(v.max())} (median {v.median():g})"


def summary_lines(block: dict) -> tuple[str, str]:
    """``(note, phrase)``: the audit's NOTE sentence and the verdict's short phrase."""
    test = block.get("test_span", {})
    phrase = (f"variant library: test variants carry {test.get('mutations', '—')} mutations "
              f"from the {block['reference']} and are {test.get('hamming', '—')} substitutions "
              "from the nearest training variant; identity bins are uninformative here")
    lengths = "equal lengths" if block.get("equal_lengths") else "near-equal lengths"
    note = (f"NOTE: variant library ({block['n']} sequences, {lengths}, L = {block['length']}, "
            f"{block['fraction_near_consensus']:.0%} within {block['max_mutations']} "
            f"substitutions of the consensus; variants: {block['mode']}): every held-out "
            "variant is a near-copy of training variants, so identity bins say nothing; "
            "audited by Hamming distance to the nearest training variant and mutations from "
            f"the {block['reference']}" + {
                "hamming": " (MMseqs2 alignment skipped)",
                "mmseqs2": " (identity from MMseqs2: lengths differ)"}.get(
                block["identity_audit"], " (no identity audit: MMseqs2 switched off)"))
    return note, phrase


def audit_library(df: pd.DataFrame, splits: pd.DataFrame, detection: dict, ref: tuple[str, str],
                  identity_threshold: float = 0.3, workdir: str | Path | None = None,
                  threads: int = 1, use_mmseqs: bool = True,
                  coverage: float = 0.8) -> tuple[dict, pd.DataFrame]:
    """Audit report (:func:`seqnn.split.leakage.audit`'s fields plus ``variants``) and the
    nearest table (``hamming`` and ``mutations`` columns added) of a variant library;
    ``detection`` from :func:`~seqnn.split.variants.detect`, ``ref`` is ``(name, sequence)``.

    ``variants`` holds the detection, the reference, ``identity_audit`` (``hamming`` or
    ``mmseqs2``), ``mutations`` (per split: count -> sequences), ``hamming_to_train`` (per
    held-out split: distance -> sequences), ``test_span`` and the ``summary`` phrase."""
    table = join_splits(df, splits)
    nearest, muts = variant_nearest(table, str(detection["consensus"]), ref[1])
    equal = bool(detection["equal_lengths"])
    if equal or not use_mmseqs:
        report = leakage.audit(table, splits, identity_threshold, use_mmseqs=False)
        report["warnings"] = [w for w in report["warnings"]
                              if not w.startswith("NOTE: identity audit skipped")]
        _fill_identity(report, nearest)
    else:
        found = leakage.nearest_train_identity(table, splits, workdir, threads, coverage)
        report = leakage.audit(table, splits, identity_threshold, workdir, threads,
                               coverage=coverage, tolerance=1.0, nearest=found)
        nearest = found.merge(nearest[["id", "hamming", "mutations"]], on="id", how="left")
    report["leak"] = bool(report["duplicates"]["heldout_with_train_copy"])
    test = nearest[nearest["split"] == "test"]
    block = {**detection, "reference": ref[0], "reference_sequence": ref[1],
             "identity_audit": "hamming" if equal else "mmseqs2" if use_mmseqs else "none",
             "mutations": {s: _counts(pd.Series(muts[(table["split"] == s).to_numpy()]))
                           for s in SPLITS},
             "hamming_to_train": {s: _counts(nearest.loc[nearest["split"] == s, "hamming"])
                                  for s in SPLITS[1:]},
             "test_span": {"mutations": _span(test["mutations"]),
                           "hamming": _span(test["hamming"].astype("Float64"))}}
    note, block["summary"] = summary_lines(block)
    report["variants"] = block
    report["warnings"].insert(0, note)
    return report, nearest


__all__ = ["audit_library", "summary_lines", "variant_nearest"]
