"""Writing outputs safely: every file seqnn writes goes through :func:`atomic_path`.

The guarantees (each a regression test in ``tests/test_writes_safety.py``):

* **Atomic.** A regular file is written to a hidden ``.<name>.<pid>.<8 random>.tmp`` beside
  it and renamed onto the name only when complete; an error, Ctrl-C or SIGTERM removes the
  temporary file and keeps the previous file, and the next write removes the temporary (and
  scratch, :func:`temp_beside`) files that a killed run left behind.
* **Links.** A path the user gave (``-o``) that is a symbolic link is written through (the
  link is kept, its target replaced). A file that seqnn derives inside a results or model
  folder (``inside=``) never is: a link at its name is replaced by the new file, and a
  linked folder between ``inside`` and the file is refused.
* **Not a regular file.** ``-`` is standard output (the complete output is copied there,
  nothing on failure); a device node, a FIFO, a socket or a path under ``/dev/`` or
  ``/proc/`` (``/dev/stdout``) is written in place, never renamed over. A folder (an existing
  one, or a name ending in ``/``) is refused.
* **Modes.** The final file gets the mode a plain ``open`` gives (``0o666 & ~umask``), also
  when the writer (safetensors) replaced the temporary file with its own.
* **Errors.** Every ``OSError`` on the output (no space, file too large, permission) becomes
  one :class:`~seqnn.errors.OutputError` naming the path and the reason.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..errors import OutputError

if TYPE_CHECKING:
    import pandas as pd

#: when this process started writing (imported): temporary files of a dead run that are
#: older than this are stale and removed by the next write to the same path
RUN_STARTED = time.time()
STDOUT = "-"
#: how standard output is named in messages
STDOUT_NAME = "<stdout>"
#: scratch files of seqnn versions before the pid was in their names (removed when stale)
_OLD_SCRATCH = re.compile(r"\.(?:tokens|ingest)\.[a-z0-9_]{8}")
_COPY_BLOCK = 1 << 20


def file_mode(base: int = 0o666) -> int:
    """The mode a new file (or, with ``0o777``, folder) gets from ``open``: ``base & ~umask``
    (the umask read from ``/proc/self/status`` where it can be, without changing it, which
    setting it twice would do for a moment for every thread)."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("Umask:"):
                return base & ~int(line.split()[1], 8)
    umask = os.umask(0)
    os.umask(umask)
    return base & ~umask


def output_error(path: str | os.PathLike, exc: OSError) -> OutputError:
    """``<path>: cannot write (<reason>)`` for an ``OSError`` while writing ``path``."""
    return OutputError(path, f"cannot write ({exc.strerror or exc})")


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
    :func:`atomic_path`'s pattern for this output (also :func:`temp_beside`'s scratch files,
    and the ``.tokens.*`` / ``.ingest.*`` scratch files of older versions), last modified
    before ``before`` (default: when this run started), written by a process that no longer
    runs. Returns their names."""
    path = Path(path)
    before = RUN_STARTED if before is None else before
    pattern, removed = _temp_pattern(path.name), []
    with contextlib.suppress(OSError), os.scandir(path.parent) as entries:
        for entry in entries:
            m = pattern.fullmatch(entry.name) or _OLD_SCRATCH.fullmatch(entry.name)
            if not m or (m.re is pattern and m.group(1)
                         and (int(m.group(1)) == os.getpid() or _alive(int(m.group(1))))):
                continue
            with contextlib.suppress(OSError):
                if entry.stat(follow_symlinks=False).st_mtime < before:
                    os.unlink(entry.path)
                    removed.append(entry.name)
    return removed


def write_target(path: str | os.PathLike) -> Path:
    """Where a write to the user's ``path`` lands: ``path`` itself, or, for an existing
    symbolic link, the file it points to (outputs are written through links, which are kept)."""
    path = Path(path)
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def refuse_folder(path: str | os.PathLike) -> None:
    """Refuse an output that names a folder (an existing one, or a name ending in ``/``):
    every ``-o`` of seqnn names a file, never a folder to write into."""
    text = str(path)
    if text.endswith(("/", os.sep)) or (text != STDOUT and os.path.isdir(text)):
        raise OutputError(path, "cannot write (is a folder; give a file name)")


def writes_in_place(path: str | os.PathLike) -> bool:
    """Whether the user's output ``path`` is written in place rather than renamed onto: it
    exists and is not a regular file (a device node, FIFO or socket, also through links), or
    it lies under ``/dev/`` or ``/proc/`` (``/dev/stdout`` redirected to a file)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    if stat.S_ISDIR(mode):
        return False
    return not stat.S_ISREG(mode) or os.path.abspath(path).startswith(("/dev/", "/proc/"))


def refuse_links_inside(path: str | os.PathLike, inside: str | os.PathLike) -> None:
    """Refuse a file that seqnn derives inside the folder ``inside`` when a folder between
    ``inside`` and the file is a symbolic link (it would carry the write elsewhere)."""
    try:
        rel = Path(os.path.normpath(path)).relative_to(os.path.normpath(inside))
    except ValueError:
        raise OutputError(path, f"is not inside {str(inside)!r}") from None
    if ".." in rel.parts:
        raise OutputError(path, f"leaves the folder {str(inside)!r}")
    here = Path(inside)
    for part in rel.parts[:-1]:
        here = here / part
        if here.is_symlink():
            raise OutputError(path, f"{str(here)!r} is a symbolic link inside "
                                    f"{str(inside)!r}; seqnn writes no file through a link "
                                    "there (replace the link by a folder)")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, inside: str | os.PathLike | None = None) -> Iterator[str]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    ``inside`` is the results or model folder that ``path`` is derived in (module doc): no
    link is followed from there. Without it ``path`` is the user's: a link is written
    through, ``-`` goes to standard output, a device node or FIFO is written in place (the
    yielded path is ``path`` itself). A folder at ``path`` is refused; every ``OSError`` on
    the output becomes one :class:`~seqnn.errors.OutputError` naming ``path``.
    """
    if inside is None and str(path) == STDOUT:
        with _via_stdout() as tmp:
            yield tmp
        return
    refuse_folder(path)
    if inside is None and writes_in_place(path):
        try:
            yield str(path)
        except OSError as exc:
            if isinstance(exc, BrokenPipeError):
                raise
            raise output_error(path, exc) from None
        return
    if inside is not None:
        refuse_links_inside(path, inside)
    target = write_target(path) if inside is None else Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(target)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp",
                                   dir=target.parent)
        os.close(fd)
    except OSError as exc:
        raise output_error(path, exc) from None
    try:
        yield tmp
        os.chmod(tmp, file_mode())  # mkstemp (and safetensors' own file) is 0600
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
            raise output_error(path, exc) from None
        raise


@contextlib.contextmanager
def _via_stdout() -> Iterator[str]:
    """A temporary file whose content goes to standard output once complete (nothing on
    failure); write errors there become one :class:`~seqnn.errors.OutputError`."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".seqnn-stdout.", suffix=".tmp")
        os.close(fd)
    except OSError as exc:
        raise output_error(STDOUT_NAME, exc) from None
    try:
        yield tmp
        with open(tmp, "rb") as src, stdout_errors():
            sys.stdout.flush()
            shutil.copyfileobj(src, sys.stdout.buffer, _COPY_BLOCK)
            sys.stdout.buffer.flush()
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


@contextlib.contextmanager
def stdout_errors() -> Iterator[None]:
    """Turn an ``OSError`` while writing standard output into one
    :class:`~seqnn.errors.OutputError` (``<stdout>: cannot write (No space left on device)``);
    a broken pipe (``| head``) passes through for the CLI to end quietly."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise output_error(STDOUT_NAME, exc) from None


#: errors of a full or limited output, reported as one line when standard output fails
FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EIO)


def temp_beside(path: str | os.PathLike, mode: str = "w+b") -> IO[Any]:
    """A temporary scratch file in the folder of the output ``path`` (deleted when closed):
    where a streaming writer keeps what it cannot hold in memory. It is named like
    :func:`atomic_path`'s temporary files (``.<name>.<pid>.<8 random>.tmp``), so the next
    run removes one that a killed run left; stale ones are removed here first. A folder that
    cannot be written, and a write to the file that fails (no space), raise one
    :class:`~seqnn.errors.OutputError` naming ``path``."""
    try:
        target = write_target(path)
        if writes_in_place(path):  # a device or FIFO: scratch in the temporary folder
            return _Scratch(tempfile.TemporaryFile(mode), path)  # type: ignore[return-value]
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(target)
        fh = tempfile.NamedTemporaryFile(  # noqa: SIM115
            mode, dir=target.parent, prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp")
    except OSError as exc:
        raise output_error(path, exc) from None
    return _Scratch(fh, path)  # type: ignore[return-value]


class _Scratch:
    """A scratch file whose write errors name the output it is for (else as the file)."""

    def __init__(self, fh: IO[Any], path: str | os.PathLike):
        self._fh, self._path = fh, path

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._fh)

    def __enter__(self) -> _Scratch:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()

    def write(self, data: Any) -> int:
        """Write ``data``; an ``OSError`` becomes an :class:`~seqnn.errors.OutputError`."""
        try:
            return self._fh.write(data)
        except OSError as exc:
            raise output_error(self._path, exc) from None

    def flush(self) -> None:
        """Flush; an ``OSError`` becomes an :class:`~seqnn.errors.OutputError`."""
        try:
            self._fh.flush()
        except OSError as exc:
            raise output_error(self._path, exc) from None


def check_output(out: str | os.PathLike | None,
                 inputs: Iterable[str | os.PathLike | None]) -> None:
    """Refuse an output path that is the same file as one of ``inputs`` (compared with
    ``os.path.samefile``, so links and other spellings of a path count), or that names a
    folder, before anything is written. ``None`` and ``-`` (standard input or output) are
    skipped, as are inputs or outputs that do not exist yet. Raises
    :class:`~seqnn.errors.OutputError`."""
    if out is None or str(out) == STDOUT:
        return
    refuse_folder(out)
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


def check_not_in_folder(out: str | os.PathLike | None, folder: str | os.PathLike | None,
                        names: Iterable[str]) -> None:
    """Refuse an output that lies inside ``folder`` (a results or model folder that the
    command reads, compared by real path so links count) under one of ``names`` (the files
    seqnn keeps there), whether or not that file exists yet. Raises
    :class:`~seqnn.errors.OutputError`."""
    if out is None or folder is None or str(out) == STDOUT:
        return
    real_out, real_dir = os.path.realpath(out), os.path.realpath(folder)
    if os.path.commonpath([real_out, real_dir]) != real_dir:
        return
    if os.path.basename(real_out) in set(names):
        rel = os.path.relpath(real_out, real_dir)
        raise OutputError(out, f"would replace {rel!r} of {str(folder)!r}, which this command "
                               "reads (a file seqnn keeps there); choose another output")


def write_table(df: pd.DataFrame, path: str | os.PathLike,
                inside: str | os.PathLike | None = None) -> None:
    """Write ``df`` as a TSV with a header, atomically (``.csv`` paths get commas);
    ``inside``: see :func:`atomic_path`."""
    sep = "," if str(path).endswith(".csv") else "\t"
    with atomic_path(path, inside) as tmp:
        df.to_csv(tmp, sep=sep, index=False)


def write_text(text: str, path: str | os.PathLike,
               inside: str | os.PathLike | None = None) -> None:
    """Write ``text`` to ``path`` atomically; ``inside``: see :func:`atomic_path`."""
    with atomic_path(path, inside) as tmp, open(tmp, "w") as fh:
        fh.write(text)


__all__ = ["FULL", "RUN_STARTED", "STDOUT", "STDOUT_NAME", "atomic_path", "check_not_in_folder",
           "check_output", "file_mode", "output_error", "refuse_folder", "refuse_links_inside",
           "remove_stale_temps", "stdout_errors", "temp_beside", "write_table", "write_target",
           "write_text", "writes_in_place"]
