"""Label sets of a multi-label task (``task: multilabel``): parsing, counts, multi-hot.

A protein carries one or more labels, written in one field separated by the dataset's
``label_separator`` (default ``;``), e.g. ``Cytoplasm;Membrane``. Ingest turns every field
into the canonical form kept in ``sequences.tsv``: names stripped, empty names dropped,
each name once, sorted, joined by :data:`SEPARATOR` (``;``), so that every later stage
(split, encode, baselines, report) reads label sets the same way whatever the input's
separator. A record without any label is refused (it would be neither positive nor
negative knowingly). Pure Python/numpy.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import SeqnnInputError

#: the separator of label sets in ``sequences.tsv`` (the canonical form)
SEPARATOR = ";"


def split_label_set(value: object, sep: str = SEPARATOR) -> list[str]:
    """The sorted distinct non-empty label names of one field (``"B; A;;B"`` -> ``[A, B]``)."""
    if not sep:
        raise ValueError("label_separator must be a non-empty string")
    return sorted({part.strip() for part in str(value).split(sep) if part.strip()})


def canonical_label_sets(values: Iterable[object], ids: Sequence[str], sep: str,
                         path: str | os.PathLike) -> list[str]:
    """Every field of ``values`` in the canonical form (module doc); a record with no label
    or, when ``sep`` is not ``;``, a label name holding ``;`` raises
    :class:`~seqnn.errors.SeqnnInputError` naming ``path`` and the record."""
    out = []
    for value, rid in zip(values, ids, strict=True):
        names = split_label_set(value, sep)
        if not names:
            raise SeqnnInputError(path, f"no label in the label set {str(value)!r}", rid)
        bad = [n for n in names if SEPARATOR in n]
        if bad:
            raise SeqnnInputError(path, f"label {bad[0]!r} contains {SEPARATOR!r}, which "
                                  "seqnn uses between the labels of a set", rid)
        out.append(SEPARATOR.join(names))
    return out


def label_names(sets: Iterable[object]) -> list[str]:
    """The sorted distinct label names of canonical label sets: the default label order."""
    names: set[str] = set()
    for value in sets:
        names.update(split_label_set(value))
    return sorted(names)


def multi_hot(sets: Sequence[object], names: Sequence[str]) -> np.ndarray:
    """``(N, K)`` ``float32`` 0/1 matrix of canonical label sets, columns in ``names`` order;
    a label outside ``names`` raises ``ValueError`` naming it."""
    lookup = {str(n): j for j, n in enumerate(names)}
    out = np.zeros((len(sets), len(names)), dtype=np.float32)
    for i, value in enumerate(sets):
        for name in split_label_set(value):
            if name not in lookup:
                raise ValueError(f"label {name!r} is not one of the labels {list(names)}")
            out[i, lookup[name]] = 1.0
    return out


def join_label_sets(matrix: np.ndarray, names: Sequence[str], sep: str = SEPARATOR) -> list[str]:
    """The label set of every row of a 0/1 (or boolean) matrix, joined by ``sep`` (``""``
    for a row with no label)."""
    arr = np.asarray(matrix).astype(bool)
    return [sep.join(str(names[j]) for j in np.flatnonzero(row)) for row in arr]


def label_set_counts(sets: Sequence[object], top: int = 30) -> dict:
    """Counts of canonical label sets: ``n``, ``labels`` (proteins per label, sorted by
    name), ``labels_per_protein`` (how many proteins carry 1, 2, ... labels),
    ``label_sets`` (the ``top`` most common sets) and ``distinct_label_sets``."""
    per_label: Counter = Counter()
    per_size: Counter = Counter()
    per_set: Counter = Counter()
    for value in sets:
        names = split_label_set(value)
        per_label.update(names)
        per_size[len(names)] += 1
        per_set[SEPARATOR.join(names)] += 1
    return {
        "n": len(sets),
        "labels": dict(sorted(per_label.items())),
        "labels_per_protein": {str(k): v for k, v in sorted(per_size.items())},
        "label_sets": dict(per_set.most_common(top)),
        "distinct_label_sets": len(per_set),
    }


__all__ = ["SEPARATOR", "canonical_label_sets", "join_label_sets", "label_names",
           "label_set_counts", "multi_hot", "split_label_set"]
