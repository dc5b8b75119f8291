"""Files on disk: atomic writes (temp name + rename), reading text (plain or gzip) and JSON.

Every output of seqnn goes through :func:`atomic_path`, so a reader never sees a
half-written file. :func:`read_text` raises :class:`~seqnn.errors.SeqnnInputError` for
every unreadable input, naming the file and the reason.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import SeqnnInputError

if TYPE_CHECKING:
    import pandas as pd


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


def read_text(path: str | os.PathLike) -> str:
    """Read a text file (plain or gzip, detected by its magic bytes) as UTF-8.

    Raises :class:`SeqnnInputError` for a missing file, a directory, an empty file, binary
    or non-UTF-8 content.
    """
    p = Path(path)
    if str(path) == "-":
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


def read_json(path: str | os.PathLike, strict: bool = False, missing_ok: bool = True) -> Any:
    """Read the JSON file ``path``; ``None`` when it does not exist and ``missing_ok``.

    By default (the report, which shows "not available" for anything it cannot use) a file
    that is not valid JSON or not a JSON object also gives ``None``; with ``strict`` (the
    checks, which must not pass over a broken file) invalid JSON raises, a missing file
    raises unless ``missing_ok``, and any JSON value is returned as it is.
    """
    path = Path(path)
    if strict:
        if missing_ok and not path.exists():
            return None
        return json.loads(path.read_text())
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
