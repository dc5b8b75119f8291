"""One trainer per model folder: ``<folder>/.lock``, held with ``fcntl.flock`` while training.

Two trainers writing one model folder (a second workflow started on the folder of a first one
that still trains, e.g. after ``snakemake --unlock``) would interleave their ``state.pt``,
history and model files. :func:`model_folder_lock` takes an exclusive, non-blocking lock on
``.lock`` in the folder, writes the holder's process id into it and removes the file when
training ends. The kernel releases the lock when the process dies (``kill -9`` included), so
a file left behind never blocks a later run; only a live trainer does. A second trainer is
refused with :class:`~seqnn.errors.TrainingError` naming the folder and the holder's pid.
Where ``fcntl`` does not exist (Windows) there is no lock.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from ..errors import TrainingError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

#: the lock file's name inside a model folder (present only while a trainer runs there)
LOCK_FILE = ".lock"


@contextlib.contextmanager
def model_folder_lock(folder: str | os.PathLike) -> Iterator[None]:
    """Hold ``folder/.lock`` (created, with ``folder``) while the block runs; raise
    :class:`~seqnn.errors.TrainingError` at once when another live process holds it."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover - not POSIX
        yield
        return
    path = out / LOCK_FILE
    fd = _acquire(path)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        with contextlib.suppress(OSError):  # removed while still locked: no one takes it
            path.unlink()  # between the two steps, as _acquire checks
        os.close(fd)


def _acquire(path: Path) -> int:
    """An open descriptor of ``path`` holding its lock. The previous holder removes the file
    before it lets go, so a lock won on a file that is no longer at ``path`` is retried."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise TrainingError(
                f"{path.parent}: another training (pid {holder}) is using this model folder; "
                "wait until it ends or stop it, then run again") from None
        try:
            current = os.stat(path)
        except FileNotFoundError:
            current = None
        mine = os.fstat(fd)
        if current is not None and (current.st_dev, current.st_ino) == (mine.st_dev,
                                                                        mine.st_ino):
            return fd
        os.close(fd)


def _holder(fd: int) -> str:
    """The process id written in the lock file (``unknown`` while it is being written)."""
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return text if text.isdigit() else "unknown"


__all__ = ["LOCK_FILE", "model_folder_lock"]
