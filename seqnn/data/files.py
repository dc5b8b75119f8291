"""Files on disk: the output helper (atomic writes through a temp name + rename, links
written through, outputs that are inputs refused, stale temporary files removed, one-line
errors), reading text tables (plain or gzip, bounded by :data:`MAX_TABLE_BYTES`) and JSON.

Every output of seqnn goes through :func:`atomic_path` (and the CLI checks each output with
:func:`check_output` first), so a reader never sees a half-written file. :func:`read_text`
raises :class:`~seqnn.errors.SeqnnInputError` for every unreadable input, naming the file
and the reason.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import re
import sys
import tempfile
import time
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..errors import ConfigError, OutputError, SeqnnInputError

if TYPE_CHECKING:
    import pandas as pd


#: when this process started writing (imported): temporary files of a dead run that are
#: older than this are stale and removed by the next write to the same path
RUN_STARTED = time.time()
STDOUT = "-"
#: default largest table (label or sequence table), in bytes after decompression
MAX_TABLE_BYTES = 2 << 30
#: environment variable that raises (or lowers) the table limit for every command
MAX_TABLE_ENV = "SEQNN_MAX_TABLE_BYTES"
_TABLE_BLOCK = 1 << 20  # bytes read at a time


def _temp_pattern(name: str) -> re.Pattern[str]:
    """Names of :func:`atomic_path`'s temporary files for the output ``name``: ``.<name>.
    <pid>.<8 random>.tmp`` (and ``.<name>.<8 random>.tmp`` of older seqnn versions)."""
    return re.compile(rf"\.{re.escape(name)}\.(?:(\d+)\.)?[a-z0-9_]{{8}}\.tmp")


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (on this machine)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        return True
    return True


def remove_stale_temps(path: str | os.PathLike, before: float | None = None) -> list[str]:
    """Remove the temporary files that a killed run left beside ``path``: names of
    :func:`atomic_path`'s pattern for this output, last modified before ``before`` (default:
    when this run started), written by a process that no longer runs. Returns their names."""
    path = Path(path)
    before = RUN_STARTED if before is None else before
    pattern, removed = _temp_pattern(path.name), []
    with contextlib.suppress(OSError), os.scandir(path.parent) as entries:
        for entry in entries:
            m = pattern.fullmatch(entry.name)
            if not m or (m.group(1) and (int(m.group(1)) == os.getpid()
                                         or _alive(int(m.group(1))))):
                continue
            with contextlib.suppress(OSError):
                if entry.stat(follow_symlinks=False).st_mtime < before:
                    os.unlink(entry.path)
                    removed.append(entry.name)
    return removed


def write_target(path: str | os.PathLike) -> Path:
    """Where a write to ``path`` lands: ``path`` itself, or, for an existing symbolic link,
    the file it points to (outputs are written through links, which are kept)."""
    path = Path(path)
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def check_output(out: str | os.PathLike | None,
                 inputs: Iterable[str | os.PathLike | None]) -> None:
    """Refuse an output path that is the same file as one of ``inputs`` (compared with
    ``os.path.samefile``, so links and other spellings of a path count), before anything
    is written. ``None`` and ``-`` (standard input or output) are skipped, as are inputs
    or outputs that do not exist yet. Raises :class:`~seqnn.errors.OutputError`."""
    if out is None or str(out) == STDOUT:
        return
    for src in inputs:
        if src is None or str(src) == STDOUT:
            continue
        try:
            same = os.path.samefile(out, src)
        except (OSError, ValueError):
            continue
        if same:
            raise OutputError(out, f"is the same file as the input {str(src)!r}; "
                                   "choose another output")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    Readers never see a half-written file: an exception, Ctrl-C or SIGTERM (which the
    ``seqnn`` command turns into an exception) removes the hidden ``.<name>.<pid>.*.tmp``
    file, and stale ones of a killed run are removed by the next write to ``path``. An
    existing symbolic link at ``path`` is written through (its target is replaced, the
    link kept). ``-`` is refused (a file named ``-`` is never created; write ``./-``), and
    every ``OSError`` on the output becomes one :class:`~seqnn.errors.OutputError`
    ``<path>: cannot write (<reason>)``.
    """
    if str(path) == STDOUT:
        raise OutputError(path, "cannot write this output to standard output; give a file name")
    target = write_target(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(target)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp",
                                   dir=target.parent)
        os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file normal permissions
    except OSError as exc:
        raise OutputError(path, f"cannot write ({exc.strerror or exc})") from None
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
            raise OutputError(path, f"cannot write ({exc.strerror or exc})") from None
        raise


def temp_beside(path: str | os.PathLike, prefix: str, mode: str = "w+b") -> IO[Any]:
    """An anonymous-looking temporary file in the folder of the output ``path`` (deleted when
    closed): where a streaming writer keeps what it cannot hold in memory. A folder that
    cannot be written raises one :class:`~seqnn.errors.OutputError` naming ``path``."""
    try:
        parent = write_target(path).parent
        parent.mkdir(parents=True, exist_ok=True)
        return tempfile.NamedTemporaryFile(mode, dir=parent, prefix=prefix)  # noqa: SIM115
    except OSError as exc:
        raise OutputError(path, f"cannot write ({exc.strerror or exc})") from None


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``df`` as a TSV with a header, atomically (``.csv`` paths get commas)."""
    sep = "," if str(path).endswith(".csv") else "\t"
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep=sep, index=False)


def write_text(text: str, path: str | os.PathLike) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)


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
