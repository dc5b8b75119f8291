"""Batches for training and inference: a ``Dataset`` over ragged tokens, a length-bucketed
batch sampler, and a collate that pads each batch to a rounded width of its longest sequence.

Batch layout (what :class:`PadCollate` returns, right-padded with the pad id 0):

* ``x`` ``(N, L)`` ``int64`` token ids, ``L`` = :func:`batch_width` of the longest (cropped)
  sequence in the batch: rounded up to a multiple of an eighth of its power of two (at
  least 8, at most ``max_len``), so that batches come in a few dozen widths instead of one
  per length -- the allocator and oneDNN then reuse their blocks and primitives instead of
  piling up one set per width (measured in benchmarks/README.md, "Every step at proteome
  scale"). Every model ignores padding.
* ``mask`` ``(N, L)`` bool, True at real residues;
* ``lengths`` ``(N,)`` ``int64`` (after cropping to ``max_len``);
* ``y`` ``(N,)`` ``int64`` class index, ``(N,)`` ``float32`` value, ``(N, K)`` ``float32``
  0/1 multi-label targets, or ``None`` without labels;
* ``index`` ``(N,)`` ``int64`` positions of the records in the dataset.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ..config import DEFAULT_MAX_LEN, TRUNCATE_MODES
from ..data.encoding import EncodedDataset, crop, over_length, too_long

Item = tuple[torch.Tensor, int, Any, int]


@dataclass
class Rows:
    """Several records fetched at once (:meth:`SequenceDataset.__getitems__`): their
    uncropped tokens concatenated (``tokens``), ``lengths``, ``labels`` (``None`` without)
    and dataset ``index``; :class:`PadCollate` pads them without a Python loop per record."""

    tokens: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray | None
    index: np.ndarray


def _segments(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Positions ``starts[i] .. starts[i] + lengths[i] - 1`` of every segment, concatenated."""
    firsts = np.cumsum(lengths) - lengths
    return np.repeat(starts - firsts, lengths) + np.arange(int(lengths.sum()), dtype=np.int64)


class SequenceDataset(Dataset):
    """Records of an :class:`~seqnn.data.encoding.EncodedDataset` as
    ``(tokens, length, label, index)``.

    ``tokens`` is the record's uncropped ``(L_i,)`` ``int64`` token row, ``length`` its length,
    ``label`` the class index (int), value (float) or ``None``; ``index`` the record position.
    """

    def __init__(self, ds: EncodedDataset):
        self.ds = ds

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i: int) -> Item:
        tokens = self.ds.row(i)
        row = torch.from_numpy(np.asarray(tokens, dtype=np.int64))
        label = None if self.ds.labels is None else self.ds.labels[i]
        label = label if label is None or np.ndim(label) else label.item()  # multi-label: a row
        return row, len(tokens), label, int(i)

    def __getitems__(self, indices: Sequence[int]) -> Rows:
        """The records ``indices`` as one :class:`Rows` (what a ``DataLoader`` with a batch
        sampler asks for: one gather instead of one call per record)."""
        idx = np.asarray(indices, dtype=np.int64)
        offsets = np.asarray(self.ds.offsets, dtype=np.int64)
        lengths = offsets[idx + 1] - offsets[idx]
        # where each record begins in tokens (a view of a mapped store keeps its own starts)
        starts = np.asarray(self.ds.record_starts(), dtype=np.int64)[idx]
        labels = None if self.ds.labels is None else np.asarray(self.ds.labels)[idx]
        return Rows(np.asarray(self.ds.tokens)[_segments(starts, lengths)], lengths, labels, idx)


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of similar-length records, so per-batch padding stays small.

    With ``shuffle``: the records are permuted, cut into chunks of
    ``batch_size * bucket_size_multiplier``, sorted by length inside each chunk (ties keep the
    random order), cut into batches, and the batch order is shuffled. The permutation comes
    from ``numpy.random.default_rng([seed, epoch])``, so ``(seed, epoch)`` is the whole state:
    call :meth:`set_epoch` before each epoch. Without ``shuffle`` all records are sorted by
    length once (for fast inference; use the returned ``index`` to restore the order), and
    ``max_residues`` (inference only) also caps each batch's padded size, ``records x
    longest``, at that many residues (at least one record a batch), so short sequences come
    in large batches and long ones in small: the work per batch stays about the same.
    Every index appears exactly once per epoch; without ``max_residues`` there are
    ``ceil(N / batch_size)`` batches.
    """

    def __init__(
        self,
        lengths: Sequence[int] | np.ndarray,
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        bucket_size_multiplier: int = 50,
        max_residues: int | None = None,
    ):
        if batch_size < 1 or bucket_size_multiplier < 1:
            raise ValueError("batch_size and bucket_size_multiplier must be >= 1")
        if max_residues is not None and (shuffle or max_residues < 1):
            raise ValueError("max_residues needs shuffle=False and a value >= 1")
        self.max_residues = max_residues
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.bucket_size_multiplier = int(bucket_size_multiplier)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the permutation of ``epoch`` (0-based)."""
        self.epoch = int(epoch)

    def state_dict(self) -> dict[str, int]:
        """``{"seed": ..., "epoch": ...}`` -- everything needed to replay the batches."""
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Restore the state from :meth:`state_dict`."""
        self.seed, self.epoch = int(state["seed"]), int(state["epoch"])

    def __len__(self) -> int:
        if self.max_residues is not None:
            return len(self._bounds()) - 1
        return math.ceil(len(self.lengths) / self.batch_size)

    def _bounds(self) -> list[int]:
        """Batch boundaries in length order under ``max_residues`` and ``batch_size``."""
        longest = np.sort(self.lengths, kind="stable")
        bounds, start, n = [0], 0, len(longest)
        while start < n:
            # records start..end-1 fit when (end - start) * longest[end - 1] <= budget
            fits = np.arange(1, min(self.batch_size, n - start) + 1)
            ok = fits * np.maximum(longest[start : start + len(fits)], 1) <= self.max_residues
            take = max(1, int(ok.sum()))  # ok is True then False: the products only grow
            start += take
            bounds.append(start)
        return bounds

    def __iter__(self) -> Iterator[list[int]]:
        bs = self.batch_size
        if not self.shuffle:
            order = np.argsort(self.lengths, kind="stable")
            if self.max_residues is not None:
                bounds = self._bounds()
                yield from (order[a:b].tolist() for a, b in zip(bounds, bounds[1:], strict=False))
                return
            yield from (order[i : i + bs].tolist() for i in range(0, len(order), bs))
            return
        rng = np.random.default_rng([self.seed, self.epoch])
        perm = rng.permutation(len(self.lengths))
        chunk = bs * self.bucket_size_multiplier
        batches: list[np.ndarray] = []
        for c in range(0, len(perm), chunk):
            part = perm[c : c + chunk]
            part = part[np.argsort(self.lengths[part], kind="stable")]
            batches.extend(part[i : i + bs] for i in range(0, len(part), bs))
        for b in rng.permutation(len(batches)):
            yield batches[b].tolist()


class PadCollate:
    """Collate :class:`SequenceDataset` items into a padded batch (layout in the module doc).

    Rows longer than ``max_len`` are cut by :func:`seqnn.data.encoding.crop` with mode ``truncate``
    (``"error"`` refuses them). The batch is padded to :func:`batch_width` of its longest
    row, or to ``pad_to`` when given (only for benchmarks: pads every batch to one fixed width).
    """

    def __init__(self, max_len: int, truncate: str = "ends", pad_to: int | None = None):
        if truncate not in TRUNCATE_MODES:
            raise ValueError(f"truncate must be one of {TRUNCATE_MODES}, got {truncate!r}")
        self.max_len = int(max_len)
        self.truncate = truncate
        self.pad_to = pad_to

    def _crop(self, row: torch.Tensor, index: int) -> torch.Tensor:
        if len(row) <= self.max_len:
            return row
        if self.truncate == "error":
            raise ValueError(f"record #{index + 1}: {too_long(len(row), self.max_len)}")
        return torch.from_numpy(crop(row.numpy(), self.max_len, self.truncate))

    def _width(self, longest: int) -> int:
        return batch_width(longest, self.max_len) if self.pad_to is None else int(self.pad_to)

    def _rows(self, rows: Rows) -> dict[str, torch.Tensor | None]:
        """:meth:`__call__` for records fetched at once, the same tensors."""
        lengths, n = rows.lengths, len(rows.lengths)
        kept = np.minimum(lengths, self.max_len)
        firsts = np.cumsum(lengths) - lengths
        src = _segments(firsts, kept)
        for i in np.flatnonzero(lengths > self.max_len).tolist():
            if self.truncate == "error":
                raise ValueError(f"record #{int(rows.index[i]) + 1}: "
                                 f"{too_long(int(lengths[i]), self.max_len)}")
            at = int(np.sum(kept[:i]))
            whole = np.arange(firsts[i], firsts[i] + lengths[i], dtype=np.int64)
            src[at : at + self.max_len] = crop(whole, self.max_len, self.truncate)
        width = self._width(int(kept.max(initial=0)))
        x = np.zeros((n, width), dtype=np.int64)
        x[np.repeat(np.arange(n), kept), _segments(np.zeros(n, np.int64), kept)] = \
            rows.tokens[src]
        lengths_t = torch.from_numpy(kept.astype(np.int64))
        y: torch.Tensor | None = None
        if rows.labels is not None and n:
            dtype = np.float32 if rows.labels.dtype.kind == "f" else np.int64
            y = torch.from_numpy(rows.labels.astype(dtype))
        return {"x": torch.from_numpy(x),
                "mask": torch.arange(width)[None, :] < lengths_t[:, None],
                "lengths": lengths_t, "y": y,
                "index": torch.from_numpy(rows.index.astype(np.int64))}

    def __call__(self, items: Sequence[Item] | Rows) -> dict[str, torch.Tensor | None]:
        if isinstance(items, Rows):
            return self._rows(items)
        rows = [self._crop(row, index) for row, _, _, index in items]
        lengths = torch.tensor([len(r) for r in rows], dtype=torch.int64)
        width = self._width(int(lengths.max()) if len(rows) else 0)
        x = torch.zeros((len(rows), width), dtype=torch.int64)
        for i, r in enumerate(rows):
            x[i, : len(r)] = r
        mask = torch.arange(width)[None, :] < lengths[:, None]
        labels = [item[2] for item in items]
        y: torch.Tensor | None = None
        if labels and isinstance(labels[0], np.ndarray):  # multi-label (K,) 0/1 rows
            y = torch.from_numpy(np.stack(labels).astype(np.float32))
        elif labels and labels[0] is not None:
            dtype = torch.float32 if isinstance(labels[0], float) else torch.int64
            y = torch.tensor(labels, dtype=dtype)
        index = torch.tensor([item[3] for item in items], dtype=torch.int64)
        return {"x": x, "mask": mask, "lengths": lengths, "y": y, "index": index}


def batch_width(longest: int, max_len: int) -> int:
    """The padded width of a batch whose longest row has ``longest`` tokens (module doc):
    ``longest`` rounded up to a multiple of ``max(8, 2**floor(log2(longest)) // 8)``, at most
    ``max(max_len, longest)`` -- under 12.5 % more positions beyond 64."""
    if longest <= 0:
        return 0
    step = max(8, (1 << (longest.bit_length() - 1)) // 8)
    return max(longest, min(-(-longest // step) * step, max_len))


def check_lengths(ds: EncodedDataset, max_len: int, truncate: str) -> None:
    """With ``truncate='error'``, raise ``ValueError`` naming the first record over ``max_len``."""
    if truncate != "error":
        return
    i = over_length(ds.lengths, max_len)
    if i is not None:
        raise ValueError(f"record {str(ds.ids[i])!r}: {too_long(int(ds.lengths[i]), max_len)}")


def make_loader(
    ds: EncodedDataset,
    *,
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
    max_len: int = DEFAULT_MAX_LEN,
    truncate: str = "ends",
    num_workers: int = 0,
    pin_memory: bool = False,
    pad_to_max: bool = False,
    bucket_size_multiplier: int = 50,
    max_residues: int | None = None,
) -> tuple[DataLoader, BucketBatchSampler]:
    """A ``DataLoader`` with a :class:`BucketBatchSampler` and :class:`PadCollate`.

    Returns ``(loader, sampler)``; call ``sampler.set_epoch(e)`` before each epoch.
    ``pad_to_max=True`` pads every batch to ``min(longest record, max_len)`` and exists only
    for the benchmark that compares it with per-batch padding. ``max_residues`` (inference,
    ``shuffle=False``) caps each batch's padded residues (:class:`BucketBatchSampler`),
    counting lengths after cutting to ``max_len``.
    """
    check_lengths(ds, max_len, truncate)
    lengths = ds.lengths if max_residues is None else np.minimum(ds.lengths, max_len)
    sampler = BucketBatchSampler(lengths, batch_size, shuffle, seed, bucket_size_multiplier,
                                 max_residues)
    pad_to = min(int(ds.lengths.max(initial=1)), max_len) if pad_to_max else None
    loader = DataLoader(
        SequenceDataset(ds),
        batch_sampler=sampler,
        collate_fn=PadCollate(max_len, truncate, pad_to),
        num_workers=num_workers,
        pin_memory=pin_memory,
    )
    return loader, sampler


def dataset_hash(ds: EncodedDataset) -> str:
    """SHA-256 hex digest of a dataset's tokens, offsets and labels (ids are not included).

    The tokens are read block by block (a mapped store is never read whole), in record
    order, so a view of a mapped store hashes like the same records in memory."""
    h = hashlib.sha256()
    residues = int(ds.offsets[-1]) if len(ds.offsets) else 0
    h.update(f"{np.dtype(np.uint8).str}{(residues,)}".encode())
    for block in ds.chunks():
        h.update(np.ascontiguousarray(block, dtype=np.uint8).tobytes())
    for arr in (ds.offsets, ds.labels):
        if arr is not None:
            a = np.ascontiguousarray(arr)
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(a.tobytes())
    return h.hexdigest()


__all__ = [
    "Rows",
    "SequenceDataset",
    "BucketBatchSampler",
    "PadCollate",
    "batch_width",
    "check_lengths",
    "make_loader",
    "dataset_hash",
]
