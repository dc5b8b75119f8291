"""``seqnn run``: the workflow on a config checked by seqnn before Snakemake reads it.

``snakemake --configfile CONFIG`` parses CONFIG itself: with yte, which evaluates a config
holding ``__use_yte__`` as Python templates, and by deep-copying mappings, so a YAML alias
bomb expands before seqnn's checks see it. ``seqnn run CONFIG`` reads CONFIG with safe YAML
(:func:`seqnn.config.read_workflow_file`), refuses one that mentions ``__use_yte__``,
validates it (:func:`seqnn.config.check_workflow`: sizes, names, paths, schema), writes the
checked config as JSON (which Snakemake reads as plain JSON) and runs
``python -m snakemake -s Snakefile --configfile <json> --cores N [extra args]``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import click

YTE_MARKER = "__use_yte__"
#: the temporary JSON config lives here, under the working folder (shared with cluster jobs)
RUN_DIR = Path(".snakemake") / "seqnn-run"


def default_snakefile() -> Path | None:
    """The repository's ``Snakefile`` beside the package (an install from the repository)."""
    path = Path(__file__).resolve().parents[2] / "Snakefile"
    return path if path.is_file() else None


def checked_config(path: str) -> dict:
    """CONFIG read safely and validated; refused in one line when it mentions yte's marker."""
    from ..config import read_workflow_file
    from ..errors import ConfigError
    from ..workflow import check_workflow

    data = read_workflow_file(path)  # the file size is capped before it is read
    if YTE_MARKER in Path(path).read_text(encoding="utf-8", errors="replace"):
        raise ConfigError(f"{path}: {YTE_MARKER} (a yte template, evaluated as Python) is "
                          "not allowed in a config run by seqnn run")
    check_workflow(data)
    return data


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--cores", default="1", show_default=True,
              help="Cores for Snakemake (a number or 'all').")
@click.option("--snakefile", type=click.Path(dir_okay=False, exists=True),
              help="The workflow's Snakefile [the one beside the installed package].")
@click.argument("snakemake_args", nargs=-1, type=click.UNPROCESSED)
def run(config: str, cores: str, snakefile: str | None, snakemake_args: tuple[str, ...]) -> None:
    """Run the workflow on CONFIG, checked by seqnn first (the safe way to run a config you
    did not write). Arguments after -- go to Snakemake (e.g. -- -n for a dry run)."""
    from ..errors import ConfigError

    if not (cores == "all" or (cores.isdigit() and int(cores) >= 1)):
        raise click.BadParameter(f"{cores!r} is not a positive number or 'all'",
                                 param_hint="--cores")
    data = checked_config(config)
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
        code = subprocess.run(cmd, check=False).returncode
    finally:
        Path(name).unlink(missing_ok=True)
    sys.exit(code)
