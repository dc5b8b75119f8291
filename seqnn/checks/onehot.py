"""The one-hot ridge shortcut of fixed-length variant libraries (deep mutational scans).

When every sequence of a regression dataset has the same length, as in a library of
variants of one parent, the linear model such data are usually compared with is a ridge
regression on the flattened one-hot encoding: one weight per (position, residue), i.e. an
additive model of single-site effects. :func:`onehot_features` builds that encoding as a
sparse ``(N, L * 21)`` matrix (one non-zero per residue, so memory grows with residues);
the baseline is a plain :class:`~sklearn.linear_model.Ridge` (no scaling: a rare
substitution should not get a large standardised feature) with ``alpha`` chosen on the
validation split from :data:`ONEHOT_ALPHA_GRID` like the other shortcuts
(:mod:`seqnn.checks.baselines`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import Ridge

from ..data.alphabet import N_CHANNELS
from ..data.encoding import tokenize

ONEHOT_RIDGE = "onehot_ridge"
ONEHOT_ALPHA_GRID = (1000.0, 100.0, 10.0, 1.0, 0.1, 0.01)  # strongest regularisation first


def fixed_length(seqs: Sequence[str]) -> bool:
    """True when there are sequences and every one has the same length."""
    lengths = {len(s) for s in seqs}
    return len(lengths) == 1 and 0 not in lengths


def onehot_features(seqs: Sequence[str]) -> csr_matrix:
    """Sparse ``(N, L * 21)`` float64 one-hot of equal-length sequences, column
    ``position * 21 + channel`` (channels: the 20 standard residues, then X)."""
    if not fixed_length(seqs):
        raise ValueError("onehot_features needs sequences of one length")
    tokens, offsets = tokenize(seqs)
    n, length = len(offsets) - 1, len(seqs[0])
    cols = np.tile(np.arange(length) * N_CHANNELS, n) + tokens.astype(np.int64) - 1
    rows = np.repeat(np.arange(n), length)
    return csr_matrix((np.ones(n * length), (rows, cols)), shape=(n, length * N_CHANNELS))


def onehot_candidates() -> list[tuple[dict, Ridge]]:
    """(params, unfitted Ridge) pairs of the one-hot ridge's ``alpha`` grid."""
    return [({"alpha": a}, Ridge(alpha=a)) for a in ONEHOT_ALPHA_GRID]


def with_onehot(baselines: Sequence[str], task: str, seqs: Sequence[str]) -> list[str]:
    """``baselines`` plus the one-hot ridge for a regression task on one sequence length."""
    names = list(baselines)
    if task == "regression" and ONEHOT_RIDGE not in names and fixed_length(seqs):
        names.append(ONEHOT_RIDGE)
    return names


__all__ = ["ONEHOT_ALPHA_GRID", "ONEHOT_RIDGE", "fixed_length", "onehot_candidates",
           "onehot_features", "with_onehot"]
