"""Reading what users really have, with every input check; writing tables atomically.

FASTA (plain or gzip, detected by content), multi-line records and Windows line endings are
read with Biopython's fast ``SimpleFastaParser``. Labels come from a TSV/CSV keyed by id, a
header field or regular expression, one constant label per file, a table that carries the
sequence in a column, or ``key=value`` FASTA headers (``>P1 TARGET=0.83 SET=train``).

Every user mistake raises :class:`SeqnnInputError`, which names the file, the record (when
there is one) and the reason; the CLI prints it as one line and exits 2.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import re
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .alphabet import PolicyError, Substitutions, check_policy, clean

TASKS = ("binary", "multiclass", "regression", "unsupervised")
SPLIT_NAMES = ("train", "valid", "test")
#: spellings of split names found in the wild, mapped to seqnn's three
SPLIT_ALIASES = {
    "train": "train", "training": "train", "trn": "train", "tr": "train",
    "valid": "valid", "validation": "valid", "val": "valid", "eval": "valid",
    "evl": "valid", "dev": "valid", "vld": "valid",
    "test": "test", "tst": "test", "te": "test", "heldout": "test", "held-out": "test",
}


class SeqnnInputError(ValueError):
    """A user mistake in an input file: carries the file, the record (or None) and the reason."""

    def __init__(self, file: str | os.PathLike, reason: str, record: str | None = None):
        self.file = str(file)
        self.record = record
        self.reason = reason
        where = f", record {record!r}" if record is not None else ""
        super().__init__(f"{self.file}{where}: {reason}")


# ----------------------------------------------------------------------------- writing

@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    Readers never see a half-written file: an exception (or a kill) leaves at most a
    hidden ``.<name>.*.tmp`` file that the next successful write does not depend on.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file normal permissions
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``df`` as a TSV with a header, atomically (``.csv`` paths get commas)."""
    sep = "," if str(path).endswith(".csv") else "\t"
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep=sep, index=False)


def write_text(text: str, path: str | os.PathLike) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)


# ----------------------------------------------------------------------------- reading bytes

def read_text(path: str | os.PathLike) -> str:
    """Read a text file (plain or gzip, detected by its magic bytes) as UTF-8.

    Raises :class:`SeqnnInputError` for a missing file, a directory, an empty file, binary
    or non-UTF-8 content.
    """
    p = Path(path)
    if str(path) == "-":
        import sys

        data = sys.stdin.buffer.read()
    else:
        if not p.exists():
            raise SeqnnInputError(path, "file not found")
        if p.is_dir():
            raise SeqnnInputError(path, "is a directory, not a file")
        data = p.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise SeqnnInputError(path, f"corrupt gzip file ({exc})") from None
    if not data.strip():
        raise SeqnnInputError(path, "file is empty")
    if b"\x00" in data[:65536]:
        raise SeqnnInputError(path, "binary content (NUL bytes); expected a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SeqnnInputError(
            path, f"not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})"
        ) from None


# ----------------------------------------------------------------------------- FASTA

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


# ----------------------------------------------------------------------------- tables

def read_table(path: str | os.PathLike, required: Sequence[str] = ()) -> pd.DataFrame:
    """Read a TSV or CSV (sniffed from the header line) as strings; check required columns."""
    text = read_text(path)
    first = text.splitlines()[0]
    sep = "\t" if "\t" in first else ","
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except pd.errors.ParserError as exc:
        raise SeqnnInputError(path, f"cannot parse table ({str(exc).splitlines()[0]})") from None
    df.columns = [c.strip() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise SeqnnInputError(
            path, f"missing column(s) {', '.join(missing)}; columns are {', '.join(df.columns)}"
        )
    return df


def normalise_split(value: str, path: str | os.PathLike, record: str) -> str:
    """Map a split name (train/trn/eval/validation/test/...) to train, valid or test."""
    key = str(value).strip().lower()
    if key not in SPLIT_ALIASES:
        raise SeqnnInputError(
            path, f"unknown split {value!r} (use train, valid or test)", record
        )
    return SPLIT_ALIASES[key]


def check_labels(
    df: pd.DataFrame, task: str, path: str | os.PathLike, count_classes: bool = True
) -> pd.DataFrame:
    """Validate the ``label`` column for ``task``: present for every record, numeric for
    regression, and (with ``count_classes``, for a whole dataset rather than one of its
    files) at least two classes for classification, exactly two for binary."""
    if task not in TASKS:
        raise SeqnnInputError(path, f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    if task == "unsupervised":
        return df
    if "label" not in df:
        raise SeqnnInputError(path, f"task {task} needs labels, and none were given")
    empty = df["label"].isna() | (df["label"].astype(str).str.strip() == "")
    if empty.any():
        rid = df.loc[empty, "id"].iloc[0]
        raise SeqnnInputError(path, f"no label ({int(empty.sum())} record(s) without one)", rid)
    if task == "regression":
        values = pd.to_numeric(df["label"], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.astype(float))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise SeqnnInputError(
                path, f"label {df['label'].iloc[i]!r} is not a number (task regression)",
                df["id"].iloc[i],
            )
        return df.assign(label=values.astype(float))
    df = df.assign(label=df["label"].astype(str).str.strip())
    if not count_classes:
        return df
    n_classes = df["label"].nunique()
    if n_classes < 2:
        raise SeqnnInputError(path, f"task {task} needs at least 2 classes, found {n_classes}")
    if task == "binary" and n_classes != 2:
        raise SeqnnInputError(
            path, f"task binary needs exactly 2 classes, found {n_classes}: "
            f"{', '.join(sorted(df['label'].unique())[:6])}"
        )
    return df


def warn_unused_labels(n_unused: int, path: str | os.PathLike) -> None:
    """Warn (with a count) about labels whose ids are not in the FASTA."""
    if n_unused:
        warnings.warn(f"{path}: {n_unused} label(s) for ids not in the FASTA were ignored",
                      stacklevel=3)
