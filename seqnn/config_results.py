"""Where a workflow may write: the ``results:`` folder guard.

A config's ``results:`` folder may lie anywhere, so before a run starts
:func:`check_results_folder` refuses a system folder (``/``, ``/etc``, ``/usr``, ``/bin``,
``/dev``, ``/proc``, ``/sys``, ``/home``, the user's home folder itself, and anything inside
the operating system's own folders) and a folder of someone else's files: an existing folder
must be empty, carry the marker file :data:`MARKER` that seqnn writes into every results
folder it creates or first uses (:func:`claim_results_folder`, run by the Snakefile's
``onstart``, never on a dry run), or hold only what older seqnn versions wrote there (dataset
folders holding seqnn's files, ``index.html``, ``external/``, ``benchmarks/``,
``.snakemake/``; an ``index.html`` alone is not enough). The config key
``force_results: true`` (or ``seqnn run --force-results``) skips the last test for a folder
the user knows to be theirs; the system folders are refused even then.
"""

from __future__ import annotations

import os
from pathlib import Path

from .config_bounds import excerpt
from .errors import ConfigError

#: the file marking a folder as a seqnn results folder
MARKER = ".seqnn-results"
#: folders a results folder may never be (after resolving links)
SYSTEM_FOLDERS = ("/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64",
                  "/libx32", "/media", "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/srv",
                  "/sys", "/tmp", "/usr", "/var", "/var/tmp", "/Users", "/Applications",
                  "/Library", "/System", "/Volumes", "/private", "/private/tmp")
#: folders a results folder may not lie inside either (the operating system's own)
SYSTEM_TREES = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc",
                "/run", "/sbin", "/sys", "/usr", "/System")
#: entries of the results folder itself that seqnn writes besides the dataset folders
OWN_ENTRIES = (MARKER, "index.html", "external", "benchmarks", ".snakemake")
#: files whose presence marks a folder as a dataset folder seqnn wrote
DATASET_FILES = ("sequences.tsv", "ingest.json", "splits.tsv", "encoded.npz", "models",
                 "report.html", "checks.json")


def _system_reason(path: Path) -> str | None:
    """Why ``path`` (resolved) is a system folder, or ``None``."""
    text = str(path)
    home = Path.home().resolve()
    if path == home:
        return "is your home folder itself"
    if text in SYSTEM_FOLDERS or path.parent in (Path("/home"), Path("/Users")):
        return "is a system folder or someone's home folder"
    for tree in SYSTEM_TREES:
        if text.startswith(tree + "/"):
            return f"lies inside the system folder {tree}"
    return None


def _only_seqnn_outputs(folder: Path, entries: list[str]) -> bool:
    """Whether ``entries`` of ``folder`` are all what an older seqnn wrote there: dataset
    folders holding seqnn's files and :data:`OWN_ENTRIES` (``index.html`` alone is no sign)."""
    for name in entries:
        sub = folder / name
        if name == "index.html":
            if not sub.is_file() or sub.is_symlink():
                return False
            continue
        if sub.is_symlink() or not sub.is_dir():
            return False
        if name in OWN_ENTRIES:
            continue
        try:
            inside = set(os.listdir(sub))
        except OSError:
            return False
        if not inside & set(DATASET_FILES):
            return False
    return entries != ["index.html"]


def check_results_folder(results: str, force: bool = False) -> None:
    """Refuse a ``results:`` folder seqnn may not write into (module doc): one
    :class:`ConfigError` line naming the folder and the way out."""
    where = f"config results: {excerpt(results, 300)}"
    path = Path(os.path.abspath(results))
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        raise ConfigError(f"{where} cannot be resolved (a symbolic link loop?)") from None
    reason = _system_reason(resolved) or _system_reason(path)
    if reason:
        raise ConfigError(f"{where} {reason}; choose a folder of its own")
    if not os.path.lexists(path):
        return
    if not resolved.is_dir():
        raise ConfigError(f"{where} exists and is not a folder")
    try:
        entries = os.listdir(resolved)
    except OSError as exc:
        raise ConfigError(f"{where} cannot be listed ({exc.strerror})") from None
    if not entries or MARKER in entries or force:
        return
    if _only_seqnn_outputs(resolved, entries):
        return
    raise ConfigError(f"{where} is a folder seqnn did not create and it holds other files "
                      f"(e.g. {excerpt(sorted(entries)[0])}); choose an empty or new folder, or "
                      "set force_results: true (seqnn run --force-results) if it is yours")


def claim_results_folder(results: str) -> None:
    """Create the results folder if needed and write :data:`MARKER` into it (run once the
    workflow really starts, after :func:`check_results_folder` accepted it)."""
    folder = Path(results)
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / MARKER
    if not marker.exists():
        marker.write_text("This folder holds seqnn results (written by the seqnn workflow).\n")


__all__ = ["MARKER", "check_results_folder", "claim_results_folder"]
