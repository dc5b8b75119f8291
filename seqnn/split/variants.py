"""Variant libraries (deep mutational scans): detection, mutation counts, exact Hamming
distances and the split by mutation count.

In a variant library every sequence is a near-copy of one parent, so every held-out
sequence is >= 95 % identical to a training one and identity bins say nothing. Such data
are judged by *mutational distance* instead.

**Detection rule** (:func:`detect`, ``variants: auto``, the default):

1. ``L`` is the most common sequence length (ties: the shorter);
2. the *consensus* is, per position of the length-``L`` sequences, the most frequent
   residue (ties: the alphabetically first);
3. a sequence is *near the consensus* when it has length ``L`` and at most
   ``m = min(variant_max_mutations, ceil(0.2 * L))`` substitutions from it (default
   ``variant_max_mutations`` 10);
4. the data are a variant library when there are at least :data:`MIN_SEQUENCES` (10)
   sequences and at least ``variant_min_fraction`` (default 0.8) of *all* sequences are
   near the consensus.

Lengths are *equal* when every sequence has length ``L``, else *near-equal*.
``variants: true`` declares a library whatever the rule says, ``false`` never does.

**Mutations from the reference** (the consensus, or ``parent:``, a record id or a
sequence): the Hamming distance for a sequence of the reference's length, else the edit
distance (Levenshtein: substitutions, insertions and deletions count 1 each).

**Hamming distance to the nearest training variant**: exact, on ``(N, L)`` ``uint8``
matrices (residues are single ASCII letters after ingest, so the raw bytes serve as
tokens), in blocks of at most :data:`CHUNK_BYTES` so memory stays bounded whatever the
number of sequences. :func:`nearest_hamming_sparse` (what the audit uses) counts from each
variant's few substitutions from the consensus, so its work does not grow with ``L``;
:func:`nearest_hamming` compares every pair of rows byte by byte (the plain reference).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix

from ..data.tables import SPLITS
from ..errors import ConfigError
from .methods import _assign_groups, _check_table, _fractions, _table

MIN_SEQUENCES = 10
MAX_MUTATION_SHARE = 0.2
CHUNK_BYTES = 1 << 26  # 64 MiB of comparison results per block


def as_matrix(seqs: Sequence[str]) -> np.ndarray:
    """``(N, L)`` ``uint8`` matrix of equal-length ASCII sequences (one byte per residue)."""
    if not len(seqs):
        return np.zeros((0, 0), dtype=np.uint8)
    length = len(seqs[0])
    if any(len(s) != length for s in seqs):
        raise ValueError("as_matrix: the sequences differ in length")
    buf = "".join(seqs).encode("ascii")
    return np.frombuffer(buf, dtype=np.uint8).reshape(len(seqs), length)


def consensus(matrix: np.ndarray) -> str:
    """Most frequent residue per column of an ``(N, L)`` matrix (ties: alphabetical first)."""
    letters = np.unique(matrix)
    counts = np.stack([(matrix == c).sum(axis=0) for c in letters])  # (K, L)
    return letters[counts.argmax(axis=0)].tobytes().decode("ascii")


def hamming(matrix: np.ndarray, reference: str) -> np.ndarray:
    """``(N,)`` number of positions where each row differs from ``reference`` (same length)."""
    ref = np.frombuffer(reference.encode("ascii"), dtype=np.uint8)
    return np.count_nonzero(matrix != ref[None, :], axis=1).astype(np.int64)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (substitution, insertion, deletion: 1 each), one numpy row per
    residue of ``a``; insertions along the row by a running minimum."""
    y = np.frombuffer(b.encode("ascii"), dtype=np.uint8)
    steps = np.arange(len(y) + 1, dtype=np.int64)
    prev = steps.copy()
    for i, c in enumerate(a.encode("ascii"), 1):
        cur = np.empty_like(prev)
        cur[0] = i
        cur[1:] = np.minimum(prev[:-1] + (y != c), prev[1:] + 1)
        prev = np.minimum.accumulate(cur - steps) + steps
    return int(prev[-1])


def mutation_counts(seqs: Sequence[str], reference: str) -> np.ndarray:
    """``(N,)`` mutations of each sequence from ``reference``: Hamming distance for the
    reference's length, edit distance otherwise."""
    out = np.zeros(len(seqs), dtype=np.int64)
    same = np.fromiter((len(s) == len(reference) for s in seqs), dtype=bool, count=len(seqs))
    if same.any():
        out[same] = hamming(as_matrix([s for s, k in zip(seqs, same, strict=True) if k]),
                            reference)
    for i in np.flatnonzero(~same):
        out[i] = edit_distance(seqs[i], reference)
    return out


def nearest_hamming(query: np.ndarray, train: np.ndarray,
                    chunk_bytes: int = CHUNK_BYTES) -> tuple[np.ndarray, np.ndarray]:
    """Exact Hamming distance of each row of ``query`` ``(Nq, L)`` to its nearest row of
    ``train`` ``(Nt, L)`` and that row's index (ties: the first); -1 for both when ``train``
    is empty. Blocks of queries x training rows keep each comparison under ``chunk_bytes``."""
    nq, length = query.shape
    dist = np.full(nq, -1, dtype=np.int64)
    idx = np.full(nq, -1, dtype=np.int64)
    nt = train.shape[0]
    if nq == 0 or nt == 0:
        return dist, idx
    tb = int(min(nt, max(1, chunk_bytes // max(length, 1))))
    qb = int(max(1, chunk_bytes // (max(length, 1) * tb)))
    for q0 in range(0, nq, qb):
        q = query[q0:q0 + qb]
        best = np.full(len(q), np.iinfo(np.int64).max)
        where = np.zeros(len(q), dtype=np.int64)
        for t0 in range(0, nt, tb):
            d = np.count_nonzero(q[:, None, :] != train[None, t0:t0 + tb, :], axis=2)
            arg = d.argmin(axis=1)
            low = d[np.arange(len(q)), arg]
            better = low < best
            best[better], where[better] = low[better], arg[better] + t0
        dist[q0:q0 + qb], idx[q0:q0 + qb] = best, where
    return dist, idx


def _mutation_sets(matrix: np.ndarray, ref: np.ndarray) -> tuple[csr_matrix, csr_matrix,
                                                                  np.ndarray]:
    """Sparse sets of each row's substitutions from ``ref``: positions ``(N, L)``, position
    and residue ``(N, 256 L)``, and the set sizes ``(N,)``."""
    rows, cols = np.nonzero(matrix != ref[None, :])
    n, length = matrix.shape
    ones = np.ones(rows.size, dtype=np.int32)
    pos = csr_matrix((ones, (rows, cols)), shape=(n, length))
    res = csr_matrix((ones, (rows, cols * 256 + matrix[rows, cols])), shape=(n, 256 * length))
    return pos, res, np.bincount(rows, minlength=n).astype(np.int64)


def nearest_hamming_sparse(query: np.ndarray, train: np.ndarray, reference: str,
                           chunk_bytes: int = CHUNK_BYTES) -> tuple[np.ndarray, np.ndarray]:
    """As :func:`nearest_hamming` (same result, same ties), from each row's substitutions
    from ``reference``: ``d(a, b) = |Pa| + |Pb| - |Pa & Pb| - |Sa & Sb|`` with ``P`` the
    mutated positions and ``S`` the (position, residue) pairs, the intersections as sparse
    products. Work grows with shared mutated positions, not with ``L``: much faster when
    variants carry few mutations."""
    nq, nt = len(query), len(train)
    dist = np.full(nq, -1, dtype=np.int64)
    idx = np.full(nq, -1, dtype=np.int64)
    if nq == 0 or nt == 0:
        return dist, idx
    ref = np.frombuffer(reference.encode("ascii"), dtype=np.uint8)
    pq, sq, mq = _mutation_sets(query, ref)
    pt, st, mt = _mutation_sets(train, ref)
    pt_t, st_t = pt.T.tocsc(), st.T.tocsc()
    qb = int(max(1, chunk_bytes // (8 * nt)))
    for q0 in range(0, nq, qb):
        shared = (pq[q0:q0 + qb] @ pt_t).toarray() + (sq[q0:q0 + qb] @ st_t).toarray()
        d = mq[q0:q0 + qb, None] + mt[None, :] - shared
        arg = d.argmin(axis=1)
        dist[q0:q0 + qb], idx[q0:q0 + qb] = d[np.arange(len(d)), arg], arg
    return dist, idx


def parse_mode(mode: object) -> str | bool:
    """``variants:`` as ``"auto"``, ``True`` or ``False`` (also ``on``/``off``, ``yes``/``no``)."""
    if isinstance(mode, bool):
        return mode
    text = str(mode).strip().lower()
    if text == "auto":
        return "auto"
    if text in ("true", "on", "yes", "1"):
        return True
    if text in ("false", "off", "no", "0"):
        return False
    raise ConfigError(f"split.variants: {mode!r} is not auto, true or false")


def detect(seqs: Sequence[str], mode: object = "auto", max_mutations: int = 10,
           min_fraction: float = 0.8) -> dict:
    """Whether ``seqs`` form a variant library (module docstring rule), JSON-serialisable:
    ``is_variant_library``, ``mode``, ``rule_says`` (the rule's own answer), ``n``,
    ``length`` (L), ``equal_lengths``, ``fraction_length`` (share of length L),
    ``consensus``, ``max_mutations`` (m), ``fraction_near_consensus`` and ``rule``."""
    mode = parse_mode(mode)
    n = len(seqs)
    out: dict = {"is_variant_library": False, "mode": mode, "rule_says": False, "n": n,
                 "rule": f">= {MIN_SEQUENCES} sequences and >= {min_fraction:g} of them of the "
                         f"most common length L with <= min({max_mutations}, ceil(0.2 L)) "
                         "substitutions from the consensus"}
    if n == 0:
        return out
    lengths = np.fromiter(map(len, seqs), dtype=np.int64, count=n)
    values, counts = np.unique(lengths, return_counts=True)
    length = int(values[counts.argmax()])
    modal = [s for s, k in zip(seqs, lengths == length, strict=True) if k]
    matrix = as_matrix(modal)
    cons = consensus(matrix)
    limit = int(min(max_mutations, math.ceil(MAX_MUTATION_SHARE * length)))
    near = int((hamming(matrix, cons) <= limit).sum())
    says = n >= MIN_SEQUENCES and near / n >= min_fraction
    out.update(rule_says=bool(says), length=length, equal_lengths=bool(len(modal) == n),
               fraction_length=len(modal) / n, consensus=cons, max_mutations=limit,
               fraction_near_consensus=near / n,
               is_variant_library=bool(says if mode == "auto" else mode))
    return out


def reference(df: pd.DataFrame, parent: str | None, detection: dict) -> tuple[str, str]:
    """``(name, sequence)`` of the reference: ``parent`` as a record id of ``df`` or as a
    sequence of letters, else the consensus of ``detection``."""
    if parent is None:
        return "consensus", str(detection["consensus"])
    hit = df.loc[df["id"].astype(str) == str(parent), "sequence"]
    if len(hit):
        return f"parent {parent}", str(hit.iloc[0])
    text = str(parent).strip().upper()
    if text.isalpha() and text.isascii():
        return "parent sequence", text
    raise ConfigError(f"split.parent: {parent!r} is neither a record id nor a sequence")


def split_mutations(df: pd.DataFrame, max_train_mutations: int, parent: str | None = None,
                    fractions: Sequence[float] = (0.8, 0.1, 0.1),
                    seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """Split by mutation count: variants with <= ``max_train_mutations`` mutations from
    the reference (``parent`` or the consensus) are train or valid, the rest are test.

    Valid is carved from the train part, seeded, with the share ``f_valid / (f_train +
    f_valid)`` of ``fractions`` within every mutation count (so valid has train's profile),
    and at least one sequence when that share is > 0 and the train part has two or more.
    Returns the split table and a JSON-serialisable summary (reference, counts per split).
    An empty train, valid (when its share > 0) or test part raises :class:`ConfigError`.
    """
    _check_table(df)
    if max_train_mutations is None or int(max_train_mutations) < 0:
        raise ConfigError("split method 'mutations' needs max_train_mutations: an integer >= 0")
    k = int(max_train_mutations)
    f = _fractions(fractions)
    seqs = df["sequence"].astype(str).tolist()
    name, ref = reference(df, parent, detect(seqs, mode=True))
    counts = mutation_counts(seqs, ref)
    split = np.full(len(df), "test", dtype=object)
    inside = np.flatnonzero(counts <= k)
    share = f[1] / (f[0] + f[1])
    if len(inside):
        part = _assign_groups(inside, counts[inside], np.array([1 - share, share]), seed)
        if share > 0 and len(inside) > 1 and not part.any():  # a small part: one valid row
            part[np.random.default_rng(seed).integers(len(inside))] = 1
        split[inside] = np.array(["train", "valid"], dtype=object)[part]
    sizes = {s: int((split == s).sum()) for s in SPLITS}
    for s in SPLITS:
        if sizes[s] == 0 and not (s == "valid" and share == 0):
            raise ConfigError(
                f"split mutations: the {s} part is empty (max_train_mutations {k}; mutations "
                f"from the {name} range {int(counts.min())}..{int(counts.max())})")
    per_split = {s: {str(c): int(v) for c, v in sorted(
        pd.Series(counts[split == s]).value_counts().items())} for s in SPLITS}
    info = {"max_train_mutations": k, "reference": name, "reference_sequence": ref,
            "mutations_by_split": per_split}
    return _table(df, split, None), info


__all__ = ["CHUNK_BYTES", "MIN_SEQUENCES", "as_matrix", "consensus", "detect", "edit_distance",
           "hamming", "mutation_counts", "nearest_hamming", "nearest_hamming_sparse", "parse_mode",
           "reference", "split_mutations"]
