"""Streaming input: FASTA files and sequence tables read chunk by chunk, and the streaming
encoder that writes the token store (:mod:`seqnn.data.store`) as the chunks come.

Memory stays bounded by one chunk of residues plus the per-record metadata (ids, lengths,
labels, an 8-byte id hash): what ``seqnn encode`` needs to encode a proteome or a
metagenome. Every check of the whole-file readers applies (duplicate ids, the alphabet
policy, DNA/RNA, labels, ``--max-len``), each raising
:class:`~seqnn.errors.SeqnnInputError` before any output is renamed into place.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import SeqnnInputError
from .alphabet import Substitutions
from .encoding import label_codes, over_length, tokenize
from .fasta import (
    DEFAULT_CHUNK,
    FastaRecord,
    SeenIds,
    check_not_nucleotide,
    clean_sequence,
    iter_fasta,
    source_name,
)
from .store import StoreWriter
from .tables import check_label_set, column_list

#: one chunk of records: ids, clean sequences and raw labels (or ``None``)
Chunk = tuple[list[str], list[str], list | None]


def iter_fasta_records(path: str | os.PathLike, policy: str = "map", drop_gaps: bool = False,
                       subs: Substitutions | None = None, max_record: int | None = None,
                       chunk_size: int = DEFAULT_CHUNK) -> Iterator[list[FastaRecord]]:
    """The records of FASTA ``path`` in lists of at most ``chunk_size``, their sequences
    under the alphabet policy, validated as :func:`seqnn.data.fasta.read_fasta` validates
    them (empty sequence, duplicate ids, the policy; DNA/RNA judged on the first chunk)."""
    name = source_name(path)
    seen, chunk, first = SeenIds(name), [], True
    for rec in iter_fasta(path, max_record):
        chunk.append(FastaRecord(rec.id, rec.header,
                                 clean_sequence(rec, name, policy, drop_gaps, subs)))
        if len(chunk) == chunk_size:
            _check_chunk(chunk, seen, first, name)
            first = False
            yield chunk
            chunk = []
    if chunk or first:
        _check_chunk(chunk, seen, first, name)
        yield chunk


def _check_chunk(chunk: list[FastaRecord], seen: SeenIds, first: bool, name: str) -> None:
    seen.add([r.id for r in chunk])
    if first:
        check_not_nucleotide([r.sequence for r in chunk], name)


def iter_fasta_clean(path: str | os.PathLike, policy: str = "map", drop_gaps: bool = False,
                     subs: Substitutions | None = None, max_record: int | None = None,
                     chunk_size: int = DEFAULT_CHUNK) -> Iterator[tuple[list[str], list[str]]]:
    """:func:`iter_fasta_records` as ``(ids, sequences)`` chunks."""
    for chunk in iter_fasta_records(path, policy, drop_gaps, subs, max_record, chunk_size):
        yield [r.id for r in chunk], [r.sequence for r in chunk]


def iter_table(path: str | os.PathLike, required: Iterable[str] = (),
               chunk_size: int = DEFAULT_CHUNK) -> Iterator[pd.DataFrame]:
    """A TSV or CSV (plain or gzip; the separator sniffed from the header line) as string
    DataFrames of at most ``chunk_size`` rows; ``required`` columns are checked first."""
    p = Path(path)
    if not p.is_file():
        raise SeqnnInputError(path, "file not found" if not p.exists() else "is not a file")
    try:
        with _open_text(p) as text:
            first = text.readline()
        if not first.strip():
            raise SeqnnInputError(path, "file is empty")
        sep = "\t" if "\t" in first else ","
        with _open_text(p) as text:
            reader = pd.read_csv(text, sep=sep, dtype=str, keep_default_na=False,
                                 chunksize=chunk_size)
            for df in reader:
                df.columns = [str(c).strip() for c in df.columns]
                missing = [c for c in required if c not in df.columns]
                if missing:
                    raise SeqnnInputError(path, f"missing column(s) {', '.join(missing)}; "
                                                f"columns are {column_list(df.columns)}")
                yield df
    except pd.errors.ParserError as exc:
        raise SeqnnInputError(path, f"cannot parse table ({str(exc).splitlines()[0]})") from None
    except UnicodeDecodeError as exc:
        raise SeqnnInputError(path, f"not UTF-8 text ({exc.reason})") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise SeqnnInputError(path, f"corrupt gzip file ({exc})") from None


@contextlib.contextmanager
def _open_text(path: Path) -> Iterator[io.TextIOWrapper]:
    """``path`` as UTF-8 text, gzip decompressed on the fly when it starts with gzip's magic."""
    with contextlib.ExitStack() as stack:
        raw = stack.enter_context(open(path, "rb"))
        if raw.peek(2)[:2] == b"\x1f\x8b":
            raw = stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb"))
        yield stack.enter_context(io.TextIOWrapper(raw, encoding="utf-8-sig"))


def encode_stream(chunks: Iterable[Chunk], out: str | os.PathLike, task: str = "unsupervised",
                  class_names: list[str] | None = None, source: str | os.PathLike = "",
                  max_len: int | None = None, label_separator: str = ";") -> tuple[int, int]:
    """Tokenise ``chunks`` of ``(ids, clean sequences, labels or None)`` into the store
    ``out``, one chunk at a time; return ``(records, residues)``.

    The result equals :func:`seqnn.data.encoding.encode_table` on the whole input followed by
    :func:`~seqnn.data.store.save_encoded`. Classification labels become indices into
    ``class_names`` (default: the sorted names seen); ``max_len`` refuses longer sequences;
    ``label_separator`` is stored for a multi-label task.
    """
    ids: list[str] = []
    labels: list = []
    has_labels = False
    with StoreWriter(out) as writer:
        for chunk_ids, seqs, chunk_labels in chunks:
            if max_len is not None and (i := over_length([len(s) for s in seqs],
                                                         max_len)) is not None:
                raise SeqnnInputError(source, f"length {len(seqs[i])} > --max-len {max_len}",
                                      chunk_ids[i])
            tokens, offsets = tokenize(seqs, chunk_ids, policy="strict")
            writer.add(tokens, np.diff(offsets))
            ids.extend(chunk_ids)
            if chunk_labels is not None:
                has_labels = True
                labels.extend(chunk_labels)
        try:
            y, names = label_codes(labels if has_labels else None, task, class_names)
        except ValueError as exc:  # e.g. a label missing from class_names
            raise SeqnnInputError(source, str(exc)) from None
        if has_labels:  # the label checks of ingest and train: finite, two classes
            check_label_set(task, y, names, source, "the table")
        writer.finish(np.asarray(ids, dtype=str), y, task, names, label_separator)
        return len(ids), writer.residues


__all__ = ["Chunk", "iter_fasta_records", "iter_fasta_clean", "iter_table", "encode_stream"]
