"""Generated sequences judged against real ones, next to three baselines (no torch).

Every set (the generator's and each baseline's) is scored by :func:`score_set`:

* ``validity``: share made of the 20 standard residues only with a length inside the training
  range; ``uniqueness``: distinct sequences / all;
* ``novelty``: exact copies of a training sequence, and the identity of each sequence to its
  nearest training sequence by MMseqs2 (:func:`seqnn.split.mmseqs.align`, the audit's flags:
  coverage 0.8 of both, E-value <= 10; no hit = 0): the mean, and the shares at >= 0.7 and
  >= 0.9 identity. ``memorisation`` is flagged when the share at >= 0.9 exceeds that of the
  held-out real sequences by more than :data:`MEMORISATION_MARGIN` (real peptides have close
  training relatives too: that share is the yardstick, not zero);
* ``distribution``: Jensen–Shannon divergences (bits) of length, residue and dipeptide
  profiles against the held-out real sequences (:mod:`seqnn.data.profiles`);
* ``diversity``: alignment-free, on a sample of :data:`DIVERSITY_SAMPLE`: the mean pairwise
  Jaccard similarity of 3-mer sets, and the mean over sequences of the most similar other
  sequence (mode collapse drives both up), each beside the same numbers of the real sequences;
* ``frechet``: the Fréchet distance between embeddings of the set and of the held-out real
  sequences, when the caller passes embeddings (which model embedded them is the caller's to
  say);
* ``classifier``: the share a classifier calls the positive class, when the caller passes it.

Baselines (:func:`baselines`): residues drawn at the training composition with lengths drawn
from the training lengths (``composition``), a first-order Markov chain fitted on the training
sequences with lengths drawn likewise (``markov``), and training sequences with their residues
shuffled (``shuffled``). A generator that does not beat them has shown nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..data.alphabet import STANDARD
from ..data.profiles import profile_distances

BASELINES = ("composition", "markov", "shuffled")
DIVERSITY_SAMPLE = 300
KMER = 3
MEMORISATION_MARGIN = 0.05
IDENTITY_LEVELS = (0.7, 0.9)
#: added to every residue / transition count of the baselines (unseen ones stay possible)
PSEUDOCOUNT = 0.01
#: ``nearest(queries, targets) -> identity per query`` (the MMseqs2 search by default)
Nearest = Callable[[list[str], list[str]], np.ndarray]
_VALID = set(STANDARD)


def _residues(seqs: Sequence[str]) -> np.ndarray:
    idx = {c: i for i, c in enumerate(STANDARD)}
    return np.array([idx[c] for s in seqs for c in s if c in idx], dtype=np.int64)


def baselines(train: Sequence[str], n: int, seed: int = 0) -> dict[str, list[str]]:
    """``n`` sequences from each baseline (module doc), fitted on ``train``, seeded;
    counts get :data:`PSEUDOCOUNT`."""
    rng = np.random.default_rng(seed)
    letters = np.array(list(STANDARD))
    lengths = rng.choice(np.fromiter(map(len, train), np.int64), size=n)
    comp = np.bincount(_residues(train), minlength=20) + PSEUDOCOUNT
    comp /= comp.sum()
    composition = ["".join(rng.choice(letters, size=k, p=comp)) for k in lengths]
    start = np.bincount(_residues([s[:1] for s in train]), minlength=20) + PSEUDOCOUNT
    trans = np.full((20, 20), PSEUDOCOUNT)
    for s in train:
        ids = _residues([s])
        np.add.at(trans, (ids[:-1], ids[1:]), 1.0)
    trans /= trans.sum(1, keepdims=True)
    cum = np.cumsum(trans, 1)
    markov = []
    for k in lengths:
        ids = [rng.choice(20, p=start / start.sum())]
        for u in rng.random(k - 1):
            ids.append(min(int(np.searchsorted(cum[ids[-1]], u)), 19))
        markov.append("".join(letters[ids]))
    picks = rng.integers(0, len(train), size=n)
    shuffled = ["".join(rng.permutation(list(train[i]))) for i in picks]
    return {"composition": composition, "markov": markov, "shuffled": shuffled}


def mmseqs_nearest(threads: int = 1, workdir: str | None = None) -> Nearest:
    """Nearest-training identity per query by MMseqs2 (the audit's flags; no hit = 0)."""

    def nearest(queries: list[str], targets: list[str]) -> np.ndarray:
        from ..split.mmseqs import align

        hits = align(queries, targets, workdir, threads, 0.8, 10.0)
        best = np.zeros(len(queries))
        if len(hits):
            top = hits.groupby("query")["identity"].max()
            best[top.index.to_numpy(dtype=np.int64)] = top.to_numpy()
        known = set(targets)  # an identical copy counts as 1.0 whatever its E-value
        return np.where([q in known for q in queries], 1.0, best)

    return nearest


def _kmers(seq: str) -> frozenset[str]:
    return frozenset(seq[i : i + KMER] for i in range(max(len(seq) - KMER + 1, 0)))


def diversity(seqs: Sequence[str], seed: int = 0) -> dict[str, float]:
    """Mean pairwise and mean nearest-other 3-mer Jaccard similarity on a seeded sample."""
    rng = np.random.default_rng(seed)
    pick = list(seqs) if len(seqs) <= DIVERSITY_SAMPLE else [
        seqs[i] for i in rng.choice(len(seqs), DIVERSITY_SAMPLE, replace=False)]
    sets = [_kmers(s) for s in pick]
    n = len(sets)
    if n < 2:
        return {"mean_pairwise_jaccard": math.nan, "mean_nearest_jaccard": math.nan}
    sim = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            union = len(sets[i] | sets[j])
            sim[i, j] = sim[j, i] = len(sets[i] & sets[j]) / union if union else 1.0
    np.fill_diagonal(sim, np.nan)
    return {"mean_pairwise_jaccard": float(np.nanmean(sim)),
            "mean_nearest_jaccard": float(np.nanmean(np.nanmax(sim, 1)))}


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to embeddings ``a`` ``(N, D)`` and ``b``."""
    from scipy import linalg

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) < 2 or len(b) < 2:
        return math.nan
    mu, cov_a, cov_b = a.mean(0) - b.mean(0), np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(np.atleast_2d(cov_a) @ np.atleast_2d(cov_b))
    root = root.real if np.iscomplexobj(root) else root
    value = mu @ mu + np.trace(np.atleast_2d(cov_a) + np.atleast_2d(cov_b) - 2 * root)
    return float(value) if value > 0 else 0.0  # rounding: a tiny negative for equal sets


def _novelty(seqs: list[str], train: list[str], nearest: Nearest | None) -> dict[str, Any]:
    known = set(train)
    out: dict[str, Any] = {"exact_copies": float(np.mean([s in known for s in seqs]))
                           if seqs else math.nan}
    if nearest is None or not seqs:
        return out
    ident = nearest(seqs, train)
    out["mean_nearest_identity"] = float(ident.mean())
    for level in IDENTITY_LEVELS:
        out[f"share_ge_{round(level * 100)}"] = float((ident >= level).mean())
    return out


def score_set(seqs: Sequence[str], train: Sequence[str], reference: Sequence[str],
              max_len: int, nearest: Nearest | None = None, seed: int = 0) -> dict[str, Any]:
    """Every label-free metric of one set of sequences (module doc)."""
    seqs, train = list(seqs), list(train)
    lo, hi = min(map(len, train)), max(map(len, train))
    valid = [set(s) <= _VALID and lo <= len(s) <= hi for s in seqs]
    return {
        "n": len(seqs),
        "validity": float(np.mean(valid)) if seqs else math.nan,
        "uniqueness": len(set(seqs)) / len(seqs) if seqs else math.nan,
        "novelty": _novelty(seqs, train, nearest),
        "distribution": profile_distances(seqs, list(reference), max_len),
        "diversity": diversity(seqs, seed),
    }


def evaluate_generation(
    generated: Sequence[str], train: Sequence[str], reference: Sequence[str], *,
    nearest: Nearest | None = None, seed: int = 0,
    embed: Callable[[list[str]], np.ndarray] | None = None,
    classify: Callable[[list[str]], np.ndarray] | None = None,
) -> dict[str, Any]:
    """Score ``generated``, the three baselines (as many sequences, fitted on ``train``) and
    the held-out ``reference`` itself; ``embed``/``classify`` (sequences -> embeddings /
    positive-class probabilities) add the Fréchet distance and the classifier's share."""
    max_len = max(map(len, [*train, *reference]))
    sets = {"generator": list(generated), **baselines(list(train), len(generated), seed),
            "reference": list(reference)}
    scores = {k: score_set(v, train, reference, max_len, nearest, seed) for k, v in sets.items()}
    if embed is not None:
        ref = embed(list(reference))
        for k, v in sets.items():
            scores[k]["frechet"] = frechet_distance(embed(v), ref) if v else math.nan
    if classify is not None:
        for k, v in sets.items():
            scores[k]["classifier_positive"] = float((classify(v) >= 0.5).mean()) if v else math.nan
    ref_high = scores["reference"]["novelty"].get("share_ge_90")
    for k in sets:
        high = scores[k]["novelty"].get("share_ge_90")
        scores[k]["memorisation"] = (None if high is None or ref_high is None
                                     else bool(high > ref_high + MEMORISATION_MARGIN))
    return {"sets": scores, "n_train": len(train), "n_reference": len(reference), "seed": seed}


__all__ = ["BASELINES", "baselines", "diversity", "evaluate_generation", "frechet_distance",
           "mmseqs_nearest", "score_set"]
