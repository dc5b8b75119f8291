"""The applicability domain of a model: how close new sequences are to what it was trained
on (``seqnn predict --nearest``), measured with the leakage audit's MMseqs2 alignments.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.fasta import read_fasta
from ..errors import SeqnnInputError
from ..layout import TRAIN_SEQUENCES
from ..split.mmseqs import align, find_mmseqs


class NearestTrain:
    """Highest identity of query sequences to the training sequences a model directory keeps
    in ``train_sequences.fa`` (MMseqs2, the leakage audit's alignment flags)."""

    def __init__(self, model_dir: str | os.PathLike, policy: str = "map", threads: int = 1):
        path = Path(model_dir) / TRAIN_SEQUENCES
        if not path.is_file():
            raise SeqnnInputError(path, "missing: --nearest needs the training sequences the "
                                  "train command keeps in the model directory")
        find_mmseqs()
        records = read_fasta(path, policy=policy, check_nucleotide=False)
        self.train = [r.sequence for r in records]
        self.train_set = set(self.train)
        self.threads = threads

    def identity(self, seqs: list[str]) -> np.ndarray:
        """``(N,)`` ``float64`` best identity (``nident / alnlen``; 0 without a hit, 1 for an
        identical training copy) of each of ``seqs``."""
        hits = align(seqs, self.train, None, self.threads, coverage=0.8, evalue=10.0)
        best = hits.groupby("query")["identity"].max() if len(hits) else pd.Series(dtype=float)
        out = best.reindex(np.arange(len(seqs))).fillna(0.0).to_numpy(dtype=float, copy=True)
        copies = np.fromiter((s in self.train_set for s in seqs), bool, len(seqs))
        out[copies] = 1.0
        return out


__all__ = ["NearestTrain"]
