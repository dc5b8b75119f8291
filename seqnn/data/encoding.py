"""Sequences -> tokens -> one-hot / BLOSUM62 / composition features; the ragged dataset.

Layouts used everywhere in seqnn:

* ragged tokens: one flat ``uint8`` array of all residues plus ``int64`` offsets of shape
  ``(N + 1,)``; sequence ``i`` is ``tokens[offsets[i]:offsets[i + 1]]``;
* padded tokens ``(N, L)`` ``uint8`` with pad id 0;
* one-hot ``(N, C, L)`` ``float32`` with ``C = 21`` (20 residues + X); a padded position is
  an all-zero column;
* mask ``(N, L)`` bool, True at real residues; lengths ``(N,)`` ``int64``.

Tokenising is vectorised over the concatenated input with a byte lookup table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..config import TRUNCATE_MODES
from ..errors import PolicyError
from .alphabet import (
    ID_TO_LETTER,
    N_CHANNELS,
    N_TOKENS,
    TOKEN_TABLE,
    UNKNOWN_ID,
    Substitutions,
    check_policy,
    clean,
)
from .labelsets import label_names, multi_hot
from .ragged import EncodedDataset
from .store import load_encoded, save_encoded

PAD_MODES = ("right", "left", "center")


def tokenize(
    seqs: Sequence[str], ids: Sequence[str] | None = None, policy: str = "map",
    subs: Substitutions | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Turn sequences into ragged tokens under the alphabet ``policy``.

    Returns ``(tokens, offsets)``: a flat ``uint8`` array of every residue's token id and
    ``int64`` offsets of shape ``(N + 1,)``. ``policy='map'`` (the default, as ``seqnn
    predict``) upper-cases lowercase, maps U->C, O->K, B/Z/J->X and drops one trailing ``*``
    (counted into ``subs`` when given); ``policy='strict'`` accepts only the 20 residues and
    X (see :func:`seqnn.data.alphabet.clean`). A character the policy does not allow raises
    :class:`~seqnn.errors.PolicyError` naming the record (from ``ids``) and position. A
    plain string is refused with ``TypeError``: pass a list, ``[seq]``, for one sequence.
    """
    _check_not_str(seqs)
    seqs = list(seqs)
    check_policy(policy)
    try:
        return _tokenize_clean(seqs, ids)
    except PolicyError:
        pass  # clean() applies the policy and names what it refuses
    names = ids if ids is not None else [f"#{i + 1}" for i in range(len(seqs))]
    cleaned = [clean(s, str(n), policy, subs=subs) for s, n in zip(seqs, names, strict=True)]
    return _tokenize_clean(cleaned, ids)


def _check_not_str(seqs: object) -> None:
    if isinstance(seqs, str | bytes):
        raise TypeError("expected a list of sequences, got a single string; "
                        "pass [seq] to encode one sequence")


def _tokenize_clean(
    seqs: list[str], ids: Sequence[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`tokenize` for sequences that already follow the policy (the fast path)."""
    seqs = list(seqs)
    lengths = np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs))
    offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    joined = "".join(seqs).encode("latin-1", errors="replace")
    tokens = np.frombuffer(joined.translate(TOKEN_TABLE), dtype=np.uint8)
    bad = np.flatnonzero(tokens == 255) if tokens.size and tokens.max() == 255 else ()
    if len(bad):
        pos = int(bad[0])
        i = int(np.searchsorted(offsets, pos, side="right") - 1)
        record = ids[i] if ids is not None else f"#{i + 1}"
        char = seqs[i][pos - offsets[i]]
        raise PolicyError(str(record), f"invalid character {char!r}", int(pos - offsets[i] + 1))
    if lengths.size and lengths.min() == 0:
        i = int(np.argmin(lengths))
        raise PolicyError(str(ids[i] if ids is not None else f"#{i + 1}"), "empty sequence")
    return tokens, offsets


def over_length(lengths: Sequence[int] | np.ndarray, max_len: int) -> int | None:
    """Position of the first of ``lengths`` over ``max_len``, or ``None`` when none is: the
    one over-length check (the callers name the record and the file in their own words)."""
    over = np.flatnonzero(np.asarray(lengths, dtype=np.int64) > int(max_len))
    return int(over[0]) if over.size else None


def too_long(length: int, max_len: int, limit: str = "max_len") -> str:
    """The reason for refusing a sequence over the length limit: ``length 12 exceeds
    max_len 10`` (``limit`` names the limit, e.g. "the model's max_len")."""
    return f"length {length} exceeds {limit} {max_len}"


def crop(row: np.ndarray, max_len: int, mode: str = "ends") -> np.ndarray:
    """Cut one sequence's tokens to at most ``max_len`` by the truncation rule ``mode``.

    ``right`` keeps the N-terminal ``max_len`` residues, ``left`` the C-terminal ones,
    ``center`` the middle, and ``ends`` (seqnn's default for long proteins) keeps the first
    ``max_len // 2`` and the last ``max_len - max_len // 2`` residues, joined, so that both
    terminal signals (signal peptides, anchors, targeting motifs) survive.
    """
    length = len(row)
    if length <= max_len:
        return row
    if mode == "right":
        return row[:max_len]
    if mode == "left":
        return row[length - max_len :]
    if mode == "center":
        start = (length - max_len) // 2
        return row[start : start + max_len]
    if mode == "ends":
        head = max_len // 2
        return np.concatenate([row[:head], row[length - (max_len - head) :]])
    raise ValueError(f"truncate must be one of {TRUNCATE_MODES}, got {mode!r}")


def pad_tokens(
    tokens: np.ndarray,
    offsets: np.ndarray,
    max_len: int | None = None,
    pad: str = "right",
    truncate: str = "ends",
    ids: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pad ragged tokens into a dense ``(N, L)`` ``uint8`` array and its ``(N, L)`` mask.

    ``L`` is ``max_len`` or the longest sequence. Sequences longer than ``max_len`` are cut
    by :func:`crop` (``truncate='ends'``, the default as in training, keeps both termini;
    ``'right'`` the start, ``'left'`` the end, ``'center'`` the middle) or raise
    ``ValueError`` with ``truncate='error'``.
    ``pad`` places the padding.
    """
    if pad not in PAD_MODES:
        raise ValueError(f"pad must be one of {PAD_MODES}, got {pad!r}")
    if truncate not in TRUNCATE_MODES:
        raise ValueError(f"truncate must be one of {TRUNCATE_MODES}, got {truncate!r}")
    lengths = np.diff(offsets)
    n = len(lengths)
    width = int(lengths.max(initial=0)) if max_len is None else int(max_len)
    out = np.zeros((n, width), dtype=np.uint8)
    mask = np.zeros((n, width), dtype=bool)
    if truncate == "error" and (i := over_length(lengths, width)) is not None:
        name = ids[i] if ids is not None else f"#{i + 1}"
        raise ValueError(f"record {name!r}: {too_long(int(lengths[i]), width)}")
    for i in range(n):
        row = crop(tokens[offsets[i] : offsets[i + 1]], width, truncate)
        kept = len(row)
        left = 0 if pad == "right" else (width - kept if pad == "left" else (width - kept) // 2)
        out[i, left : left + kept] = row
        mask[i, left : left + kept] = True
    return out, mask


def padding_mask(lengths: Sequence[int] | np.ndarray, max_len: int | None = None) -> np.ndarray:
    """Boolean ``(N, L)`` mask, True at the first ``lengths[n]`` positions (right padding)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    width = int(lengths.max(initial=0)) if max_len is None else int(max_len)
    return np.arange(width)[None, :] < lengths[:, None]


def one_hot_tokens(padded: np.ndarray) -> np.ndarray:
    """One-hot ``(N, C, L)`` ``float32`` (C = 21) from padded ``(N, L)`` tokens; pad -> zeros."""
    return np.ascontiguousarray(onehot_table()[padded].transpose(0, 2, 1))


def onehot_table() -> np.ndarray:
    """``(22, 21)`` ``float32``: row ``t`` is token ``t``'s one-hot vector; the pad row is zero."""
    table = np.zeros((N_TOKENS, N_CHANNELS), dtype=np.float32)
    table[1:, :] = np.eye(N_CHANNELS, dtype=np.float32)
    return table


def one_hot_with_mask(
    seqs: Sequence[str],
    max_len: int | None = None,
    pad: str = "right",
    truncate: str = "ends",
    policy: str = "map",
) -> tuple[np.ndarray, np.ndarray]:
    """One-hot ``(N, 21, L)`` ``float32`` and its ``(N, L)`` bool mask in one call (the
    arguments as in :func:`one_hot`)."""
    tokens, offsets = tokenize(seqs, policy=policy)
    padded, mask = pad_tokens(tokens, offsets, max_len, pad, truncate)
    return one_hot_tokens(padded), mask


def one_hot(
    seqs: Sequence[str],
    max_len: int | None = None,
    pad: str = "right",
    truncate: str = "ends",
    policy: str = "map",
) -> np.ndarray:
    """One-hot encode a list of sequences to ``float32`` ``(N, 21, L)``; padded columns are
    all zero. ``L`` is ``max_len`` or the longest sequence; longer sequences are cut by
    ``truncate`` (default ``'ends'``, as training and prediction do). ``policy`` is the
    alphabet policy (default ``'map'``, as ``seqnn predict``; see :func:`tokenize`); a plain
    string raises ``TypeError`` (pass ``[seq]``).

    >>> one_hot(["ACD", "W"], max_len=4).shape
    (2, 21, 4)
    """
    return one_hot_with_mask(seqs, max_len, pad, truncate, policy)[0]


def decode_padded(padded: np.ndarray) -> list[str]:
    """Padded ``(N, L)`` tokens back to strings (pad positions are dropped)."""
    return [ID_TO_LETTER[row[row > 0]].tobytes().decode() for row in np.asarray(padded)]


def blosum62_table() -> np.ndarray:
    """``(22, 21)`` ``float32``: row ``t`` is token ``t``'s BLOSUM62 scores against the 20
    residues and X, divided by 4; the pad row (0) is all zero."""
    from Bio.Align import substitution_matrices

    matrix = substitution_matrices.load("BLOSUM62")
    letters = "ACDEFGHIKLMNPQRSTVWYX"
    table = np.zeros((N_TOKENS, len(letters)), dtype=np.float32)
    for i, a in enumerate(letters, start=1):
        table[i] = [matrix[a][b] for b in letters]
    return table / 4.0


# ----------------------------------------------------------------------------- composition

def aa_composition(seqs: Sequence[str], policy: str = "map") -> np.ndarray:
    """Amino-acid composition ``(N, 21)`` ``float32``: fraction of each residue and X
    (sequences under the alphabet ``policy``, see :func:`tokenize`)."""
    tokens, offsets = tokenize(seqs, policy=policy)
    n = len(offsets) - 1
    row = np.repeat(np.arange(n), np.diff(offsets))
    counts = np.zeros((n, N_TOKENS), dtype=np.float64)
    np.add.at(counts, (row, tokens), 1.0)
    lengths = np.maximum(np.diff(offsets), 1)[:, None]
    return (counts[:, 1:] / lengths).astype(np.float32)


def dipeptide_composition(seqs: Sequence[str], policy: str = "map") -> np.ndarray:
    """Dipeptide composition ``(N, 400)`` ``float32`` over the 20 standard residues.

    Fractions of each ordered pair among a sequence's overlapping pairs of standard residues
    (pairs touching X are not counted; each row sums to 1, or is all zero when there is no
    such pair). ``"AAC"`` gives AA = AC = 1/2. Pairs never cross sequence boundaries.
    ``policy`` as in :func:`tokenize`.
    """
    tokens, offsets = tokenize(seqs, policy=policy)
    n = len(offsets) - 1
    owner = np.repeat(np.arange(n), np.diff(offsets))
    t = tokens.astype(np.int64)
    ok = (owner[:-1] == owner[1:]) & (t[:-1] <= 20) & (t[1:] <= 20)
    pair = (t[:-1][ok] - 1) * 20 + (t[1:][ok] - 1)
    counts = np.bincount(owner[:-1][ok] * 400 + pair, minlength=n * 400).reshape(n, 400)
    total = counts.sum(axis=1, keepdims=True)
    return (counts / np.maximum(total, 1)).astype(np.float32)


# ----------------------------------------------------------------------------- ragged datasets

def label_codes(
    labels: Sequence[object] | None, task: str, class_names: Sequence[str] | None = None,
) -> tuple[np.ndarray | None, list[str]]:
    """``(y, class_names)`` for ``labels``: ``int64`` class indices (classification; order
    ``class_names``, default sorted), ``float32`` values (regression), ``(N, K)``
    ``float32`` 0/1 (multi-label: label sets, :mod:`seqnn.data.labelsets`; order
    ``class_names``, default sorted) or ``None``."""
    y = None
    names: list[str] = []
    if labels is not None and task in ("binary", "multiclass"):
        str_labels = [str(v) for v in labels]
        names = list(class_names) if class_names else sorted(set(str_labels))
        lookup = {name: i for i, name in enumerate(names)}
        missing = sorted(set(str_labels) - set(lookup))
        if missing:
            raise ValueError(f"labels {missing} are not among the class names {names}")
        y = np.fromiter((lookup[v] for v in str_labels), dtype=np.int64, count=len(str_labels))
    elif labels is not None and task == "multilabel":
        sets = [str(v) for v in labels]
        names = list(class_names) if class_names else label_names(sets)
        y = multi_hot(sets, names)
    elif labels is not None and task == "regression":
        y = np.asarray(labels, dtype=np.float32)
    return y, names


def encode_table(
    ids: Sequence[str],
    seqs: Sequence[str],
    labels: Sequence[object] | None = None,
    task: str = "unsupervised",
    class_names: Sequence[str] | None = None,
    label_separator: str = ";",
) -> EncodedDataset:
    """Tokenise a table of ids, clean sequences and labels into an :class:`EncodedDataset`.

    Classification labels are names; ``class_names`` fixes their order (default: sorted).
    Multi-label labels are canonical label sets (``A;B``, :mod:`seqnn.data.labelsets`);
    ``class_names`` then orders the labels and ``label_separator`` is kept for output.
    """
    tokens, offsets = tokenize(seqs, ids, policy="strict")
    y, names = label_codes(labels, task, class_names)
    return EncodedDataset(tokens, offsets, np.asarray(list(ids), dtype=str), y, task, names,
                          label_separator)


__all__ = [
    "UNKNOWN_ID",
    "tokenize",
    "crop",
    "pad_tokens",
    "padding_mask",
    "one_hot",
    "one_hot_with_mask",
    "one_hot_tokens",
    "onehot_table",
    "blosum62_table",
    "decode_padded",
    "aa_composition",
    "dipeptide_composition",
    "EncodedDataset",
    "encode_table",
    "label_codes",
    "save_encoded",
    "load_encoded",
    "over_length",
    "too_long",
]
