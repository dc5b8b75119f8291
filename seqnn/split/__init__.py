"""Splitting a sequences table and auditing the split for leakage.

``mmseqs`` (finding and running MMseqs2: the one definition of similar sequences),
``methods`` (random, stratified, given and cluster splits, cluster folds), ``leakage`` (exact
duplicates and each held-out sequence's nearest training identity) and ``stage`` (the
``seqnn split`` / ``seqnn audit`` steps from files). Imports ``data`` and below; no torch.
"""

from __future__ import annotations

from .leakage import audit, exact_duplicates, nearest_train_identity
from .methods import (
    SPLITS,
    cluster_sequences,
    kfold_clusters,
    split_cluster,
    split_given,
    split_random,
    split_stratified,
    split_summary,
)
from .mmseqs import MMseqsNotFound, align, find_mmseqs

__all__ = [
    "SPLITS", "MMseqsNotFound", "align", "audit", "cluster_sequences", "exact_duplicates",
    "find_mmseqs", "kfold_clusters", "nearest_train_identity", "split_cluster", "split_given",
    "split_random", "split_stratified", "split_summary",
]
