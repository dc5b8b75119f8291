"""Streaming a FASTA file through a :class:`~seqnn.inference.predictor.Predictor` into a
prediction table (TSV) or embeddings (``.npy`` or TSV), one chunk at a time, so memory is
bounded by the chunk (plus 8 bytes per record for the duplicate-id check), not by the file.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from ..data.fasta import DEFAULT_CHUNK, SeenIds, iter_fasta_chunks, source_name
from ..data.files import STDOUT, atomic_path, check_output
from ..errors import SeqnnInputError
from .nearest import NearestTrain
from .predictor import Predictor, format_table
from .reliability import Reliability


def count_records(path: str | os.PathLike) -> int | None:
    """The number of FASTA records in file ``path`` (plain or gzip), counted by scanning for
    ``>`` at line starts without parsing; ``None`` for standard input (``-``), which cannot
    be read twice, or a file that cannot be read (the reader then reports why). Used only
    for a progress bar's total."""
    import gzip
    import zlib

    if str(path) == "-" or not os.path.isfile(path):  # stdin, a FIFO, /dev/zero: no count
        return None
    n, last = 0, b"\n"
    try:
        with open(path, "rb") as raw:
            gz = raw.read(2) == b"\x1f\x8b"
        with (gzip.open if gz else open)(path, "rb") as fh:
            while block := fh.read(1 << 20):
                n += block.count(b"\n>") + (last == b"\n" and block[:1] == b">")
                last = block[-1:]
    except (OSError, EOFError, zlib.error):
        return None
    return n


def _progress(enabled: bool, path: str | os.PathLike) -> Any:
    """A tqdm bar of sequences on a terminal, its total counted from the file (none for
    standard input); disabled when ``enabled`` is false or stderr is not a terminal."""
    from tqdm.auto import tqdm

    on = enabled and sys.stderr.isatty()
    return tqdm(total=count_records(path) if on else None, unit="seq", disable=not on,
                leave=False, dynamic_ncols=True)


def predict_file(predictor: Predictor, path: str | os.PathLike, out: str | os.PathLike | None,
                 *, chunk_size: int = DEFAULT_CHUNK, nearest: NearestTrain | None = None,
                 progress: bool = False, max_record: int | None = None,
                 reliability: Reliability | None = None) -> int:
    """Stream FASTA ``path`` through ``predictor`` into the prediction TSV ``out`` (``None`` or
    ``-`` = standard output), one chunk at a time; returns the number of records.

    A file ``out`` is written to a temporary name and renamed at the end, so an error leaves
    no partial output (standard output may have received earlier chunks); an ``out`` that is
    the input file is refused (:func:`~seqnn.data.files.check_output`). ``reliability`` adds
    the columns of :mod:`seqnn.inference.reliability`. Each chunk's rows are
    :meth:`Predictor.predict_table` (the code path of ``Predictor.predict``) written through
    :func:`~seqnn.inference.predictor.format_table` (floats to 4 significant digits).
    """
    check_output(out, [path])
    with contextlib.ExitStack() as stack:
        if out is None or str(out) == STDOUT:
            fh: IO[str] = sys.stdout
        else:
            fh = stack.enter_context(open(stack.enter_context(atomic_path(out)), "w"))
        src = source_name(path)
        bar, seen, n = stack.enter_context(_progress(progress, path)), SeenIds(src), 0
        for records in iter_fasta_chunks(path, chunk_size, max_record):
            chunk = predictor.prepare(records, src, seen, check_nucleotide=n == 0)
            frame = format_table(predictor.predict_table(chunk, nearest, reliability,
                                                         bar.update))
            fh.write(frame.to_csv(sep="\t", index=False, header=n == 0, lineterminator="\n"))
            fh.flush()
            n += len(chunk.ids)
    return n


def write_npy_header(fh: IO[bytes], n: int, dim: int, size: int = 128) -> None:
    """Write a ``.npy`` v1.0 header for a C-order ``(n, dim)`` ``float32`` array, padded to
    exactly ``size`` bytes (so it can be written first as a placeholder and rewritten)."""
    d = f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({n}, {dim}), }}"
    header = d.ljust(size - 11) + "\n"
    fh.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode("latin1"))


def embed_file(predictor: Predictor, path: str | os.PathLike, out: str | os.PathLike, *,
               chunk_size: int = DEFAULT_CHUNK, progress: bool = False,
               max_record: int | None = None) -> tuple[int, int]:
    """Stream FASTA ``path`` into embeddings ``out``: ``.npy`` (``(N, D)`` ``float32``, plus
    ids one per line in ``<out>.ids.txt``) or ``.tsv`` (``id``, ``dim_0`` .. ``dim_{D-1}``;
    ``-`` writes it to standard output). Written atomically; an output (or its ``.ids.txt``)
    that is the input file is refused. Returns ``(N, D)``."""
    to_stdout = str(out) == STDOUT
    suffix = ".tsv" if to_stdout else Path(out).suffix.lower()
    if suffix not in (".npy", ".tsv"):
        raise SeqnnInputError(out, "output must end in .npy or .tsv")
    check_output(out, [path])
    if suffix == ".npy":
        check_output(f"{out}.ids.txt", [path])
    n, dim = 0, 0
    with contextlib.ExitStack() as stack:
        ids_fh = None
        if suffix == ".npy":
            tmp = stack.enter_context(atomic_path(out))
            ids_fh = stack.enter_context(open(stack.enter_context(
                atomic_path(f"{out}.ids.txt")), "w"))
            fh: IO[Any] = stack.enter_context(open(tmp, "wb"))
        elif to_stdout:
            fh = sys.stdout
        else:
            fh = stack.enter_context(open(stack.enter_context(atomic_path(out)), "w"))
        if suffix == ".npy":
            write_npy_header(fh, 0, 0)
        src = source_name(path)
        bar, seen = stack.enter_context(_progress(progress, path)), SeenIds(src)
        for records in iter_fasta_chunks(path, chunk_size, max_record):
            chunk = predictor.prepare(records, src, seen, check_nucleotide=n == 0)
            z = np.ascontiguousarray(predictor.embed_chunk(chunk, bar.update), dtype="<f4")
            dim = z.shape[1]
            if ids_fh is not None:
                fh.write(z.tobytes())
                ids_fh.write("".join(f"{i}\n" for i in chunk.ids))
            else:
                frame = pd.DataFrame(z, columns=[f"dim_{k}" for k in range(dim)])
                frame.insert(0, "id", chunk.ids)
                fh.write(frame.to_csv(sep="\t", index=False, header=n == 0, lineterminator="\n"))
                fh.flush()
            n += len(chunk.ids)
        if suffix == ".npy":
            fh.seek(0)
            write_npy_header(fh, n, dim)
    return n, dim


__all__ = ["count_records", "embed_file", "predict_file", "write_npy_header"]
