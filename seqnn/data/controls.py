"""The data transforms of the honesty controls, pure numpy on an
:class:`~seqnn.data.encoding.EncodedDataset`: shuffled labels (the label-permutation
control) and shuffled residues (the residue-shuffle control).

Training applies them (:func:`seqnn.training.job.apply_control`); the checks read what the
control runs scored (:mod:`seqnn.checks.controls`).
"""

from __future__ import annotations

import numpy as np

from .ragged import CHUNK_RECORDS, EncodedDataset


def permute_labels(ds: EncodedDataset, seed: int = 0) -> EncodedDataset:
    """A copy of ``ds`` with its labels shuffled (same label counts, links destroyed).

    The workflow's permutation control permutes the training and the validation labels, so
    that early stopping sees no real label either (see :func:`seqnn.training.job.apply_control`).
    """
    if ds.labels is None:
        raise ValueError("the permutation control needs labels")
    rng = np.random.default_rng(seed)
    return EncodedDataset(ds.tokens, ds.offsets, ds.ids, rng.permutation(ds.labels), ds.task,
                          list(ds.class_names), ds.label_separator, ds.starts)


def shuffle_residues(ds: EncodedDataset, seed: int = 0) -> EncodedDataset:
    """A copy of ``ds`` whose residues are shuffled within each sequence.

    Length and composition of every sequence stay the same; residue order is destroyed.
    Vectorised: one random key per residue, then a stable sort by (sequence, key), block by
    block of records (:meth:`~seqnn.data.ragged.EncodedDataset.chunks`), so the temporary
    keys never span the whole dataset; the result holds its shuffled tokens in memory.
    """
    rng = np.random.default_rng(seed)
    offsets = np.asarray(ds.offsets)
    out = np.empty(int(offsets[-1]), dtype=np.uint8)
    for k, block in enumerate(ds.chunks(CHUNK_RECORDS)):
        a = k * CHUNK_RECORDS
        lengths = ds.lengths[a : a + CHUNK_RECORDS]
        row = np.repeat(np.arange(len(lengths)), lengths)
        order = np.lexsort((rng.random(block.size), row))
        out[offsets[a] : offsets[a] + block.size] = block[order]
    return EncodedDataset(out, offsets.copy(), ds.ids, ds.labels, ds.task,
                          list(ds.class_names), ds.label_separator)
