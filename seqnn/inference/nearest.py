"""The applicability domain of a model: how close new sequences are to what it was trained
on (``seqnn predict --nearest``), measured with the leakage audit's MMseqs2 alignments.

The training sequences' MMseqs2 database is built once and kept in the model folder,
``<model>/nearest_db/`` (:data:`NEAREST_DB`), with ``stamp.json``: a hash of the training
sequences (as read, after the input policy), the MMseqs2 version and a format number. A
folder whose stamp differs (``train_sequences.fa`` replaced, another MMseqs2) is rebuilt.
The build is atomic: it goes to a temporary folder beside it, renamed into place once
complete, so an interrupted or concurrent ``predict`` never sees half a database. When the
model folder is not writable the database goes to a temporary folder of the process, removed
when it ends.

Search (:func:`~seqnn.split.mmseqs.align`, the audit's alignment flags): every pair is
aligned (``--prefilter-mode 2``, as the split and audit) while a chunk's queries x training
residues stay under :data:`~seqnn.split.mmseqs.EXHAUSTIVE_MAX_CELLS` (peptides, small sets);
beyond that the k-mer prefilter at ``-s`` :data:`NEAREST_SENSITIVITY` (``--max-seqs 300``).
The prefilter's cost grows with the query residues times the similar k-mers it lists per
position, steeply with ``-s``: at the audit's ``-s 5.7`` it costs about 25 ms per protein
(the check took ~20x the prediction), at ``-s 1`` about 2 ms. It can miss distant homologues
the exhaustive search finds (more at ``-s 1`` than at the audit's ``-s``): their
``nearest_identity`` is then 0 or a lower hit's identity, so the error is on the side of
flagging ``extrapolating``. A hit found keeps the identity the exhaustive search gives it.
``NearestTrain(..., sensitivity=AUDIT_SENSITIVITY)`` searches as the large-data audit does.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import weakref
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.fasta import read_fasta
from ..errors import SeqnnInputError
from ..layout import TRAIN_SEQUENCES
from ..split.mmseqs import (
    EXHAUSTIVE_MAX_CELLS,
    align,
    createdb,
    find_mmseqs,
    mmseqs_version,
)

#: folder of the model directory keeping the training sequences' MMseqs2 database
NEAREST_DB = "nearest_db"
#: k-mer prefilter sensitivity (``-s``) of the check beyond the exhaustive search's size
NEAREST_SENSITIVITY = 1.0
_STAMP = "stamp.json"
_DB = "train"
_FORMAT = 1


def _stamp(seqs: list[str]) -> dict:
    """What the database was built from: hash of ``seqs``, MMseqs2 version, format."""
    digest = hashlib.sha256()
    for s in seqs:
        digest.update(s.encode())
        digest.update(b"\n")
    return {"format": _FORMAT, "sequences": len(seqs), "sha256": digest.hexdigest(),
            "mmseqs": mmseqs_version()}


def _valid(folder: Path, stamp: dict) -> bool:
    """``folder`` holds a complete database built from what ``stamp`` describes."""
    try:
        return json.loads((folder / _STAMP).read_text()) == stamp and (folder / _DB).is_file()
    except (OSError, ValueError):
        return False


def _build(folder: Path, seqs: list[str], stamp: dict) -> None:
    """Write the database and, last, its stamp into the existing ``folder``."""
    createdb(seqs, folder / _DB)
    (folder / _STAMP).write_text(json.dumps(stamp, indent=1) + "\n")


class NearestTrain:
    """Highest identity of query sequences to the training sequences a model directory keeps
    in ``train_sequences.fa`` (MMseqs2, the leakage audit's alignment flags), searched in the
    database kept in ``<model>/nearest_db/`` (built at the first use, see the module)."""

    def __init__(self, model_dir: str | os.PathLike, policy: str = "map", threads: int = 1,
                 *, sensitivity: float = NEAREST_SENSITIVITY):
        path = Path(model_dir) / TRAIN_SEQUENCES
        if not path.is_file():
            raise SeqnnInputError(path, "missing: --nearest needs the training sequences the "
                                  "train command keeps in the model directory")
        find_mmseqs()
        records = read_fasta(path, policy=policy, check_nucleotide=False)
        self.train = [r.sequence for r in records]
        self.train_set = set(self.train)
        self.threads = threads
        self.sensitivity = sensitivity
        self._scratch: tempfile.TemporaryDirectory | None = None
        self.db_dir = self._database(Path(model_dir))

    def _database(self, model_dir: Path) -> Path:
        """The folder holding a current database: ``<model>/nearest_db`` (reused, or built
        atomically), else a temporary folder of this process when the model folder is
        read-only."""
        stamp = _stamp(self.train)
        final = model_dir / NEAREST_DB
        if _valid(final, stamp):
            return final
        try:
            tmp = Path(tempfile.mkdtemp(prefix=f".{NEAREST_DB}.", dir=model_dir))
        except OSError:  # read-only model folder: a database of this process only
            self._scratch = tempfile.TemporaryDirectory(prefix="seqnn_nearest_")
            _build(Path(self._scratch.name), self.train, stamp)
            return Path(self._scratch.name)
        try:
            _build(tmp, self.train, stamp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if final.exists() or final.is_symlink():  # stale: move aside, then replace
            old = Path(tempfile.mkdtemp(prefix=f".{NEAREST_DB}.old.", dir=model_dir))
            with contextlib.suppress(OSError):  # gone meanwhile: another process replaced it
                os.replace(final, old / NEAREST_DB)
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.rename(tmp, final)
        except OSError:  # another process renamed its copy first
            if _valid(final, stamp):
                shutil.rmtree(tmp, ignore_errors=True)
                return final
            weakref.finalize(self, shutil.rmtree, tmp, True)  # ours, for this process only
            return tmp
        return final

    def identity(self, seqs: list[str]) -> np.ndarray:
        """``(N,)`` ``float64`` best identity (``nident / alnlen``; 0 without a hit, 1 for an
        identical training copy) of each of ``seqs``."""
        cells = float(sum(map(len, seqs))) * float(sum(map(len, self.train)))
        sensitivity = None if cells <= EXHAUSTIVE_MAX_CELLS else self.sensitivity
        hits = align(seqs, self.train, None, self.threads, coverage=0.8, evalue=10.0,
                     sensitivity=sensitivity, target_db=self.db_dir / _DB)
        best = hits.groupby("query")["identity"].max() if len(hits) else pd.Series(dtype=float)
        out = best.reindex(np.arange(len(seqs))).fillna(0.0).to_numpy(dtype=float, copy=True)
        copies = np.fromiter((s in self.train_set for s in seqs), bool, len(seqs))
        out[copies] = 1.0
        return out


__all__ = ["NEAREST_DB", "NEAREST_SENSITIVITY", "NearestTrain"]
