"""Files on disk: reading text tables (plain or gzip, bounded by :data:`MAX_TABLE_BYTES`)
and JSON; the output helpers (:func:`atomic_path`, :func:`write_text`, :func:`write_table`,
:func:`check_output` ...) live in :mod:`seqnn.data.outputs` and are importable from here.

Every output of seqnn goes through :func:`atomic_path` (and the CLI checks each output with
:func:`check_output` first), so a reader never sees a half-written file. :func:`read_text` raises
:class:`~seqnn.errors.SeqnnInputError` for every unreadable input, naming the file and the
reason.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import sys
import zlib
from pathlib import Path
from typing import IO, Any

from ..errors import ConfigError, SeqnnInputError
from .outputs import (  # noqa: F401 - the write helpers' historical home
    RUN_STARTED,
    STDOUT,
    atomic_path,
    check_not_in_folder,
    check_output,
    remove_stale_temps,
    temp_beside,
    write_table,
    write_target,
    write_text,
)

#: default largest table (label or sequence table), in bytes after decompression
MAX_TABLE_BYTES = 2 << 30
#: environment variable that raises (or lowers) the table limit for every command
MAX_TABLE_ENV = "SEQNN_MAX_TABLE_BYTES"
_TABLE_BLOCK = 1 << 20  # bytes read at a time


def max_table_limit() -> int:
    """The table limit in bytes: the value of the ``SEQNN_MAX_TABLE_BYTES`` environment
    variable, else :data:`MAX_TABLE_BYTES`. A value that is not a positive whole number
    raises :class:`~seqnn.errors.ConfigError`."""
    return env_limit(MAX_TABLE_ENV, MAX_TABLE_BYTES, "bytes")


def env_limit(name: str, default: int, unit: str) -> int:
    """A size limit from environment variable ``name`` (``_`` separators allowed), else
    ``default``; a value that is not a positive whole number raises
    :class:`~seqnn.errors.ConfigError` naming the variable and the ``unit``."""
    raw = os.environ.get(name, "").strip().replace("_", "")
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name}={raw[:20]!r}: expected a positive whole number of {unit}")
    return int(raw)


def _read_capped(stream: IO[bytes], path: str | os.PathLike, limit: int) -> bytes:
    """Read ``stream`` in blocks, refusing it as soon as it passes ``limit`` bytes."""
    parts, size = [], 0
    while block := stream.read(min(_TABLE_BLOCK, limit + 1 - size)):
        size += len(block)
        if size > limit:
            raise SeqnnInputError(path, f"larger than the table limit of {limit:,} bytes "
                                        f"(decompressed; set {MAX_TABLE_ENV} to raise it)")
        parts.append(block)
    return b"".join(parts)


def read_text(path: str | os.PathLike) -> str:
    """Read a text file (plain or gzip, detected by its magic bytes) as UTF-8.

    The content is read and decompressed as a stream and refused as soon as it passes the
    table limit (:func:`max_table_limit`), so a small gzip that expands to gigabytes never
    fills memory. Raises :class:`SeqnnInputError` for a missing file, a directory, an empty
    file, a file over the limit, a corrupt gzip stream, binary or non-UTF-8 content.
    """
    limit = max_table_limit()
    name = "<stdin>" if str(path) == STDOUT else path
    p = Path(path)
    try:
        with contextlib.ExitStack() as stack:
            if str(path) == STDOUT:
                raw: IO[bytes] = sys.stdin.buffer
                if not hasattr(raw, "peek"):
                    raw = io.BufferedReader(raw)  # type: ignore[arg-type]
            else:
                if not p.exists():
                    raise SeqnnInputError(path, "file not found")
                if p.is_dir():
                    raise SeqnnInputError(path, "is a directory, not a file")
                if not p.is_file():  # /dev/zero, a FIFO, a socket: refused before reading
                    raise SeqnnInputError(path, "is not a regular file (a device, pipe or "
                                                "socket); give a file or - for stdin")
                raw = stack.enter_context(open(p, "rb"))
            if raw.peek(2)[:2] == b"\x1f\x8b":  # type: ignore[attr-defined]
                raw = stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb"))
            data = _read_capped(raw, name, limit)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise SeqnnInputError(name, f"corrupt gzip file ({exc})") from None
    except OSError as exc:
        raise SeqnnInputError(name, f"cannot read ({exc.strerror or exc})") from None
    if not data.strip():
        raise SeqnnInputError(name, "file is empty")
    if b"\x00" in data[:65536]:
        raise SeqnnInputError(name, "binary content (NUL bytes); expected a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SeqnnInputError(
            name, f"not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})"
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
