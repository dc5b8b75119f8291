"""scikit-learn style encoders: sequences -> tokens, one-hot, BLOSUM62, composition.

They follow scikit-learn's estimator rules (``__init__`` only stores parameters, learned
state ends in ``_``, ``fit`` returns ``self``) and work with ``clone``, ``get_params`` /
``set_params`` and ``Pipeline``. Importable as ``from seqnn.encode import OneHotEncoder``
(re-exported lazily) or from this module.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from .alphabet import N_CHANNELS
from .encoding import (
    aa_composition,
    blosum62_table,
    decode_padded,
    dipeptide_composition,
    one_hot_tokens,
    pad_tokens,
    tokenize,
)


def _as_list(X: Iterable[str] | np.ndarray) -> list[str]:
    if isinstance(X, str | bytes):
        raise TypeError("expected a list of sequences, got a single string; "
                        "pass [seq] to encode one sequence")
    if isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[1] == 1:
        X = X[:, 0]
    return [str(s) for s in X]


class TokenEncoder(TransformerMixin, BaseEstimator):
    """Sequences -> padded tokens ``(N, L)`` ``uint8``; ``fit`` learns ``max_len_`` if unset.

    ``truncate`` (default ``'ends'``, as training) and ``policy`` (default ``'map'``, as
    ``seqnn predict``) follow :func:`~seqnn.data.encoding.one_hot`.
    """

    def __init__(self, max_len: int | None = None, pad: str = "right", truncate: str = "ends",
                 policy: str = "map"):
        self.max_len = max_len
        self.pad = pad
        self.truncate = truncate
        self.policy = policy

    def fit(self, X: Iterable[str], y: object = None) -> TokenEncoder:
        """Learn ``max_len_`` (the longest training sequence unless ``max_len`` is set)."""
        seqs = _as_list(X)
        self.max_len_ = int(self.max_len or max((len(s) for s in seqs), default=1))
        return self

    def transform(self, X: Iterable[str]) -> np.ndarray:
        """Padded ``(N, L)`` tokens, ``L = max_len_``."""
        tokens, offsets = tokenize(_as_list(X), policy=self.policy)
        return pad_tokens(tokens, offsets, self.max_len_, self.pad, self.truncate)[0]

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        """Padded tokens back to sequence strings (truncated parts are lost)."""
        return np.array(decode_padded(X), dtype=object)


class _FeatureEncoder(TokenEncoder):
    """Per-residue features; ``flatten=True`` gives ``(N, 21 * L)`` for scikit-learn models,
    else ``(N, 21, L)`` ``float32``."""

    def __init__(
        self,
        max_len: int | None = None,
        pad: str = "right",
        truncate: str = "ends",
        flatten: bool = True,
        policy: str = "map",
    ):
        super().__init__(max_len=max_len, pad=pad, truncate=truncate, policy=policy)
        self.flatten = flatten


class OneHotEncoder(_FeatureEncoder):
    """Sequences -> one-hot. ``flatten=True`` gives ``(N, 21 * L)`` for scikit-learn models,
    else ``(N, 21, L)`` ``float32``."""

    def transform(self, X: Iterable[str]) -> np.ndarray:
        """One-hot features (see class docstring for the shape)."""
        onehot = one_hot_tokens(super().transform(X))
        return onehot.reshape(len(onehot), -1) if self.flatten else onehot

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        """One-hot (flat or ``(N, C, L)``) back to sequence strings."""
        X = np.asarray(X).reshape(len(X), N_CHANNELS, -1)
        padded = np.where(X.sum(axis=1) > 0, X.argmax(axis=1) + 1, 0).astype(np.uint8)
        return super().inverse_transform(padded)


class Blosum62Encoder(_FeatureEncoder):
    """Sequences -> BLOSUM62 rows per residue (scaled by 1/4), ``(N, 21 * L)`` or
    ``(N, 21, L)``."""

    def fit(self, X: Iterable[str], y: object = None) -> Blosum62Encoder:
        """Learn ``max_len_`` and load the BLOSUM62 table into ``table_``."""
        super().fit(X, y)
        self.table_ = blosum62_table()
        return self

    def transform(self, X: Iterable[str]) -> np.ndarray:
        """BLOSUM62 features; padded positions are zero columns."""
        feats = np.ascontiguousarray(self.table_[super().transform(X)].transpose(0, 2, 1))
        return feats.reshape(len(feats), -1) if self.flatten else feats

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        """BLOSUM62 features back to strings: each column is matched to the nearest table row
        (every residue's row is distinct; the all-zero pad row marks padding)."""
        feats = np.asarray(X, dtype=np.float32).reshape(len(X), N_CHANNELS, -1)
        dist = ((feats[:, None, :, :] - self.table_[:, :, None][None]) ** 2).sum(axis=2)
        return super().inverse_transform(dist.argmin(axis=1).astype(np.uint8))


class CompositionEncoder(TransformerMixin, BaseEstimator):
    """Sequences -> composition features: any of ``'aa'`` (21), ``'dipeptide'`` (400),
    ``'length'`` (log length), concatenated in the order given."""

    def __init__(self, features: tuple[str, ...] = ("aa",)):
        self.features = features

    def fit(self, X: Iterable[str], y: object = None) -> CompositionEncoder:
        """Validate ``features``; nothing is learned from the data."""
        unknown = set(self.features) - {"aa", "dipeptide", "length"}
        if unknown:
            raise ValueError(f"unknown composition features {sorted(unknown)}")
        sizes = {"aa": 21, "dipeptide": 400, "length": 1}
        self.n_features_out_ = sum(sizes[f] for f in self.features)
        return self

    def transform(self, X: Iterable[str]) -> np.ndarray:
        """``(N, F)`` ``float32`` composition features."""
        seqs = _as_list(X)
        parts = []
        for f in self.features:
            if f == "aa":
                parts.append(aa_composition(seqs))
            elif f == "dipeptide":
                parts.append(dipeptide_composition(seqs))
            else:
                parts.append(np.log([[max(len(s), 1)] for s in seqs]).astype(np.float32))
        return np.concatenate(parts, axis=1) if parts else np.zeros((len(seqs), 0), np.float32)
