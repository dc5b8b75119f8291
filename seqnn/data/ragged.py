"""The ragged dataset: every residue of every sequence in one flat ``uint8`` array.

``tokens`` flat ``uint8``; ``offsets`` ``(N + 1,)`` ``int64``, the running sum of the
``(N,)`` lengths; record ``i`` is ``tokens[offsets[i]:offsets[i + 1]]``. A dataset read from
disk (:func:`seqnn.data.store.load_encoded`) holds ``tokens`` as a read-only memory map, and
its subsets are *views*: they keep the whole mapped ``tokens`` and list where each record
starts in ``starts`` ``(N,)`` ``int64`` (record ``i`` is ``tokens[starts[i]:starts[i] +
lengths[i]]``), so splitting a proteome into train/valid/test copies no residue. Code that
reads records goes through :meth:`EncodedDataset.row` (or :meth:`~EncodedDataset.chunks`),
which handles both forms.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from .alphabet import ID_TO_LETTER

#: records per block when reading a dataset's tokens block by block
CHUNK_RECORDS = 65_536


@dataclass
class EncodedDataset:
    """A tokenised dataset in ragged form.

    ``tokens`` flat ``uint8``; ``offsets`` ``(N + 1,)`` ``int64``; ``ids`` ``(N,)`` str;
    ``labels`` ``(N,)``: class index ``int64`` (classification; names in ``class_names``),
    ``float32`` (regression) or absent; multi-label: ``(N, K)`` ``float32`` 0/1, one column
    per label in ``class_names``; ``task``: binary | multiclass | multilabel | regression |
    unsupervised; ``label_separator`` (multi-label) joins a predicted label set for output;
    ``starts`` ``(N,)`` ``int64`` or ``None``: where each record begins in
    ``tokens`` when the records are not stored one after another (a view of a mapped store).
    """

    tokens: np.ndarray
    offsets: np.ndarray
    ids: np.ndarray
    labels: np.ndarray | None = None
    task: str = "unsupervised"
    class_names: list[str] = field(default_factory=list)
    label_separator: str = ";"
    starts: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        """``(N,)`` ``int64`` sequence lengths."""
        return np.diff(self.offsets)

    @property
    def mapped(self) -> bool:
        """True when the tokens are a memory map of a store on disk (or a view of one)."""
        return self.starts is not None or isinstance(self.tokens, np.memmap)

    def record_starts(self) -> np.ndarray:
        """``(N,)`` ``int64``: where each record begins in :attr:`tokens`."""
        return self.offsets[:-1] if self.starts is None else self.starts

    def row(self, i: int) -> np.ndarray:
        """The ``(L_i,)`` ``uint8`` tokens of record ``i`` (a view, never a copy)."""
        if self.starts is None:
            return self.tokens[self.offsets[i] : self.offsets[i + 1]]
        start = int(self.starts[i])
        return self.tokens[start : start + int(self.offsets[i + 1] - self.offsets[i])]

    def chunks(self, size: int = CHUNK_RECORDS) -> Iterator[np.ndarray]:
        """The tokens of records ``0..N-1`` in order, concatenated ``size`` records at a
        time: what a writer or a hash reads without holding every residue at once."""
        for a in range(0, len(self), size):
            b = min(a + size, len(self))
            if self.starts is None:
                yield np.asarray(self.tokens[self.offsets[a] : self.offsets[b]])
            else:
                yield _gather(self.tokens, self.starts[a:b], self.lengths[a:b])

    def sequence(self, i: int) -> str:
        """The residue string of record ``i``."""
        return ID_TO_LETTER[self.row(i)].tobytes().decode()

    def subset(self, index: np.ndarray) -> EncodedDataset:
        """A new dataset holding records ``index`` (in that order).

        In memory the tokens are copied into a new contiguous array; for a mapped dataset
        the subset is a view (:attr:`starts`), so no residue is read until a batch needs it.
        """
        index = np.asarray(index)
        index = np.flatnonzero(index) if index.dtype == bool else index.astype(np.int64)
        lengths = self.lengths[index]
        offsets = np.zeros(len(index) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        starts = np.asarray(self.record_starts()[index], dtype=np.int64)
        view = EncodedDataset(
            tokens=self.tokens,
            offsets=offsets,
            ids=np.asarray(self.ids[index]),
            labels=None if self.labels is None else np.asarray(self.labels[index]),
            task=self.task,
            class_names=list(self.class_names),
            label_separator=self.label_separator,
            starts=starts,
        )
        return view if self.mapped else view.compact()

    def compact(self) -> EncodedDataset:
        """The same records with their tokens copied into one contiguous in-memory array."""
        parts = list(self.chunks())
        tokens = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint8)
        return EncodedDataset(tokens, np.asarray(self.offsets).copy(), self.ids, self.labels,
                              self.task, list(self.class_names), self.label_separator)


def _gather(tokens: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The rows ``tokens[starts[k]:starts[k] + lengths[k]]`` concatenated, vectorised."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=tokens.dtype)
    begin = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=begin[1:])
    pos = np.arange(total, dtype=np.int64) + np.repeat(starts - begin, lengths)
    return np.asarray(tokens[pos])


__all__ = ["EncodedDataset", "CHUNK_RECORDS"]
