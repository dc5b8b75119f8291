"""FASTA in: the whole-file reader used by ingest and inspect, and the streaming reader used
by prediction (side by side until one streaming reader replaces both).

* :func:`read_fasta` reads a whole file (plain or gzip, detected by content; multi-line
  records, Windows line endings) with Biopython's ``SimpleFastaParser`` and validates it:
  empty file, no ``>`` record, empty sequence, duplicate ids, characters the alphabet policy
  refuses (naming record and position), DNA/RNA instead of protein.
* :func:`open_fasta` / :func:`iter_fasta_chunks` read incrementally from an open handle
  (plain, gzip or standard input) in chunks of raw ``(id, sequence)`` pairs, so memory is
  bounded by the chunk; :class:`SeenIds` checks duplicate ids over the stream.

Every problem raises :class:`~seqnn.errors.SeqnnInputError` naming the file, the record
(when there is one) and the reason.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import itertools
import os
import re
import sys
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from ..errors import PolicyError, SeqnnInputError
from .alphabet import Substitutions, check_policy, clean
from .files import read_text

DEFAULT_CHUNK = 10_000


# ----------------------------------------------------------------------------- whole files

@dataclass
class FastaRecord:
    """One FASTA record: ``id`` (first word of the header), full ``header``, raw ``sequence``."""

    id: str
    header: str
    sequence: str


def iter_fasta_text(text: str, path: str | os.PathLike) -> Iterator[FastaRecord]:
    """Parse FASTA text with Biopython, yielding records with whitespace-free sequences."""
    from Bio.SeqIO.FastaIO import SimpleFastaParser

    stripped = text.lstrip()
    if not stripped.startswith(">"):
        first = stripped.splitlines()[0][:40] if stripped else ""
        raise SeqnnInputError(path, f"not FASTA: no '>' header before {first!r}")
    for header, seq in SimpleFastaParser(io.StringIO(text.replace("\r", ""))):
        header = header.strip()
        if not header:
            raise SeqnnInputError(path, "a record has an empty header line ('>' alone)")
        rid = header.split()[0]
        yield FastaRecord(rid, header, "".join(seq.split()))


def read_fasta(
    path: str | os.PathLike,
    policy: str = "map",
    drop_gaps: bool = False,
    subs: Substitutions | None = None,
    check_nucleotide: bool = True,
) -> list[FastaRecord]:
    """Read and validate a FASTA file; return records whose sequences follow the policy.

    Checks: missing/empty/binary file, no ``>`` record, empty sequence, duplicate ids,
    characters the alphabet policy refuses (naming record and position), and a file that is
    DNA/RNA rather than protein. Substitutions made under the ``map`` policy go to ``subs``.
    """
    check_policy(policy)
    records = list(iter_fasta_text(read_text(path), path))
    if not records:
        raise SeqnnInputError(path, "no FASTA records found")
    seen: set[str] = set()
    out = []
    for rec in records:
        if rec.id in seen:
            raise SeqnnInputError(path, "duplicate id", rec.id)
        seen.add(rec.id)
        if not rec.sequence:
            raise SeqnnInputError(path, "empty sequence", rec.id)
        try:
            seq = clean(rec.sequence, rec.id, policy, drop_gaps, subs)
        except PolicyError as exc:
            where = f"position {exc.position}: " if exc.position else ""
            raise SeqnnInputError(path, where + exc.reason, rec.id) from None
        out.append(FastaRecord(rec.id, rec.header, seq))
    if check_nucleotide:
        check_not_nucleotide([r.sequence for r in out], path)
    return out


def check_not_nucleotide(seqs: Sequence[str], path: str | os.PathLike) -> None:
    """Raise if most letters are A/C/G/T/U/N: the file is DNA/RNA, not protein."""
    joined = "".join(seqs[:2000]).upper()
    if len(joined) < 20:
        return
    counts = np.bincount(np.frombuffer(joined.encode(), dtype=np.uint8), minlength=256)
    nuc = sum(int(counts[ord(c)]) for c in "ACGTUN")
    if nuc / len(joined) > 0.9:
        raise SeqnnInputError(
            path, f"looks like DNA/RNA, not protein ({nuc / len(joined):.0%} of letters are ACGTUN)"
        )


def parse_header_fields(header: str) -> dict[str, str]:
    """``key=value`` fields of a FASTA header (``>P1 TARGET=0.83 SET=train``), keys upper-cased."""
    return {k.upper(): v for k, v in re.findall(r"(\S+?)=(\S+)", header)}


# ----------------------------------------------------------------------------- streaming

def source_name(path: str | os.PathLike) -> str:
    """How errors name an input: its path, or ``<stdin>`` for ``-``."""
    return "<stdin>" if str(path) == "-" else str(path)


@contextlib.contextmanager
def open_fasta(path: str | os.PathLike) -> Iterator[Iterator[str]]:
    """Open FASTA ``path`` (``-`` = standard input; gzip detected by its magic bytes) and
    yield an iterator over its text lines, starting at the first ``>`` header.

    Raises :class:`SeqnnInputError` for a missing file, a directory, an empty file or text
    that does not start with a ``>`` header.
    """
    name = source_name(path)
    with contextlib.ExitStack() as stack:
        if str(path) == "-":
            raw: IO[bytes] = sys.stdin.buffer
            if not hasattr(raw, "peek"):
                raw = io.BufferedReader(raw)  # type: ignore[arg-type]
        else:
            p = Path(path)
            if not p.exists():
                raise SeqnnInputError(path, "file not found")
            if p.is_dir():
                raise SeqnnInputError(path, "is a directory, not a file")
            raw = stack.enter_context(open(p, "rb"))
        with _read_errors(name):
            zipped = raw.peek(2)[:2] == b"\x1f\x8b"  # type: ignore[attr-defined]
            text = io.TextIOWrapper(gzip.GzipFile(fileobj=raw) if zipped else raw,
                                    encoding="utf-8-sig")
            stack.callback(text.detach)  # leave closing to ``open`` (never close stdin)
            first = next((line for line in text if line.strip()), None)
        if first is None:
            raise SeqnnInputError(name, "file is empty")
        if not first.startswith(">"):
            raise SeqnnInputError(name, f"not FASTA: no '>' header before {first[:40]!r}")
        yield itertools.chain([first], text)


@contextlib.contextmanager
def _read_errors(path: str | os.PathLike) -> Iterator[None]:
    """Turn decoding, gzip and read errors of ``path`` into :class:`SeqnnInputError`."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise SeqnnInputError(path, f"not UTF-8 text ({exc.reason})") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise SeqnnInputError(path, f"corrupt gzip file ({exc})") from None
    except OSError as exc:
        raise SeqnnInputError(path, f"cannot read ({exc.strerror or exc})") from None


def iter_fasta_chunks(
    path: str | os.PathLike, chunk_size: int = DEFAULT_CHUNK
) -> Iterator[list[tuple[str, str]]]:
    """Yield the records of FASTA ``path`` as lists of at most ``chunk_size`` raw
    ``(id, sequence)`` pairs (id = first word of the header, whitespace removed from the
    sequence), reading incrementally; an empty header raises :class:`SeqnnInputError`."""
    from Bio.SeqIO.FastaIO import SimpleFastaParser

    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    name = source_name(path)
    with open_fasta(path) as lines, _read_errors(name):  # errors while parsing
        chunk: list[tuple[str, str]] = []
        for header, seq in SimpleFastaParser(lines):
            words = header.split()
            if not words:
                raise SeqnnInputError(name, "a record has an empty header line ('>' alone)")
            chunk.append((words[0], "".join(seq.split())))
            if len(chunk) == chunk_size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


class SeenIds:
    """Duplicate-id check over a stream: keeps a sorted ``int64`` array of id hashes (8 bytes
    per record) and raises :class:`SeqnnInputError` naming the first repeated id."""

    def __init__(self, source: str | os.PathLike):
        self.source = source
        self.hashes = np.zeros(0, dtype=np.int64)

    def add(self, ids: list[str]) -> None:
        """Add one chunk's ids; raise if any was seen before or repeats inside the chunk."""
        h = np.fromiter((hash(i) for i in ids), dtype=np.int64, count=len(ids))
        pos = np.searchsorted(self.hashes, h).clip(max=max(len(self.hashes) - 1, 0))
        old = (self.hashes[pos] == h) if len(self.hashes) else np.zeros(len(h), bool)
        _, first = np.unique(h, return_index=True)
        repeat = np.ones(len(h), bool)
        repeat[first] = False
        bad = np.flatnonzero(old | repeat)
        if bad.size:
            raise SeqnnInputError(self.source, "duplicate id", ids[int(bad[0])])
        self.hashes = np.sort(np.concatenate([self.hashes, h]), kind="stable")


__all__ = [
    "DEFAULT_CHUNK", "FastaRecord", "SeenIds", "check_not_nucleotide", "iter_fasta_chunks",
    "iter_fasta_text", "open_fasta", "parse_header_fields", "read_fasta", "source_name",
]
