"""Distribution profiles of a set of sequences and distances between two sets (no torch).

A profile is a histogram: lengths (1..``max_len``, longer ones in the last bin), residue
composition (20 standard residues, pooled over every residue of the set) and dipeptide
composition (400 ordered pairs of adjacent standard residues, pooled). Sets are compared with
the Jensen–Shannon divergence in bits (0 = same distribution, 1 = disjoint supports).

Used by the generative models' validation criterion (:mod:`seqnn.models.gan`) and by the
evaluation of generated sequences (:mod:`seqnn.checks.generation`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .alphabet import STANDARD, TOKEN_LUT

#: the profiles compared by :func:`profile_distances`
PROFILES = ("length", "residue", "dipeptide")


def _tokens(seq: str) -> np.ndarray:
    """Standard residues as 0..19 (anything else as -1)."""
    ids = TOKEN_LUT[np.frombuffer(seq.upper().encode("ascii", "replace"), dtype=np.uint8)]
    ids = ids.astype(np.int64) - 1
    return np.where(ids < len(STANDARD), ids, -1)


def length_histogram(seqs: Sequence[str], max_len: int) -> np.ndarray:
    """Counts of lengths ``1..max_len`` (index ``length - 1``; longer in the last bin):
    ``(max_len,)`` float64."""
    lengths = np.clip(np.fromiter(map(len, seqs), np.int64, len(seqs)), 1, max_len)
    return np.bincount(lengths - 1, minlength=max_len).astype(np.float64)


def residue_counts(seqs: Sequence[str]) -> np.ndarray:
    """Pooled counts of the 20 standard residues (``STANDARD`` order): ``(20,)`` float64."""
    ids = _tokens("".join(seqs))
    return np.bincount(ids[ids >= 0], minlength=20).astype(np.float64)


def dipeptide_counts(seqs: Sequence[str]) -> np.ndarray:
    """Pooled counts of adjacent standard-residue pairs ``a*20 + b``: ``(400,)`` float64."""
    total = np.zeros(400, dtype=np.float64)
    if not seqs:
        return total
    ids = _tokens("|".join(seqs))  # the separator breaks pairs across sequences
    ok = (ids[:-1] >= 0) & (ids[1:] >= 0)
    pairs = ids[:-1][ok] * 20 + ids[1:][ok]
    return total + np.bincount(pairs, minlength=400)


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen–Shannon divergence (bits, in [0, 1]) of two histograms (normalised here);
    NaN when either is empty."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.sum() <= 0 or q.sum() <= 0:
        return float("nan")
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        nz = a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / m[nz])))

    return float(min(max((kl(p) + kl(q)) / 2, 0.0), 1.0))


def profile_distances(a: Sequence[str], b: Sequence[str], max_len: int) -> dict[str, float]:
    """JS divergence of the length, residue and dipeptide profiles of sets ``a`` and ``b``:
    ``{"length": ..., "residue": ..., "dipeptide": ...}``."""
    return {
        "length": js_divergence(length_histogram(a, max_len), length_histogram(b, max_len)),
        "residue": js_divergence(residue_counts(a), residue_counts(b)),
        "dipeptide": js_divergence(dipeptide_counts(a), dipeptide_counts(b)),
    }


__all__ = ["PROFILES", "dipeptide_counts", "js_divergence", "length_histogram",
           "profile_distances", "residue_counts"]
