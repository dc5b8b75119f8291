"""``seqnn run``: the workflow on a config checked by seqnn before Snakemake reads it.

``snakemake --configfile CONFIG`` parses CONFIG itself: with yte, which evaluates a config
holding ``__use_yte__`` as Python templates, and by deep-copying mappings, so a YAML alias
bomb expands before seqnn's checks see it. ``seqnn run CONFIG`` reads CONFIG with safe YAML
(:func:`seqnn.config.read_workflow_file`), refuses one that mentions ``__use_yte__``,
validates it (:func:`seqnn.workflow.check_workflow`: sizes, names, paths, schema), writes the
checked config as JSON (which Snakemake reads as plain JSON) and runs
``python -m snakemake -s Snakefile --configfile <json> --cores N [extra args]``.

Snakemake runs in a process group of its own, with its jobs. SIGTERM, SIGINT (Ctrl-C) and
SIGHUP sent to ``seqnn run`` are passed on to that whole group, so every job (a trainer
included, which stops after removing its unfinished temporary files) ends with Snakemake,
which then marks the interrupted jobs incomplete and releases the working folder's lock;
``seqnn run`` waits for all of it and exits with Snakemake's code (128 + the signal's
number when Snakemake's is 0). Only a ``kill -9`` of ``seqnn run`` itself cannot be passed
on: then stop the group by hand, ``kill -TERM -<pid of snakemake>``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

YTE_MARKER = "__use_yte__"
#: the temporary JSON config lives here, under the working folder (shared with cluster jobs)
RUN_DIR = Path(".snakemake") / "seqnn-run"


def default_snakefile() -> Path | None:
    """The repository's ``Snakefile`` beside the package (an install from the repository)."""
    path = Path(__file__).resolve().parents[2] / "Snakefile"
    return path if path.is_file() else None


def checked_config(path: str, force_results: bool = False) -> dict:
    """CONFIG read safely and validated; refused in one line when it mentions yte's marker.
    ``force_results`` sets the config's ``force_results: true`` (a results folder seqnn did
    not create may be written into; seqnn.config_results)."""
    from ..config import read_workflow_file
    from ..config_bounds import read_text_bounded
    from ..errors import ConfigError
    from ..workflow import check_workflow

    if YTE_MARKER in read_text_bounded(path):  # a regular file, its size capped first
        raise ConfigError(f"{path}: {YTE_MARKER} (a yte template, evaluated as Python) is "
                          "not allowed in a config run by seqnn run")
    data = read_workflow_file(path)
    if force_results:
        data["force_results"] = True
    check_workflow(data)
    return data


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--cores", default="1", show_default=True,
              help="Cores for Snakemake (a number or 'all').")
@click.option("--snakefile", type=click.Path(dir_okay=False, exists=True),
              help="The workflow's Snakefile [the one beside the installed package].")
@click.option("--force-results", is_flag=True,
              help="Write into an existing results folder that seqnn did not create and that "
                   "holds other files (config key force_results: true).")
@click.argument("snakemake_args", nargs=-1, type=click.UNPROCESSED)
def run(config: str, cores: str, snakefile: str | None, force_results: bool,
        snakemake_args: tuple[str, ...]) -> None:
    """Run the workflow on CONFIG, checked by seqnn first (the safe way to run a config you
    did not write). Arguments after -- go to Snakemake (e.g. -- -n for a dry run)."""
    from ..errors import ConfigError

    if not (cores == "all" or (cores.isdigit() and int(cores) >= 1)):
        raise click.BadParameter(f"{cores!r} is not a positive number or 'all'",
                                 param_hint="--cores")
    data = checked_config(config, force_results)
    workflow = Path(snakefile) if snakefile else default_snakefile()
    if workflow is None:
        raise ConfigError("no Snakefile found beside the seqnn package; pass --snakefile")
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="config-", suffix=".json", dir=RUN_DIR)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        cmd = [sys.executable, "-m", "snakemake", "-s", str(workflow), "--configfile",
               str(Path(name).resolve()), "--cores", cores, *snakemake_args]
        code = run_group(cmd)
    finally:
        Path(name).unlink(missing_ok=True)
    sys.exit(code)


#: the signals ``seqnn run`` passes on to Snakemake's process group, and as what: a hang-up
#: becomes SIGTERM (Snakemake handles SIGTERM and SIGINT, but dies at once on SIGHUP,
#: leaving its lock behind)
FORWARDED = {signal.SIGTERM: signal.SIGTERM, signal.SIGINT: signal.SIGINT,
             signal.SIGHUP: signal.SIGTERM}


def run_group(cmd: list[str], grace: float = 60.0) -> int:
    """Run ``cmd`` as the leader of a new process group (session) and wait for it; every
    signal of :data:`FORWARDED` received meanwhile is sent on to the whole group. After a
    signal, the group's other processes are waited for too (``grace`` seconds, then killed),
    so that none outlives ``seqnn run``. Returns the command's exit code, or 128 + the
    signal's number when that code is 0 (a stopped run never reads as a success)."""
    received: list[int] = []
    proc: subprocess.Popen | None = None

    def forward(signum: int, frame: object) -> None:
        received.append(signum)
        if proc is not None:
            _signal_group(proc.pid, FORWARDED[signum])

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    try:
        proc = subprocess.Popen(cmd, start_new_session=True)
        for signum in received:  # arrived while the child was being started
            _signal_group(proc.pid, FORWARDED[signum])
        code = proc.wait()
        if received:
            _wait_group(proc.pid, grace)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if code < 0:  # Snakemake itself was killed by a signal
        code = 128 - code
    return 128 + received[-1] if received and code == 0 else code


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group has ended
        os.killpg(pgid, signum)


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group ``pgid``, from ``/proc``; where there
    is no ``/proc``, ``[pgid]`` while the group has any process, else ``[]``."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # state, ppid, pgrp, ...
        if fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def _wait_group(pgid: int, grace: float) -> None:
    """Wait up to ``grace`` seconds until no process of group ``pgid`` is left, then SIGKILL
    whatever is (and wait a few seconds more for that to take effect)."""
    deadline, killed = time.monotonic() + grace, False
    while group_members(pgid):
        if time.monotonic() > deadline:
            if killed:
                return
            _signal_group(pgid, signal.SIGKILL)
            deadline, killed = time.monotonic() + 5.0, True
        time.sleep(0.1)
