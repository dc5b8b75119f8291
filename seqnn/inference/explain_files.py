"""Streaming a FASTA file through :class:`~seqnn.inference.explain.Explainer` into a long
table (``seqnn explain``), one chunk at a time.

Output by extension:

* ``.tsv`` (or ``-``, standard output): for ``gradxinput`` / ``ig`` one row per residue,
  ``id, position, residue, score, target``; for ``ism`` one row per mutant,
  ``id, position, wt, mt, delta, target``. ``position`` is 1-based in the cleaned sequence.
* ``.npz``: ``ids`` ``(N,)``, ``targets`` ``(N,)``, ``offsets`` ``(N + 1,)`` ``int64`` into
  the per-residue arrays ``positions`` ``int64``, ``residues`` (one letter each) and
  ``scores`` ``float32``, ``truncated`` ``(N,)`` ``int64`` (residues the model did not see,
  which have no score); for ``ism`` also ``delta`` ``(R, 20)`` ``float32`` over
  ``alphabet`` (``ACDEFGHIKLMNPQRSTVWY``; 0 at the wild type). The arrays are held in
  memory until the end (4 bytes per residue, 84 with ``ism``).

Either is written to a temporary name and renamed when complete (no partial output).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from ..data.alphabet import STANDARD
from ..data.fasta import DEFAULT_CHUNK, SeenIds, iter_fasta_chunks, source_name
from ..data.files import STDOUT, atomic_path, check_output
from ..errors import SeqnnInputError
from .explain import DEFAULT_IG_STEPS, DEFAULT_ISM_MAX_LEN, Explainer, Explanation
from .predictor import Predictor

FORMATS = (".tsv", ".npz")


def explain_frame(items: list[Explanation], method: str) -> pd.DataFrame:
    """The long table (module doc) of some explanations."""
    if method != "ism":
        cols: dict[str, Any] = {
            "id": np.repeat([e.id for e in items], [len(e.seq) for e in items]),
            "position": np.concatenate([e.positions for e in items]) if items else [],
            "residue": [c for e in items for c in e.seq],
            "score": np.concatenate([e.scores for e in items]) if items else [],
            "target": np.repeat([e.target for e in items], [len(e.seq) for e in items]),
        }
        return pd.DataFrame(cols)
    rows: list[pd.DataFrame] = []
    letters = np.array(list(STANDARD))
    for e in items:
        wt = np.array(list(e.seq))
        pos_idx, mt_idx = np.nonzero(letters[None, :] != wt[:, None])
        rows.append(pd.DataFrame({
            "id": e.id, "position": e.positions[pos_idx], "wt": wt[pos_idx],
            "mt": letters[mt_idx], "delta": e.matrix[pos_idx, mt_idx], "target": e.target}))
    if not rows:
        return pd.DataFrame({c: [] for c in ("id", "position", "wt", "mt", "delta", "target")})
    return pd.concat(rows, ignore_index=True)


def _npz(items: list[Explanation], method: str) -> dict[str, np.ndarray]:
    lengths = np.array([len(e.seq) for e in items], np.int64)
    out = {
        "ids": np.array([e.id for e in items], dtype=str),
        "targets": np.array([e.target for e in items], dtype=str),
        "offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        "positions": np.concatenate([e.positions for e in items] or [np.zeros(0, np.int64)]),
        "residues": np.array([c for e in items for c in e.seq], dtype="<U1"),
        "scores": np.concatenate([e.scores for e in items] or [np.zeros(0, np.float32)]),
        "truncated": np.array([e.truncated for e in items], np.int64),
    }
    if method == "ism":
        out["delta"] = np.concatenate([e.matrix for e in items]
                                      or [np.zeros((0, 20), np.float32)])
        out["alphabet"] = np.array(STANDARD)
    return out


def explain_file(predictor: Predictor, explainer: Explainer, path: str | os.PathLike,
                 out: str | os.PathLike | None, *, method: str = "gradxinput",
                 target: str | None = None, steps: int = DEFAULT_IG_STEPS,
                 ism_max_len: int = DEFAULT_ISM_MAX_LEN, chunk_size: int = DEFAULT_CHUNK,
                 max_record: int | None = None,
                 on_record: Callable[[Explanation], object] | None = None) -> int:
    """Explain every record of FASTA ``path`` into ``out`` (module doc; ``None`` or ``-`` =
    TSV on standard output); ``on_record`` is called with each :class:`Explanation` (e.g.
    to plot it). Records go through the model's recorded policy and length rule
    (:meth:`Predictor.prepare`). Returns the number of records."""
    to_stdout = out is None or str(out) == STDOUT
    suffix = ".tsv" if to_stdout else Path(out).suffix.lower()
    if suffix not in FORMATS:
        raise SeqnnInputError(out, "output must end in .tsv or .npz, or be - (standard output)")
    explainer.target_index(target)  # a wrong --target fails before any output
    check_output(out, [path])
    kept: list[Explanation] = []
    with contextlib.ExitStack() as stack:
        fh: IO[str] | None = None
        tmp = None
        if to_stdout:
            fh = sys.stdout
        elif suffix == ".tsv":
            fh = stack.enter_context(open(stack.enter_context(atomic_path(out)), "w"))
        else:
            tmp = stack.enter_context(atomic_path(out))
        src = source_name(path)
        seen, n = SeenIds(src), 0
        for records in iter_fasta_chunks(path, chunk_size, max_record):
            chunk = predictor.prepare(records, src, seen, check_nucleotide=n == 0)
            items = explainer.explain(chunk.ids, chunk.seqs, method, target, steps, ism_max_len)
            if on_record is not None:
                for e in items:
                    on_record(e)
            if fh is not None:
                fh.write(explain_frame(items, method).to_csv(
                    sep="\t", index=False, header=n == 0, lineterminator="\n",
                    float_format="%.6g"))
                fh.flush()
            else:
                kept.extend(items)
            n += len(chunk.ids)
        if fh is not None and n == 0:
            fh.write(explain_frame([], method).to_csv(sep="\t", index=False))
        if tmp is not None:
            with open(tmp, "wb") as raw:
                np.savez_compressed(raw, **_npz(kept, method))
    return n


__all__ = ["FORMATS", "explain_file", "explain_frame"]
