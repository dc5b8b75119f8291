"""FASTA in: ONE streaming reader for the whole package.

* :func:`open_fasta` opens a FASTA source (a path, or ``-`` for standard input) and yields
  its bytes, gzip decompressed on the fly when the content starts with gzip's magic bytes.
* :func:`iter_fasta` reads it line by line (LF, CRLF and CR-only line ends alike, lines cut
  into bounded fragments) and yields :class:`FastaRecord` objects one at a time. It refuses,
  with one line naming file, record and reason, text before the first ``>``, an empty
  header, a NUL byte anywhere, another control character in a header, non-UTF-8 bytes, a
  corrupt gzip stream, and a record longer than the record limit (:data:`MAX_RECORD`
  residues unless the ``max_record`` keyword or the ``SEQNN_MAX_RECORD`` environment
  variable says otherwise) *while* reading it, so memory stays bounded whatever the input.
* :func:`iter_fasta_chunks` groups the stream into lists of raw ``(id, sequence)`` pairs
  (prediction); :func:`read_fasta` validates every record (empty sequence, duplicate ids,
  the alphabet policy, DNA/RNA) and returns the list (ingest, encode, the library);
  :class:`SeenIds` checks duplicate ids over a stream in 8 bytes per record.

Every problem raises :class:`~seqnn.errors.SeqnnInputError`.
"""

from __future__ import annotations

import contextlib
import gzip
import io
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
from .files import env_limit

DEFAULT_CHUNK = 10_000
#: default longest record, in residues (far above any model's ``max_len``)
MAX_RECORD = 100_000
#: environment variable that raises (or lowers) the record limit for every command
MAX_RECORD_ENV = "SEQNN_MAX_RECORD"
#: longest header line, in characters
MAX_HEADER = 100_000
_BLOCK = 1 << 16  # bytes read at a time; a longer line is handled in fragments
#: control characters refused in a header (tab is allowed: it separates words)
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


@dataclass
class FastaRecord:
    """One FASTA record: ``id`` (first word of the header), full ``header``, raw ``sequence``."""

    id: str
    header: str
    sequence: str


def source_name(path: str | os.PathLike) -> str:
    """How errors name an input: its path, or ``<stdin>`` for ``-``."""
    return "<stdin>" if str(path) == "-" else str(path)


def max_record_limit(max_record: int | None = None) -> int:
    """The record limit in residues: ``max_record`` when given, else the value of the
    ``SEQNN_MAX_RECORD`` environment variable, else :data:`MAX_RECORD`. A value that is not
    a positive whole number raises :class:`~seqnn.errors.ConfigError`."""
    if max_record is None:
        return env_limit(MAX_RECORD_ENV, MAX_RECORD, "residues")
    if isinstance(max_record, bool) or not isinstance(max_record, int) or max_record < 1:
        raise ValueError(f"max_record must be a positive int, got {max_record!r}")
    return max_record


# ----------------------------------------------------------------------------- bytes in

@contextlib.contextmanager
def open_fasta(path: str | os.PathLike) -> Iterator[IO[bytes]]:
    """Open ``path`` (``-`` = standard input) and yield its content as a binary stream,
    decompressed on the fly when it starts with gzip's magic bytes.

    Raises :class:`SeqnnInputError` for a missing file, a directory or an unreadable one.
    Standard input is never closed.
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
            with _read_errors(name):
                raw = stack.enter_context(open(p, "rb"))
        with _read_errors(name):
            zipped = raw.peek(2)[:2] == b"\x1f\x8b"  # type: ignore[attr-defined]
        yield gzip.GzipFile(fileobj=raw, mode="rb") if zipped else raw


@contextlib.contextmanager
def _read_errors(path: str | os.PathLike) -> Iterator[None]:
    """Turn gzip and read errors of ``path`` into :class:`SeqnnInputError`."""
    try:
        yield
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise SeqnnInputError(path, f"corrupt gzip file ({exc})") from None
    except OSError as exc:
        raise SeqnnInputError(path, f"cannot read ({exc.strerror or exc})") from None


def _fragments(raw: IO[bytes], name: str) -> Iterator[tuple[str, bool]]:
    """Decoded pieces of the lines of ``raw``: ``(text, ends_line)`` without the line end.
    A line longer than a block comes in several pieces (all but the last with ``False``),
    so no line is ever held whole. Raises on NUL bytes and on bytes that are not UTF-8."""
    buf, offset, eof = b"", 0, False
    while not eof:
        with _read_errors(name):
            data = raw.read(_BLOCK)
        eof = not data
        if offset == 0 and not buf and data.startswith(b"\xef\xbb\xbf"):  # byte-order mark
            data, offset = data[3:], 3
        buf += data
        lines = buf.splitlines(keepends=True)  # bytes: only \n, \r\n and \r end a line
        rest = b""
        if lines and not eof and (not lines[-1].endswith((b"\n", b"\r"))
                                  or lines[-1].endswith(b"\r")):  # may go on (or be \r\n)
            rest = lines.pop()
        for line in lines:
            body = line.rstrip(b"\r\n")
            yield _decode(body, offset, name), True
            offset += len(line)
        if len(rest) > _BLOCK:  # an overlong line: pass on all but a possible \r and a
            cut = len(rest) - 1  # possibly incomplete UTF-8 character at its end
            while cut > 0 and (rest[cut] & 0xC0) == 0x80:
                cut -= 1
            yield _decode(rest[:cut], offset, name), False
            offset += cut
            rest = rest[cut:]
        buf = rest


def _decode(data: bytes, offset: int, name: str) -> str:
    """``data`` (at byte ``offset`` of the file) as text; NUL or non-UTF-8 bytes raise."""
    if (nul := data.find(b"\x00")) >= 0:
        raise SeqnnInputError(name, f"binary content (NUL bytes, the first at offset "
                                    f"{offset + nul}); expected a text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SeqnnInputError(name, f"not UTF-8 text (byte {data[exc.start]:#04x} at offset "
                                    f"{offset + exc.start})") from None


# ----------------------------------------------------------------------------- records

def iter_fasta(path: str | os.PathLike, max_record: int | None = None) -> Iterator[FastaRecord]:
    """Yield the records of FASTA ``path`` (plain, gzip or ``-``) one at a time, reading
    line by line; sequences have their whitespace removed, nothing else is checked here
    beyond the module docstring's list. A record over the limit (:func:`max_record_limit`)
    is refused as soon as its length passes it."""
    limit = max_record_limit(max_record)
    name = source_name(path)
    with open_fasta(path) as raw:
        header: list[str] | None = None  # the current header, in pieces
        parts: list[str] = []
        rid, head, size, hlen, at_start = "", "", 0, 0, True
        for piece, ends in _fragments(raw, name):
            if at_start and piece.startswith(">"):  # a new header line
                if header is None and rid:
                    yield FastaRecord(rid, head, "".join(parts))
                header, parts, size, hlen = [piece[1:]], [], 0, len(piece)
            elif header is not None:  # the rest of a long header line
                header.append(piece)
                hlen += len(piece)
            elif not rid:  # before the first header: only blank lines
                if piece.strip():
                    raise SeqnnInputError(name, "not FASTA: no '>' header before "
                                                f"{snippet(piece.strip())}")
            else:  # sequence
                residues = "".join(piece.split())
                size += len(residues)
                if size > limit:
                    raise SeqnnInputError(
                        name, f"record longer than the limit of {limit:,} residues (raise "
                              f"it with --max-record or {MAX_RECORD_ENV})", rid)
                parts.append(residues)
            if header is not None and hlen > MAX_HEADER:
                raise SeqnnInputError(name, f"header line longer than {MAX_HEADER:,} "
                                            "characters")
            if header is not None and ends:
                head, header = _check_header("".join(header), name), None
                rid = head.split()[0]
            at_start = ends
        if header is not None:  # a header on the last line, without a line end
            head = _check_header("".join(header), name)
            rid = head.split()[0]
        if not rid:
            raise SeqnnInputError(name, "file is empty")
        yield FastaRecord(rid, head, "".join(parts))


#: the most characters of a file's content an error message shows
SNIPPET = 20


def snippet(text: str, limit: int = SNIPPET) -> str:
    """At most ``limit`` characters of ``text`` for an error message, quoted, anything but
    printable ASCII escaped, ``...`` when cut: a wrong file's content (a key, a password
    file) is never echoed whole, and no control character reaches the terminal."""
    return ascii(text[:limit]) + ("..." if len(text) > limit else "")


def _check_header(header: str, name: str) -> str:
    """The stripped header; refuse an empty one or one holding a control character."""
    if m := _CONTROL.search(header):
        words = header[:m.start()].split()
        raise SeqnnInputError(name, f"control character {m.group()!r} in the header "
                                    f"{snippet(header.strip())}", words[0] if words else None)
    header = header.strip()
    if not header:
        raise SeqnnInputError(name, "a record has an empty header line ('>' alone)")
    return header


def iter_fasta_chunks(
    path: str | os.PathLike, chunk_size: int = DEFAULT_CHUNK, max_record: int | None = None
) -> Iterator[list[tuple[str, str]]]:
    """Yield the records of FASTA ``path`` (:func:`iter_fasta`) as lists of at most
    ``chunk_size`` raw ``(id, sequence)`` pairs, so memory is bounded by the chunk."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    chunk: list[tuple[str, str]] = []
    for rec in iter_fasta(path, max_record):
        chunk.append((rec.id, rec.sequence))
        if len(chunk) == chunk_size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def read_fasta(
    path: str | os.PathLike,
    policy: str = "map",
    drop_gaps: bool = False,
    subs: Substitutions | None = None,
    check_nucleotide: bool = True,
    max_record: int | None = None,
) -> list[FastaRecord]:
    """Read and validate a FASTA file with :func:`iter_fasta`; return the records, their
    sequences following the alphabet policy.

    Checks, besides the reader's: empty sequence, duplicate ids, characters the alphabet
    policy refuses (naming record and position), and a file that is DNA/RNA rather than
    protein. Substitutions made under the ``map`` policy go to ``subs``.
    """
    check_policy(policy)
    name = source_name(path)
    seen: set[str] = set()
    out = []
    for rec in iter_fasta(path, max_record):
        if rec.id in seen:
            raise SeqnnInputError(name, "duplicate id", rec.id)
        seen.add(rec.id)
        out.append(FastaRecord(rec.id, rec.header,
                               clean_sequence(rec, name, policy, drop_gaps, subs)))
    if check_nucleotide:
        check_not_nucleotide([r.sequence for r in out], name)
    return out


def clean_sequence(rec: FastaRecord, name: str, policy: str, drop_gaps: bool,
                   subs: Substitutions | None) -> str:
    """The sequence of ``rec`` under the alphabet policy; an empty sequence or a character
    the policy refuses raises :class:`SeqnnInputError` naming ``name``, record and position."""
    if not rec.sequence:
        raise SeqnnInputError(name, "empty sequence", rec.id)
    try:
        return clean(rec.sequence, rec.id, policy, drop_gaps, subs)
    except PolicyError as exc:
        where = f"position {exc.position}: " if exc.position else ""
        raise SeqnnInputError(name, where + exc.reason, rec.id) from None


def check_not_nucleotide(seqs: Sequence[str], path: str | os.PathLike) -> None:
    """Raise if most letters are A/C/G/T/U/N: the file is DNA/RNA, not protein (judged on
    the first 2,000 sequences, at most 1,000,000 letters)."""
    picked, size = [], 0
    for seq in seqs[:2000]:
        picked.append(seq[:1_000_000 - size])
        size += len(picked[-1])
        if size >= 1_000_000:
            break
    joined = "".join(picked).upper()
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
    "DEFAULT_CHUNK", "MAX_HEADER", "MAX_RECORD", "MAX_RECORD_ENV", "FastaRecord", "SeenIds",
    "check_not_nucleotide", "clean_sequence", "iter_fasta", "iter_fasta_chunks", "max_record_limit",
    "open_fasta", "parse_header_fields", "read_fasta", "source_name",
]
